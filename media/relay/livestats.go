package relay

import "net/netip"

// Live is one side as it stands, for a live view of a call (the admin UI's
// active calls): its counters, where its sockets are, where its far end's
// media goes, and what that far end last sent.
type Live struct {
	// Stats are what arrived from the side's far end (Side.Stats): packets
	// and bytes in, loss (RFC 3550 A.3), jitter (A.8), the last packet's
	// time and the latched source.
	Stats

	// SentPackets and SentBytes count the RTP packets (and bytes) the relay
	// sent to this side's far end: what the other side forwarded.
	SentPackets, SentBytes uint64

	// Local is the side's RTP socket, the port in the SDP its far end got.
	Local netip.AddrPort

	// Remote is the RTP address the far end's SDP gave; SendTo where media
	// for the far end goes now (the latched source, else Remote; invalid
	// while the side may not be sent media).
	Remote, SendTo netip.AddrPort

	// PayloadType is the RTP payload type of the last packet counted from
	// the far end (RFC 3550 §5.1); HavePayloadType is false before one.
	PayloadType     uint8
	HavePayloadType bool

	// ClockRate is the clock rate the jitter is converted with.
	ClockRate uint32
}

// Live returns the side's state now. It takes the side's lock and then its
// peer's, one after the other, never both.
func (s *Side) Live() Live {
	l := Live{Stats: s.Stats(), Local: s.LocalAddr()}
	s.mu.Lock()
	l.Remote = s.remote.RTP
	l.ClockRate = s.remote.clockRate()
	if s.rx.started {
		l.PayloadType, l.HavePayloadType = s.rx.lastPT, true
	}
	s.mu.Unlock()
	if d := s.dst.Load(); d != nil && d.recv {
		l.SendTo = d.rtp
	}
	if s.peer != nil {
		s.peer.mu.Lock()
		l.SentPackets, l.SentBytes = s.peer.st.Forwarded, s.peer.st.ForwardedBytes
		s.peer.mu.Unlock()
	}
	return l
}
