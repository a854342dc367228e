package relay

import "net/netip"

// Latching says which source a side's far end is learnt from (symmetric RTP,
// RFC 4961 §4; the usual NAT traversal for SIP phones, RFC 7362 §4.1).
//
// Whatever the mode, a side that has latched keeps its source: a packet from
// another source is ignored and counted in Stats.Ignored. A side re-latches
// only when
//   - Side.SetRemote is called with a different RTP or RTCP address (a
//     re-INVITE or UPDATE moved the stream), or
//   - the latched source has been silent for Config.RelatchAfter and a packet
//     arrives from a new source that the mode accepts (the NAT binding of the
//     phone changed, or the phone restarted its stream).
type Latching int

const (
	// LatchAny latches on the first RTP packet from any source. This is the
	// default: it works for phones behind NAT, whose SDP carries a private
	// address.
	LatchAny Latching = iota

	// LatchSDPAddr latches on the first packet whose source IP is the IP the
	// SDP declared (any port, so a NAT that keeps the address but rewrites the
	// port still works). Use it for trunks and phones on a known network.
	LatchSDPAddr

	// LatchOff never latches: media is sent to, and only accepted from, the
	// exact address and port of the SDP.
	LatchOff
)

// String returns the name used in configuration files.
func (l Latching) String() string {
	switch l {
	case LatchAny:
		return "any"
	case LatchSDPAddr:
		return "sdp-address"
	case LatchOff:
		return "off"
	default:
		return "unknown"
	}
}

// accepts reports whether a first packet from src may latch, given the address
// the SDP declared (invalid when no SDP is known yet).
func (l Latching) accepts(src, sdp netip.AddrPort) bool {
	switch l {
	case LatchAny:
		return true
	case LatchSDPAddr:
		return sdp.IsValid() && src.Addr().Unmap() == sdp.Addr().Unmap()
	default:
		return false
	}
}
