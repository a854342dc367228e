//go:build linux && !relaygoroutines

package relay

import (
	"net/netip"
	"sync"

	"github.com/switchboard-gw/switchboard/media/udpbatch"
)

// InputBatch: see NewInputBatch.
type InputBatch struct {
	mu   sync.Mutex
	snd  *udpbatch.Sender
	held []*Session // one reference each, dropped by Flush
}

func newInputBatch() *InputBatch {
	return &InputBatch{snd: udpbatch.New(), held: make([]*Session, 0, udpbatch.Size)}
}

// add holds pkt to be sent out of k (a socket of s) to `to`, with a
// reference on s so that Session.Close does not close k's fd before the
// Flush. A full batch is flushed first.
func (b *InputBatch) add(s *Session, k *sock, pkt []byte, to netip.AddrPort) bool {
	if to.Addr().Zone() != "" { // a link-local peer: sendFrom knows zones
		return s.relay.sendFrom(s, k, pkt, to)
	}
	s.io.refs.Add(1)
	if s.io.closing.Load() {
		s.io.refs.Add(-1)
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.held) == udpbatch.Size {
		b.flushLocked()
	}
	if err := b.snd.Add(k.fd, k.v6, pkt, to); err != nil {
		s.io.refs.Add(-1)
		return false
	}
	b.held = append(b.held, s)
	return true
}

// Flush sends what b holds (one io_uring_enter(2) where the kernel allows
// io_uring, else one sendto(2) each) and lets the sessions close.
func (b *InputBatch) Flush() {
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

func (b *InputBatch) flushLocked() {
	if len(b.held) == 0 {
		return
	}
	b.snd.Flush() // what a socket refuses is lost, as a UDP send is
	for i, s := range b.held {
		s.io.refs.Add(-1)
		b.held[i] = nil
	}
	b.held = b.held[:0]
}

// Close flushes b and releases its io_uring instance.
func (b *InputBatch) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	b.snd.Close()
}

// BatchCounters are an InputBatch's totals (udpbatch.Counters).
func (b *InputBatch) Counters() udpbatch.Counters {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snd.Counters()
}

// Ring reports whether b sends through io_uring.
func (b *InputBatch) Ring() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snd.Ring()
}
