package relay

import (
	"net/netip"
	"time"
)

// Stats are the counters of one side: what arrived from that side's far end
// and what became of it. A Session's A side counts the A→B direction, its B
// side B→A. They go into the CDR.
type Stats struct {
	// Packets and Bytes count the RTP packets (and their UDP payload bytes)
	// accepted from the far end.
	Packets, Bytes uint64

	// Forwarded counts the accepted RTP packets sent on to the other side,
	// ForwardedBytes their UDP payload bytes: what the other side's far end
	// was sent.
	Forwarded, ForwardedBytes uint64

	// Dropped counts accepted RTP packets not forwarded: the directions of
	// the two sides do not let media flow this way (hold, RFC 3264 §8.4), or
	// the other side has no address yet.
	Dropped uint64

	// Ignored counts packets the latching rules refused (see Latching): not
	// the latched source, another SSRC after the learning window, or a
	// stranger; RTP and RTCP together.
	Ignored uint64

	// Strangers counts the part of Ignored that came from an IP the side has
	// no reason to hear from: neither its SDP's nor its signalling IP.
	Strangers uint64

	// Invalid counts datagrams that are not RTP or RTCP version 2.
	Invalid uint64

	// RTCPPackets and RTCPBytes count the RTCP packets accepted (on the RTCP
	// socket, or multiplexed on the RTP one, RFC 5761).
	RTCPPackets, RTCPBytes uint64

	// Expected and Lost are RFC 3550 A.3, over every SSRC seen. Lost is
	// negative when duplicates arrived.
	Expected uint64
	Lost     int64

	// Jitter is the interarrival jitter of RFC 3550 A.8, converted from
	// timestamp units with the side's clock rate (Remote.ClockRate).
	Jitter time.Duration

	// LastPacket is when the last accepted RTP packet arrived; zero if none.
	LastPacket time.Time

	// Source is the latched RTP source; invalid until latched.
	Source netip.AddrPort
}
