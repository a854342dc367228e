package sdp

import (
	"net/netip"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/relay"
)

// Stream is the audio stream of an SDP, as the relay needs it.
type Stream struct {
	// Index is the position of the m= line (0-based) in the description.
	Index int
	// Proto is the transport of the m= line, "RTP/AVP" most often.
	Proto string
	// RTP is the connection address (media level before session level,
	// RFC 4566 §5.7) and the m= port.
	RTP netip.AddrPort
	// RTCP is from a=rtcp (RFC 3605); invalid when absent (RTP port + 1).
	RTCP netip.AddrPort
	// Direction is the stream's direction attribute, else the session's,
	// else sendrecv (RFC 3264 §5.1).
	Direction sdp.Direction
	// Codecs are the m= line's formats in order of preference.
	Codecs []Codec
	// Ptime is a=ptime in milliseconds; 0 when absent.
	Ptime int
}

// Remote is what the relay needs to know of this stream's far end.
func (s Stream) Remote() relay.Remote {
	r := relay.Remote{RTP: s.RTP, RTCP: s.RTCP, Direction: s.Direction}
	for _, c := range s.Codecs {
		if !c.IsEvent() {
			r.ClockRate = c.ClockRate
			break
		}
	}
	for _, c := range s.Codecs {
		if strings.EqualFold(c.Name, "telephone-event") {
			r.EventPayloadType = c.PayloadType
			break
		}
	}
	return r
}

// OnHold reports whether the stream asks for no media towards its author:
// sendonly, inactive, or the 0.0.0.0 address of RFC 2543 (RFC 3264 §8.4).
func (s Stream) OnHold() bool {
	return s.Direction == sdp.DirectionSendOnly || s.Direction == sdp.DirectionInactive ||
		s.RTP.Addr().IsUnspecified()
}
