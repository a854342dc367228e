// Package udpbatch sends UDP datagrams that leave many different sockets
// with few system calls. sendmmsg(2) batches datagrams of one socket only;
// a relay that forwards one packet per call out of each call's own socket
// (or a load generator playing many clients, each on its own port) would
// pay one sendto(2) per datagram. A Sender collects such datagrams (the
// socket, the destination, a copy of the bytes) and, on Linux, submits them
// all to an io_uring instance (IORING_OP_SENDMSG, MSG_DONTWAIT) with one
// io_uring_enter(2), waiting for their completions in the same call. Where
// io_uring is missing or refused (an older kernel, a seccomp filter,
// kernel.io_uring_disabled), or ever misbehaves, a Sender sends each
// datagram with sendto(2) instead: the same datagrams, more system calls.
//
// A Receiver (Linux only) does the same for reads: one datagram from each
// of many sockets that epoll reported readable, with one io_uring_enter.
// SWITCHBOARD_IO_URING=off in the environment keeps both on one system
// call per datagram.
//
// A Sender is not safe for concurrent use: one goroutine fills and flushes
// it (a socket reader that flushes at the end of each batch it read).
package udpbatch

import (
	"errors"
	"net/netip"
)

// Size is how many datagrams a Sender holds; Add flushes a full Sender
// before it takes the next one.
const Size = 64

// MaxDatagram is the largest datagram a Sender takes (Add refuses larger
// ones with ErrTooLarge) and a Receiver's buffer per socket: a larger
// datagram is read truncated to MaxDatagram bytes (as recvfrom(2) into
// such a buffer does), so a reader that refuses datagrams of MaxDatagram
// bytes or more (media/relay's 2048) never mistakes a cut one for whole.
const MaxDatagram = 2048

var (
	// ErrTooLarge is Add's error for a datagram over MaxDatagram bytes.
	ErrTooLarge = errors.New("udpbatch: datagram too large")
	// ErrFamily is Add's error for a destination the socket's address
	// family cannot reach (an IPv6 address on an IPv4 socket).
	ErrFamily = errors.New("udpbatch: destination not of the socket's family")
)

// Counters are a Sender's totals.
type Counters struct {
	Sent     uint64 // datagrams the sockets took
	Failed   uint64 // datagrams a socket refused (full send buffer, no route): lost
	Flushes  uint64 // Flush calls that had something to send
	Syscalls uint64 // system calls those flushes made
}

// entry is one datagram waiting in a Sender.
type entry struct {
	fd  int
	n   int
	buf [MaxDatagram]byte
}

// Len reports how many datagrams wait for the next Flush.
func (s *Sender) Len() int { return s.n }

// Counters returns the Sender's totals.
func (s *Sender) Counters() Counters { return s.c }

// Add copies pkt to be sent out of the UDP socket fd to `to` by the next
// Flush (a full Sender is flushed first). v6 tells whether fd is an
// AF_INET6 socket (its destinations are then written as IPv6, IPv4-mapped
// where needed). The caller keeps fd open until that Flush returns.
func (s *Sender) Add(fd int, v6 bool, pkt []byte, to netip.AddrPort) error {
	if len(pkt) > MaxDatagram {
		return ErrTooLarge
	}
	if s.n == Size {
		s.Flush()
	}
	if !s.setName(s.n, v6, to) {
		return ErrFamily
	}
	e := &s.ents[s.n]
	e.fd, e.n = fd, copy(e.buf[:], pkt)
	s.n++
	return nil
}
