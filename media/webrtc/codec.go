package webrtc

import (
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// codec is one payload format a leg passes through, with its payload type.
type codec = sdp.Codec

// bridged are the codecs a leg passes between a browser and RTP without
// transcoding: what every browser offers (G.711, Opus) and RFC 4733 events.
var bridged = []sdp.Codec{
	{Name: "opus", ClockRate: 48000, Channels: 2},
	{Name: "PCMU", ClockRate: 8000},
	{Name: "PCMA", ClockRate: 8000},
	{Name: "telephone-event", ClockRate: 8000},
	{Name: "telephone-event", ClockRate: 48000},
}

// supported keeps the codecs of cs a leg can bridge, in their order, with
// their payload types. It reports whether an audio codec is among them.
func supported(cs []sdp.Codec) ([]sdp.Codec, bool) {
	var out []sdp.Codec
	audio := false
	for _, c := range cs {
		for _, b := range bridged {
			if b.Matches(c) {
				out = append(out, c)
				audio = audio || !c.IsEvent()
				break
			}
		}
	}
	return out, audio
}

// params is c as pion's MediaEngine registers it.
func params(c sdp.Codec) webrtc.RTPCodecParameters {
	ch := uint16(c.Channels)
	mime := "audio/" + c.Name
	switch {
	case strings.EqualFold(c.Name, "opus"):
		mime, ch = webrtc.MimeTypeOpus, 2
	case strings.EqualFold(c.Name, "PCMU"):
		mime = webrtc.MimeTypePCMU
	case strings.EqualFold(c.Name, "PCMA"):
		mime = webrtc.MimeTypePCMA
	case strings.EqualFold(c.Name, "telephone-event"):
		mime = "audio/telephone-event"
	}
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: c.ClockRate, Channels: ch, SDPFmtpLine: c.Fmtp},
		PayloadType:        webrtc.PayloadType(c.PayloadType),
	}
}

// fromParams is the inverse of params.
func fromParams(p webrtc.RTPCodecParameters) sdp.Codec {
	name := strings.TrimPrefix(strings.TrimPrefix(p.MimeType, "audio/"), "AUDIO/")
	c := sdp.Codec{PayloadType: uint8(p.PayloadType), Name: name, ClockRate: p.ClockRate, Fmtp: p.SDPFmtpLine}
	if p.Channels > 1 {
		c.Channels = int(p.Channels)
	}
	return c
}

// ptMap maps payload types of one leg to the other's; 0xff: not passed.
type ptMap [128]uint8

// newPTMap maps every codec of from to the codec of to that matches it.
func newPTMap(from, to []sdp.Codec) *ptMap {
	m := &ptMap{}
	for i := range m {
		m[i] = 0xff
	}
	for _, f := range from {
		for _, t := range to {
			if f.Matches(t) {
				m[f.PayloadType&0x7f] = t.PayloadType
				break
			}
		}
	}
	return m
}
