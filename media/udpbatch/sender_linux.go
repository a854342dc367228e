//go:build linux

package udpbatch

import (
	"net/netip"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sender collects datagrams and sends them with one io_uring_enter(2) per
// Flush (or one sendto(2) each where io_uring is unavailable). Make it with
// New, end it with Close.
type Sender struct {
	n     int
	ents  [Size]entry
	names [Size]unix.RawSockaddrInet6 // room for either family
	nlen  [Size]uint32
	hdrs  [Size]unix.Msghdr
	iovs  [Size]unix.Iovec
	ring  *ring // nil: sendto
	c     Counters
}

// New makes a Sender, with an io_uring instance when the kernel grants
// one (Ring reports which).
func New() *Sender {
	s := &Sender{}
	for i := range s.hdrs {
		s.hdrs[i].Name = (*byte)(unsafe.Pointer(&s.names[i]))
		s.hdrs[i].Iov = &s.iovs[i]
		s.hdrs[i].SetIovlen(1)
		s.iovs[i].Base = &s.ents[i].buf[0]
	}
	if disabled.Load() {
		return s
	}
	r, err := newRing(Size)
	if err != nil {
		disabled.Store(true) // do not ask again for every Sender
		return s
	}
	s.ring = r
	return s
}

// disabled is set once io_uring_setup failed (the kernel will not grant
// it), or from the start when the environment says so (EnvVar).
var disabled atomic.Bool

// EnvVar is the environment variable that, set to "off", keeps every
// Sender and Receiver of the process on one system call per datagram:
// to compare, or to rule io_uring out.
const EnvVar = "SWITCHBOARD_IO_URING"

func init() {
	if os.Getenv(EnvVar) == "off" {
		disabled.Store(true)
	}
}

// Ring reports whether s sends through io_uring.
func (s *Sender) Ring() bool { return s.ring != nil }

// Close ends s; what it still holds is dropped.
func (s *Sender) Close() {
	s.n = 0
	if s.ring != nil {
		s.ring.close()
		s.ring = nil
	}
}

func (s *Sender) setName(i int, v6 bool, to netip.AddrPort) bool {
	a := to.Addr()
	sa := &s.names[i]
	if v6 {
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()} // As16 maps IPv4
		putPort(&sa.Port, to.Port())
		s.nlen[i] = unix.SizeofSockaddrInet6
		return true
	}
	a = a.Unmap()
	if !a.Is4() {
		return false
	}
	s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
	*s4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
	putPort(&s4.Port, to.Port())
	s.nlen[i] = unix.SizeofSockaddrInet4
	return true
}

// Flush sends every datagram s holds and reports how many the sockets
// took. It does not allocate.
func (s *Sender) Flush() int {
	n := s.n
	if n == 0 {
		return 0
	}
	s.n = 0
	s.c.Flushes++
	sent := -1
	if s.ring != nil && n > 1 {
		for i := range n {
			s.hdrs[i].Namelen = s.nlen[i]
			s.iovs[i].SetLen(s.ents[i].n)
		}
		var calls int
		sent, calls = s.ring.sendmsg(s.ents[:n], s.hdrs[:n])
		s.c.Syscalls += uint64(calls)
		if sent < 0 { // the ring failed: never use it again
			s.ring.abandon()
			s.ring = nil
		}
	}
	if sent < 0 {
		sent = 0
		for i := range n {
			e := &s.ents[i]
			_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(e.fd),
				uintptr(unsafe.Pointer(&e.buf[0])), uintptr(e.n), unix.MSG_DONTWAIT,
				uintptr(unsafe.Pointer(&s.names[i])), uintptr(s.nlen[i]))
			if errno == 0 {
				sent++
			}
		}
		s.c.Syscalls += uint64(n)
	}
	s.c.Sent += uint64(sent)
	s.c.Failed += uint64(n - sent)
	return sent
}

// putPort stores port in network byte order in a sockaddr's port field.
func putPort(field *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(field))
	b[0], b[1] = byte(port>>8), byte(port)
}
