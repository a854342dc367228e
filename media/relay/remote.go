package relay

import (
	"net/netip"

	"github.com/pion/sdp/v3"
)

// Remote is what a side's SDP says about its far end. The media/sdp package
// fills one from an offer or answer (sdp.Stream.Remote).
type Remote struct {
	// RTP is the address from the c= line and the port from the m= line.
	// An unspecified address (c=IN IP4 0.0.0.0, the old way to put a call
	// on hold, RFC 3264 §8.4) means the side must not be sent media.
	RTP netip.AddrPort

	// RTCP is from a=rtcp (RFC 3605). Zero: the RTP address, port + 1.
	RTCP netip.AddrPort

	// Direction is the direction attribute of the side's SDP. Zero means
	// sendrecv, the default of RFC 3264 §5.1.
	Direction sdp.Direction

	// ClockRate is the RTP clock rate of the codec in use, for the jitter.
	// Zero: 8000 (G.711, G.722, G.729).
	ClockRate uint32

	// EventPayloadType is the payload type of telephone-event (RFC 4733),
	// whose packets are left out of the jitter. Zero: none.
	EventPayloadType uint8

	// Signalling is the source IP of the SIP message that carried this SDP.
	// With LatchSignalling, media from this IP may latch besides media from
	// the SDP's IP: a phone behind NAT writes its private address in the
	// SDP and sends from the public one its SIP comes from. Invalid: only
	// the SDP's IP.
	Signalling netip.Addr
}

// allows reports whether media from ip may latch on this remote with mode l:
// ip is the SDP's RTP or RTCP IP, or (LatchSignalling) the signalling IP.
// An unspecified SDP address (the old hold) allows nothing by itself.
func (r Remote) allows(ip netip.Addr, l Latching) bool {
	ip = ip.Unmap()
	if a := r.RTP.Addr(); r.RTP.IsValid() && !a.IsUnspecified() && a == ip {
		return true
	}
	if a := r.RTCP.Addr(); r.RTCP.IsValid() && !a.IsUnspecified() && a == ip {
		return true
	}
	return l == LatchSignalling && r.Signalling.IsValid() && r.Signalling.Unmap() == ip
}

// canSend reports whether the side said it sends media (sendrecv, sendonly).
func (r Remote) canSend() bool {
	return r.Direction != sdp.DirectionRecvOnly && r.Direction != sdp.DirectionInactive
}

// canReceive reports whether the side said it wants media (sendrecv,
// recvonly, and not the 0.0.0.0 hold).
func (r Remote) canReceive() bool {
	if r.RTP.IsValid() && r.RTP.Addr().IsUnspecified() {
		return false
	}
	return r.Direction != sdp.DirectionSendOnly && r.Direction != sdp.DirectionInactive
}

// rtcp returns the RTCP address: a=rtcp when given, else RTP port + 1.
func (r Remote) rtcp() netip.AddrPort {
	if r.RTCP.IsValid() {
		return r.RTCP
	}
	if !r.RTP.IsValid() || r.RTP.Port() == 0 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(r.RTP.Addr(), r.RTP.Port()+1)
}

func (r Remote) clockRate() uint32 {
	if r.ClockRate == 0 {
		return 8000
	}
	return r.ClockRate
}
