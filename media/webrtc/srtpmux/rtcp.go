package srtpmux

import (
	"net/netip"
	"time"
)

// The peer's RTCP on the fast path. SRTCP from an armed stream's address
// still goes to pion (the slow path), but pion sees none of the media
// there and reports nothing: the stream's owner reports itself and needs
// the peer's reports back, its receiver reports about our stream for the
// round-trip time and its sender reports for the LSR/DLSR of ours (RFC
// 3550 §6.4.1). A stream with an RTCP hook (OnRTCP) gets a decrypted copy
// of each SRTCP packet (RFC 3711 §3.4) from its peer, with its arrival
// time, before the packet goes on to pion. Reports come every few
// seconds, so the copy's allocation is not on the media path.

// RTCPHook gets one compound RTCP packet from the stream's peer,
// decrypted, and the time it arrived. It runs on the Mux's reader: it
// must not block; pkt is its own.
type RTCPHook func(pkt []byte, at time.Time)

// OnRTCP sets the stream's RTCP hook (nil: none).
func (s *Stream) OnRTCP(fn RTCPHook) {
	if fn == nil {
		s.rtcpHook.Store(nil)
		return
	}
	s.rtcpHook.Store(&fn)
}

// isRTCP reports whether b is an RTCP packet (RFC 7983 §7: first byte
// 128–191; RFC 5761 §4: packet type 192–223) long enough for SRTCP's
// header and index.
func isRTCP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && b[1] >= 192 && b[1] <= 223
}

// rtcp hands an SRTCP datagram from `from` to its armed stream's hook,
// decrypted; the caller passes the datagram on to pion whatever happens.
func (m *Mux) rtcp(pkt []byte, from netip.AddrPort) {
	m.mu.RLock()
	s := m.streams[from]
	m.mu.RUnlock()
	if s == nil {
		return
	}
	fn := s.rtcpHook.Load()
	if fn == nil {
		return
	}
	at := time.Now()
	s.mu.Lock()
	if !s.armed || s.rx == nil {
		s.mu.Unlock()
		return
	}
	out, err := s.rx.DecryptRTCP(nil, pkt, nil)
	s.mu.Unlock()
	if err != nil {
		s.rtcpBad.Add(1) // forged, replayed or damaged: pion drops it too
		return
	}
	(*fn)(out, at)
}
