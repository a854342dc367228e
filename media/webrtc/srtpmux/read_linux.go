//go:build linux

package srtpmux

import (
	"encoding/binary"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSize is how many datagrams one recvmmsg(2) may return.
const batchSize = 64

// mmsghdr is struct mmsghdr of recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// read is the Linux reader: recvmmsg(2) takes every datagram queued (up to
// batchSize) in one system call, and Go's netpoller parks the goroutine
// when none is (the socket is non-blocking).
// It reads socket c as reader number i.
func (m *Mux) read(i int, c *net.UDPConn) {
	defer m.wg.Done()
	rc, err := c.SyscallConn()
	if err != nil {
		m.readOne(i, c)
		return
	}
	var (
		hdrs  [batchSize]mmsghdr
		iovs  [batchSize]unix.Iovec
		names [batchSize]unix.RawSockaddrInet6 // room for either family
		bufs  = make([]byte, batchSize*maxDatagram)
	)
	for i := range hdrs {
		iovs[i].Base = &bufs[i*maxDatagram]
		iovs[i].SetLen(maxDatagram)
		hdrs[i].hdr.Iov = &iovs[i]
		hdrs[i].hdr.SetIovlen(1)
		hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
	}
	for {
		got := 0
		var errno unix.Errno
		err := rc.Read(func(fd uintptr) bool {
			for i := range hdrs {
				hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet6
			}
			r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), batchSize, unix.MSG_DONTWAIT, 0, 0)
			if e == unix.EAGAIN {
				return false // park until readable
			}
			got, errno = int(r), e
			return true
		})
		if err != nil {
			if m.stopped(err) {
				return
			}
			continue
		}
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			if m.stopped(errno) {
				return
			}
			continue
		}
		for k := range got {
			from, ok := sockaddr(&names[k])
			if !ok {
				continue
			}
			off := k * maxDatagram
			m.handle(bufs[off:off+int(hdrs[k].n)], from, i)
		}
		m.endBatch(i)
	}
}

// sockaddr decodes a struct sockaddr_in or sockaddr_in6 (the port in
// network byte order); IPv4-mapped addresses are unmapped.
func sockaddr(sa *unix.RawSockaddrInet6) (netip.AddrPort, bool) {
	switch sa.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), port), true
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}
