package relay

import "net/netip"

// Latching says which sources may become a side's far end (symmetric RTP,
// RFC 4961 §4; the usual NAT traversal for SIP phones, RFC 7362 §4.1).
//
// Whatever the mode, latching happens only while the side learns: after each
// SDP (Side.SetRemote), the first accepted packet opens a learning window of
// Config.LearnWindow. Inside it the first packet from an allowed source
// latches, and a packet from the exact address of the SDP takes the latch
// over from any other allowed source (the exact address is preferred, as
// rtpengine's heuristic learning does). Once the window has closed the
// latched source and its SSRC are strict: packets from any other source, or
// with another SSRC, are ignored (Stats.Ignored) until the next SDP. Silence
// (hold, DTX, RFC 3551 §4.1) never lets another source take over.
//
// A source whose IP is neither the SDP's nor (in LatchSignalling) the IP the
// side's SIP messages come from (Remote.Signalling) is a stranger: it never
// latches, not even inside the window, and is counted in Stats.Strangers and
// in the Relay's counters, and logged (at most once per strangerLogEvery).
type Latching int

const (
	// LatchSignalling latches on packets whose source IP is the SDP's IP or
	// the side's signalling IP (Remote.Signalling): a phone behind NAT writes
	// a private address in its SDP, and its media comes from the public
	// address its SIP comes from. This is the default.
	LatchSignalling Latching = iota

	// LatchSDPAddr latches only on packets whose source IP is the IP the
	// SDP declared (any port, so a NAT that keeps the address but rewrites
	// the port still works). Use it for trunks and phones on a known network.
	LatchSDPAddr

	// LatchOff never latches: media is sent to, and only accepted from, the
	// exact address and port of the SDP.
	LatchOff
)

// String returns the name used in configuration files.
func (l Latching) String() string {
	switch l {
	case LatchSignalling:
		return "signalling"
	case LatchSDPAddr:
		return "sdp-address"
	case LatchOff:
		return "off"
	default:
		return "unknown"
	}
}

// latch is what a side has learnt about one of its far end's streams (RTP
// or RTCP). It is guarded by the side's mutex.
type latch struct {
	src netip.AddrPort // the latched source; invalid until latched
	// exact: src is the exact address of the SDP, which nothing else
	// takes over from.
	exact bool
	// confirmed: a packet came from src since the last SDP. An unconfirmed
	// latch (from an earlier SDP) is taken over by any allowed source
	// inside the window.
	confirmed bool
	// learning: an SDP came and its window has not closed yet.
	learning bool
	// windowEnd is when the learning window closes (monotonic ns); 0 while
	// no packet has opened it.
	windowEnd int64
}

// verdict is what the latching rules make of one packet.
type verdict uint8

const (
	accepted verdict = iota // from the latched source
	latched                 // latched now: the forwarding target changed
	ignored                 // an allowed IP, but not the latched source (or SSRC)
	stranger                // an IP the side has no reason to hear from
)

// reset starts learning again after a new SDP; moved forgets the source.
func (l *latch) reset(moved bool) {
	if moved {
		l.src, l.exact = netip.AddrPort{}, false
	}
	l.confirmed, l.learning, l.windowEnd = false, true, 0
}

// open reports whether the learning window is open at now, closing it for
// good once it has passed.
func (l *latch) open(now int64) bool {
	if l.learning && l.windowEnd != 0 && now >= l.windowEnd {
		l.learning = false
	}
	return l.learning
}

// learn applies the rules to a packet from src, whose IP the caller has
// checked is allowed; exact is the SDP's address for this stream.
func (l *latch) learn(src, exact netip.AddrPort, now, window int64) verdict {
	open := l.open(now)
	if open && l.windowEnd == 0 {
		defer func() { l.windowEnd = now + window }()
	}
	if src == l.src {
		if open {
			l.confirmed = true
		}
		return accepted
	}
	if !open {
		return ignored
	}
	isExact := src == exact
	if l.src.IsValid() && l.confirmed && (l.exact || !isExact) {
		return ignored
	}
	l.src, l.exact, l.confirmed = src, isExact, true
	return latched
}
