//go:build linux

package srtpmux

import (
	"net"

	"golang.org/x/sys/unix"
)

// setBuffers asks for size bytes of receive and send buffer: with
// SO_RCVBUFFORCE/SO_SNDBUFFORCE first, which pass net.core.rmem_max and
// wmem_max where the process may (CAP_NET_ADMIN: root, a container run
// as root), else with SO_RCVBUF/SO_SNDBUF, which the kernel silently caps
// at them (socket(7)).
func setBuffers(conn *net.UDPConn, size int) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, size)
		}
	})
}

// ReadBuffer is the receive buffer the kernel granted the socket, in the
// bytes asked for (Linux reports twice that in SO_RCVBUF, its bookkeeping
// included; this is half of it): less than Listen asked when
// net.core.rmem_max capped it. 0 if unknown.
func (m *Mux) ReadBuffer() int {
	got := 0
	_ = m.rc.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
			got = v / 2
		}
	})
	return got
}
