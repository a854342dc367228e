//go:build linux

package sockbuf

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// set asks for want on conn's socket: SO_*BUFFORCE first (past the sysctl
// caps with CAP_NET_ADMIN), then the capped SO_*BUF (socket(7)).
func set(conn syscall.Conn, want Sizes) (Sizes, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return Sizes{}, fmt.Errorf("%w: %w", ErrNoRawSocket, err)
	}
	var got Sizes
	var serr error
	cerr := rc.Control(func(fd uintptr) {
		if want.Read > 0 && unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, want.Read) != nil {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, want.Read); e != nil {
				serr = fmt.Errorf("sockbuf: SO_RCVBUF: %w", e)
			}
		}
		if want.Write > 0 && unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, want.Write) != nil {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, want.Write); e != nil && serr == nil {
				serr = fmt.Errorf("sockbuf: SO_SNDBUF: %w", e)
			}
		}
		got = getFD(fd)
	})
	if cerr != nil {
		return Sizes{}, fmt.Errorf("%w: %w", ErrNoRawSocket, cerr)
	}
	return got, serr
}

func get(conn syscall.Conn) Sizes {
	rc, err := conn.SyscallConn()
	if err != nil {
		return Sizes{}
	}
	var got Sizes
	_ = rc.Control(func(fd uintptr) { got = getFD(fd) })
	return got
}

// getFD reads the buffers back: Linux reports double what was asked
// (socket(7)), so halve it.
func getFD(fd uintptr) Sizes {
	var s Sizes
	if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
		s.Read = v / 2
	}
	if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF); err == nil {
		s.Write = v / 2
	}
	return s
}
