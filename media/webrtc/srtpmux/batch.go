package srtpmux

import (
	"net/netip"
	"sync"
)

// Batched sends. Every peer's SRTP leaves the Mux's one socket, so the
// packets that a relay worker passes on to many peers in one of its epoll
// batches go out in one sendmmsg(2) (Linux; elsewhere one write each):
// SendBatch encrypts a packet into the batch's own buffer, Flush sends the
// batch. A Mux implements relay.Flusher.

const (
	// maxBatches is how many batches a Mux keeps: one per relay I/O worker
	// (relay.Config.Threads); a larger batch number sends at once.
	maxBatches = 16
	// batchLen is the packets a batch holds; a full batch is sent before
	// the next packet is added.
	batchLen = 64
	// srtpOverhead is the most EncryptRTP adds to a packet (an AES-GCM tag
	// or an HMAC-SHA1-80 tag, and a rollover counter with RCC).
	srtpOverhead = 32
)

// sendBatch is one batch of encrypted packets with their destinations.
// Its lock is uncontended: one relay worker fills and flushes it (two
// Relays in one process sharing worker numbers only share a lock).
type sendBatch struct {
	mu   sync.Mutex
	n    int
	pkts [batchLen][]byte
	to   [batchLen]netip.AddrPort
	buf  [batchLen][maxDatagram]byte
	sys  batchSys // the system call's arrays (batch_linux.go)
}

// batch returns batch number i, made on first use; nil when i is not a
// batch number.
func (m *Mux) batch(i int) *sendBatch {
	if i < 0 || i >= maxBatches {
		return nil
	}
	if b := m.batches[i].Load(); b != nil {
		return b
	}
	m.batches[i].CompareAndSwap(nil, new(sendBatch))
	return m.batches[i].Load()
}

// Flush sends every packet that SendBatch added to batch. Called by the
// relay's worker at the end of its epoll batch (relay.Flusher).
func (m *Mux) Flush(batch int) {
	b := m.batch(batch)
	if b == nil {
		return
	}
	b.mu.Lock()
	m.flushLocked(b)
	b.mu.Unlock()
}

// flushLocked sends b's packets and empties it; b.mu is held.
func (m *Mux) flushLocked(b *sendBatch) {
	if b.n == 0 {
		return
	}
	sent := m.sendBatch(b)
	if sent < b.n {
		m.sendFail.Add(uint64(b.n - sent))
	}
	b.n = 0
}

// SendBatch is Send for the relay's workers: the packet is encrypted into
// batch's buffer and sent by the next Flush(batch) (or at once when the
// batch is full, or when batch is not a batch number, relay.NoBatch). pkt
// itself is not changed and not kept.
func (s *Stream) SendBatch(pkt []byte, batch int) error {
	b := s.m.batch(batch)
	if b == nil || len(pkt)+srtpOverhead > maxDatagram {
		return s.Send(pkt)
	}
	s.mu.Lock()
	to, ok := s.remote, s.armed
	s.mu.Unlock()
	if !ok || !to.IsValid() {
		return ErrNotArmed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == batchLen {
		s.m.flushLocked(b)
	}
	s.txMu.Lock()
	if s.tx == nil {
		s.txMu.Unlock()
		return ErrNotArmed
	}
	out, err := s.tx.EncryptRTP(b.buf[b.n][:0], pkt, &s.txHdr)
	s.txMu.Unlock()
	if err != nil {
		return err
	}
	b.pkts[b.n], b.to[b.n] = out, to
	b.n++
	s.out.Add(1)
	return nil
}
