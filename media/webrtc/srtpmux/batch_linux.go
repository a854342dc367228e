//go:build linux

package srtpmux

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSys holds sendmmsg(2)'s arrays for one batch, reused.
type batchSys struct {
	k, next int                // messages filled, the next to send
	sent    int                // messages the socket took
	write   func(uintptr) bool // sendmmsg, made once
	hdrs    [batchLen]mmsghdr
	iovs    [batchLen]unix.Iovec
	names   [batchLen]unix.RawSockaddrInet6 // room for either family
}

// sendBatch sends b's packets with sendmmsg(2), as many per call as the
// socket takes; it returns how many were sent. The socket is non-blocking:
// what a full send buffer refuses is dropped (a UDP send may be lost), not
// waited for, since the caller is a relay worker. It does not allocate.
func (m *Mux) sendBatch(b *sendBatch) int {
	b.sys.k, b.sys.next, b.sys.sent = 0, 0, 0
	for i := range b.n {
		if b.sys.fill(b.sys.k, b.pkts[i], b.to[i], m.v6) {
			b.sys.k++
		} // else an address the socket's family cannot reach
	}
	if b.sys.write == nil {
		b.sys.write = b.sys.sendmmsg
	}
	_ = m.rc.Write(b.sys.write) // fails once the socket is closed: nothing sent
	return b.sys.sent
}

// sendmmsg is the RawConn.Write callback of sendBatch.
func (s *batchSys) sendmmsg(fd uintptr) bool {
	for s.next < s.k {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[s.next])), uintptr(s.k-s.next), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case e == unix.EINTR:
		case e != 0:
			// the first datagram failed (EAGAIN: send buffer full; an ICMP
			// error surfacing): drop it, send the rest
			s.next++
		default:
			s.next += int(r)
			s.sent += int(r)
		}
	}
	return true // never wait for the socket: drop instead
}

// fill sets message i to pkt towards to; false when the socket's family
// cannot send there.
func (s *batchSys) fill(i int, pkt []byte, to netip.AddrPort, v6 bool) bool {
	a := to.Addr()
	sa := &s.names[i]
	if v6 {
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()} // As16 maps IPv4
		putPort(&sa.Port, to.Port())
		s.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet6
	} else {
		a = a.Unmap()
		if !a.Is4() {
			return false
		}
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*s4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
		putPort(&s4.Port, to.Port())
		s.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4
	}
	s.iovs[i].Base = unsafe.SliceData(pkt)
	s.iovs[i].SetLen(len(pkt))
	s.hdrs[i].hdr.Iov = &s.iovs[i]
	s.hdrs[i].hdr.SetIovlen(1)
	s.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(sa))
	s.hdrs[i].n = 0
	return true
}

// putPort stores port in network byte order in a sockaddr's port field.
func putPort(field *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(field))
	b[0], b[1] = byte(port>>8), byte(port)
}

// isInet6 reports whether the socket is an AF_INET6 one (Go makes a
// dual-stack IPv6 socket for a wildcard address): its destinations are
// then written as IPv6 (IPv4-mapped) addresses.
func isInet6(rc syscall.RawConn) bool {
	v6 := false
	_ = rc.Control(func(fd uintptr) {
		d, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		v6 = err == nil && d == unix.AF_INET6
	})
	return v6
}
