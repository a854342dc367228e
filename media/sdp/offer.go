package sdp

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pion/sdp/v3"
)

// firstDynamic is the first dynamic RTP payload type (RFC 3551 §3).
const firstDynamic = 96

// NewOffer builds an audio offer of our own (RFC 3264 §5) from the codecs
// given, in their order, for a late offer: an INVITE that came without SDP
// (RFC 3261 §13.2.1), to which the B2BUA offers on the other leg. The
// stream is RTP/AVP sendrecv at local; codecs of the static table of
// RFC 3551 §6 take their static payload type, the others dynamic ones from
// 96 up, each with a=rtpmap, and telephone-event a=fmtp 0-16 (RFC 4733
// §7.1.1). origin sets the o= line as Rewrite does. It fails with
// ErrNoCommonCodec when codecs hold no audio codec.
func NewOffer(codecs []Codec, local netip.AddrPort, origin *Origin) (*sdp.SessionDescription, error) {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: int(local.Port())}, Protos: []string{"RTP", "AVP"},
	}}
	used := map[uint8]bool{}
	next := uint8(firstDynamic)
	audio := false
	for _, c := range codecs {
		pt, static := staticType(c)
		if !static {
			for used[next] && next < 127 {
				next++
			}
			if used[next] {
				break // 32 dynamic types: more codecs than an offer needs
			}
			pt = next
		}
		if used[pt] {
			continue // listed twice
		}
		used[pt] = true
		audio = audio || !c.IsEvent()
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(pt)))
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", strconv.Itoa(int(pt))+" "+c.String()))
		switch {
		case c.Fmtp != "":
			md.Attributes = append(md.Attributes, sdp.NewAttribute("fmtp", strconv.Itoa(int(pt))+" "+c.Fmtp))
		case c.Name == "telephone-event":
			md.Attributes = append(md.Attributes, sdp.NewAttribute("fmtp", strconv.Itoa(int(pt))+" 0-16"))
		}
	}
	if !audio {
		return nil, fmt.Errorf("%w: no audio codec configured to offer", ErrNoCommonCodec)
	}
	md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(sdp.DirectionSendRecv.String()))
	sd := &sdp.SessionDescription{
		Origin:            sdp.Origin{Username: "switchboard", SessionID: 1, SessionVersion: 1, NetworkType: "IN", AddressType: "IP4", UnicastAddress: "0.0.0.0"},
		SessionName:       "-",
		TimeDescriptions:  []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: []*sdp.MediaDescription{md},
	}
	if err := Rewrite(sd, local, origin); err != nil {
		return nil, err
	}
	return sd, nil
}

// staticType is the static payload type of c (RFC 3551 §6), if it has one.
func staticType(c Codec) (uint8, bool) {
	for pt, s := range staticCodecs {
		if s.Matches(c) {
			return pt, true
		}
	}
	return 0, false
}
