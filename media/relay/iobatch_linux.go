//go:build linux && !relaygoroutines

package relay

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/media/udpbatch"
)

// Batched reads and sends of a worker (media/udpbatch, io_uring). Every
// socket epoll reports ready is its own call's, so recvmmsg(2) and
// sendmmsg(2) cannot batch them; one io_uring_enter(2) reads a datagram
// from each of the ready sockets, and one more sends what they relay out
// of their peer sockets, instead of a recvfrom(2) and a sendto(2) per
// packet. Where the kernel refuses io_uring the worker handles one socket
// at a time as before (handle, io_linux.go).

// ioBatch is a worker's batched I/O state.
type ioBatch struct {
	rcv   *udpbatch.Receiver
	snd   *udpbatch.Sender
	socks [udpbatch.Size]*sock
	fds   [udpbatch.Size]int
}

// noIOBatch keeps new workers on one system call per packet (benchmarks).
var noIOBatch bool

// newIOBatch returns the batched I/O of a worker, nil where the kernel
// has no io_uring for it.
func newIOBatch() *ioBatch {
	if noIOBatch {
		return nil
	}
	rcv := udpbatch.NewReceiver()
	if !rcv.Ring() {
		rcv.Close()
		return nil
	}
	return &ioBatch{rcv: rcv, snd: udpbatch.New()}
}

func (b *ioBatch) close() {
	b.rcv.Close()
	b.snd.Close()
}

// handleAll relays one datagram of each socket in evs.
func (w *worker) handleAll(evs []unix.EpollEvent) {
	if w.io == nil || len(evs) < 2 {
		for i := range evs {
			w.handle(int(evs[i].Fd))
		}
		return
	}
	for len(evs) > 0 {
		k := min(len(evs), udpbatch.Size)
		w.handleBatch(evs[:k])
		evs = evs[k:]
	}
}

// handleBatch is handle for up to udpbatch.Size sockets: the sockets'
// sessions are held (refs) from before the reads until after the sends.
func (w *worker) handleBatch(evs []unix.EpollEvent) {
	b := w.io
	n := 0
	for i := range evs {
		k := w.lookup(int(evs[i].Fd))
		if k == nil {
			continue
		}
		s := k.side.sess
		s.io.refs.Add(1)
		if s.io.closing.Load() {
			s.io.refs.Add(-1)
			continue
		}
		b.socks[n], b.fds[n] = k, k.fd
		n++
	}
	b.rcv.Recv(b.fds[:n])
	for i, k := range b.socks[:n] {
		pkt, sa := b.rcv.Datagram(i)
		if pkt == nil {
			continue
		}
		src := rawAddr(sa)
		if out, to, fwd := k.side.input(pkt, src, k.isRTCP); fwd && !w.pend.deliver(out, pkt) {
			if to.Addr().Zone() != "" { // link-local: send knows zones
				copy(w.buf[:], pkt)
				w.send(out, len(pkt), to)
			} else {
				_ = b.snd.Add(out.fd, out.v6, pkt, to)
			}
		}
	}
	b.snd.Flush()
	w.pend.flush() // before the refs go: the legs' batches hold no fd, but keep the order of handle
	for i, k := range b.socks[:n] {
		k.side.sess.io.refs.Add(-1)
		b.socks[i] = nil
	}
}

// lookup returns the socket bound to port if a session of this worker
// holds it.
func (w *worker) lookup(port int) *sock {
	i := port - w.eng.base
	if uint(i) >= uint(len(w.eng.table)) {
		return nil
	}
	k := w.eng.table[i].Load()
	if k == nil || k.side.sess.io.w != w {
		return nil // a stale event of a port that went to another session
	}
	return k
}

// rawAddr decodes a struct sockaddr_in or sockaddr_in6.
func rawAddr(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), ntohs(s4.Port))
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(zoneName(sa.Scope_id)) // link-local only
		}
		return netip.AddrPortFrom(a, ntohs(sa.Port))
	}
	return netip.AddrPort{}
}
