//go:build !linux

package udpbatch

import (
	"net/netip"
	"syscall"
)

// Sender collects datagrams and sends them one write each (no io_uring
// outside Linux).
type Sender struct {
	n    int
	ents [Size]entry
	to   [Size]syscall.Sockaddr
	c    Counters
}

// New makes a Sender.
func New() *Sender { return &Sender{} }

// Ring reports whether s sends through io_uring: never here.
func (s *Sender) Ring() bool { return false }

// Close ends s; what it still holds is dropped.
func (s *Sender) Close() { s.n = 0 }

func (s *Sender) setName(i int, v6 bool, to netip.AddrPort) bool {
	a := to.Addr()
	if v6 {
		s.to[i] = &syscall.SockaddrInet6{Port: int(to.Port()), Addr: a.As16()}
		return true
	}
	a = a.Unmap()
	if !a.Is4() {
		return false
	}
	s.to[i] = &syscall.SockaddrInet4{Port: int(to.Port()), Addr: a.As4()}
	return true
}

// Flush sends every datagram s holds and reports how many were sent.
func (s *Sender) Flush() int {
	n := s.n
	if n == 0 {
		return 0
	}
	s.n = 0
	s.c.Flushes++
	sent := 0
	for i := range n {
		e := &s.ents[i]
		if syscall.Sendto(e.fd, e.buf[:e.n], 0, s.to[i]) == nil {
			sent++
		}
	}
	s.c.Syscalls += uint64(n)
	s.c.Sent += uint64(sent)
	s.c.Failed += uint64(n - sent)
	return sent
}
