package srtpmux

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// ErrNotArmed reports a Send on a stream that cannot send on the fast path
// yet (not armed, no remote address, or its profile not known): the caller
// sends through pion instead.
var ErrNotArmed = errors.New("srtpmux: stream not armed")

// Stream is one peer's SRTP on a Mux: its packets from the peer's address
// are decrypted and handed to the callback given to NewStream, and Send
// encrypts and sends towards the peer. Safe for concurrent use.
type Stream struct {
	m        *Mux
	keys     *Keys
	isClient bool
	onRTP    func(pkt []byte, reader int)

	mu     sync.Mutex // guards what follows (rx: the Mux's reader and Handle)
	armed  bool
	closed bool
	remote netip.AddrPort
	rx, tx *srtp.Context
	rxHdr  rtp.Header
	hello  hello // the association's ServerHello

	txMu  sync.Mutex // serialises tx; taken after mu is released
	txHdr rtp.Header

	in, out, bad atomic.Uint64

	rtcpHook atomic.Pointer[RTCPHook] // rtcp.go
	rtcpBad  atomic.Uint64            // SRTCP that did not authenticate (rtcp.go)
}

// StreamStats are a Stream's counters.
type StreamStats struct {
	In, Out uint64 // SRTP packets decrypted, encrypted on the fast path
	Bad     uint64 // from the peer's address, not authenticated (dropped)
}

// NewStream makes a stream whose keys are keys and whose decrypted RTP
// goes to onRTP, on the Mux's reader that read it, with that reader's
// number (OnReadBatch): onRTP must not block nor keep pkt (it may change
// it in place; pkt has room for an SRTP trailer, so it may be passed on to
// another Stream's Send).
func (m *Mux) NewStream(keys *Keys, onRTP func(pkt []byte, reader int)) *Stream {
	return &Stream{m: m, keys: keys, onRTP: onRTP}
}

// Arm starts the fast path towards remote, the address ICE selected: the
// DTLS association must be established and verified; isClient is our
// role in it (RFC 5764 §4.2: which keys are ours). Calling it again with a new address (ICE selected another pair,
// an ICE restart) moves the stream. It fails with ErrNoKeys when the
// association used a suite that Keys does not capture.
func (s *Stream) Arm(remote netip.AddrPort, isClient bool) error {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errStreamClosed
	}
	if s.rx == nil {
		h, ok := s.m.takeHello(remote)
		if !ok {
			s.mu.Unlock()
			return fmt.Errorf("%w: no ServerHello seen with %v", ErrNoKeys, remote)
		}
		local, rx, err := s.keys.contexts(h, isClient)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.rx, s.hello, s.isClient = rx, h, isClient
		s.txMu.Lock()
		s.tx = local
		s.txMu.Unlock()
	}
	old := s.remote
	s.armed, s.remote = true, remote
	s.mu.Unlock()
	s.m.register(s, old, remote)
	return nil
}

var errStreamClosed = errors.New("srtpmux: stream closed")

// Armed reports whether the stream sends and receives on the fast path:
// armed, with its profile found.
func (s *Stream) Armed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.armed && s.tx != nil
}

// Stats returns the stream's counters.
func (s *Stream) Stats() StreamStats {
	return StreamStats{In: s.in.Load(), Out: s.out.Load(), Bad: s.bad.Load()}
}

// Close takes the stream off the Mux: its address goes to the slow path
// again.
func (s *Stream) Close() {
	s.mu.Lock()
	s.closed, s.armed = true, false
	old := s.remote
	s.mu.Unlock()
	s.m.register(s, old, netip.AddrPort{})
}

// input handles an RTP datagram from the stream's address, on the Mux's
// reader. It reports false when the datagram is not the stream's to take
// (not armed).
func (s *Stream) input(pkt []byte, reader int) bool {
	s.mu.Lock()
	if !s.armed {
		s.mu.Unlock()
		return false
	}
	out, err := s.rx.DecryptRTP(pkt[:0], pkt, &s.rxHdr)
	s.mu.Unlock()
	if err != nil {
		// replayed, forged or damaged: the fast path knows this peer's
		// keys, so pion would refuse it too
		s.bad.Add(1)
		s.m.dropped.Add(1)
		return true
	}
	s.in.Add(1)
	s.m.fast.Add(1)
	s.onRTP(out, reader)
	return true
}

// Send encrypts the RTP packet pkt in place (it needs cap(pkt) ≥
// len(pkt)+16 to avoid an allocation) and sends it to the peer. It fails
// with ErrNotArmed when the fast path cannot send yet.
func (s *Stream) Send(pkt []byte) error {
	s.mu.Lock()
	to, ok := s.remote, s.armed
	s.mu.Unlock()
	if !ok || !to.IsValid() {
		return ErrNotArmed
	}
	s.txMu.Lock()
	if s.tx == nil {
		s.txMu.Unlock()
		return ErrNotArmed
	}
	out, err := s.tx.EncryptRTP(pkt[:0], pkt, &s.txHdr)
	s.txMu.Unlock()
	if err != nil {
		return err
	}
	if err := s.m.send(out, to); err != nil {
		return err
	}
	s.out.Add(1)
	return nil
}

// SendRTCP encrypts the RTCP compound packet pkt (SRTCP, RFC 3711 §3.4,
// with the association's keys) and sends it to the peer: the fast path's
// own reports (pion sees none of its media). It fails with ErrNotArmed
// when the fast path cannot send yet.
func (s *Stream) SendRTCP(pkt []byte) error {
	s.mu.Lock()
	to, ok := s.remote, s.armed
	s.mu.Unlock()
	if !ok || !to.IsValid() {
		return ErrNotArmed
	}
	s.txMu.Lock()
	if s.tx == nil {
		s.txMu.Unlock()
		return ErrNotArmed
	}
	out, err := s.tx.EncryptRTCP(nil, pkt, nil)
	s.txMu.Unlock()
	if err != nil {
		return err
	}
	return s.m.send(out, to)
}
