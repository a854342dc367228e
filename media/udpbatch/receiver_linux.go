//go:build linux

package udpbatch

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Receiver reads one datagram from each of many UDP sockets with one
// io_uring_enter(2) (IORING_OP_RECVMSG, MSG_DONTWAIT: a socket with
// nothing queued answers EAGAIN at once), or one recvfrom(2) each where
// io_uring is unavailable: for a reader that learned from epoll which of
// its sockets are readable. Not safe for concurrent use. Make it with
// NewReceiver, end it with Close.
type Receiver struct {
	fds   [Size]int
	res   [Size]int // bytes read, or -1
	bufs  [Size][MaxDatagram]byte
	names [Size]unix.RawSockaddrInet6
	hdrs  [Size]unix.Msghdr
	iovs  [Size]unix.Iovec
	ents  [Size]entry // only fd is used: the ring's sqes take it from here
	ring  *ring
	c     Counters // Sent: datagrams read; Failed: sockets that had none
}

// NewReceiver makes a Receiver, with an io_uring instance when the kernel
// grants one.
func NewReceiver() *Receiver {
	r := &Receiver{}
	for i := range r.hdrs {
		r.hdrs[i].Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.hdrs[i].Iov = &r.iovs[i]
		r.hdrs[i].SetIovlen(1)
		r.iovs[i].Base = &r.bufs[i][0]
	}
	if !disabled.Load() {
		if rg, err := newRing(Size); err == nil {
			r.ring = rg
		} else {
			disabled.Store(true)
		}
	}
	return r
}

// Ring reports whether r reads through io_uring.
func (r *Receiver) Ring() bool { return r.ring != nil }

// Counters returns r's totals: Sent counts the datagrams read, Failed the
// reads that found none.
func (r *Receiver) Counters() Counters { return r.c }

// Close ends r.
func (r *Receiver) Close() {
	if r.ring != nil {
		r.ring.close()
		r.ring = nil
	}
}

// Recv reads at most one datagram from each of fds (at most Size of them;
// the rest are left alone) and returns how many fds it tried. Datagram i
// is Datagram(i); the caller keeps the fds open until Recv returns.
func (r *Receiver) Recv(fds []int) int {
	n := min(len(fds), Size)
	if n == 0 {
		return 0
	}
	r.c.Flushes++
	copy(r.fds[:n], fds)
	for i := range n {
		r.res[i] = -1
		r.hdrs[i].Namelen = unix.SizeofSockaddrInet6
		r.iovs[i].SetLen(MaxDatagram)
		r.ents[i].fd = fds[i]
	}
	done := false
	if r.ring != nil && n > 1 {
		calls, ok := r.ring.recvmsg(r.ents[:n], r.hdrs[:n], r.res[:n])
		r.c.Syscalls += uint64(calls)
		if ok {
			done = true
		} else {
			r.ring.abandon()
			r.ring = nil
		}
	}
	if !done {
		for i := range n {
			r.hdrs[i].Namelen = unix.SizeofSockaddrInet6
			got, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fds[i]),
				uintptr(unsafe.Pointer(&r.bufs[i][0])), MaxDatagram, unix.MSG_DONTWAIT,
				uintptr(unsafe.Pointer(&r.names[i])), uintptr(unsafe.Pointer(&r.hdrs[i].Namelen)))
			if e == 0 {
				r.res[i] = int(got)
			}
		}
		r.c.Syscalls += uint64(n)
	}
	for i := range n {
		if r.res[i] >= 0 {
			r.c.Sent++
		} else {
			r.c.Failed++
		}
	}
	return n
}

// Datagram returns what Recv read from its i-th fd (nil: nothing) and
// the sender's address in raw form (struct sockaddr_in or sockaddr_in6).
func (r *Receiver) Datagram(i int) ([]byte, *unix.RawSockaddrInet6) {
	if i < 0 || i >= Size || r.res[i] < 0 {
		return nil, nil
	}
	return r.bufs[i][:r.res[i]], &r.names[i]
}
