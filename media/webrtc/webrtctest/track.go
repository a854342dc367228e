package webrtctest

import (
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rawTrack sends RTP with the payload types the test chooses (pion's
// TrackLocalStaticRTP rewrites every packet to the codec's), so RFC 4733
// events go out beside the audio, as a browser sends them.
type rawTrack struct {
	codec webrtc.RTPCodecCapability
	w     atomic.Pointer[bound]
}

type bound struct {
	ssrc    uint32
	audioPT uint8
	eventPT uint8
	w       webrtc.TrackLocalWriter
}

func (t *rawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	b := &bound{ssrc: uint32(ctx.SSRC()), w: ctx.WriteStream()}
	var audio webrtc.RTPCodecParameters
	found := false
	for _, c := range ctx.CodecParameters() {
		switch {
		case c.MimeType == "audio/telephone-event" && c.ClockRate == 8000:
			b.eventPT = uint8(c.PayloadType)
		case !found && c.MimeType != "audio/telephone-event":
			audio, found = c, true
			b.audioPT = uint8(c.PayloadType)
		}
	}
	if !found {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.w.Store(b)
	return audio, nil
}

func (t *rawTrack) Unbind(webrtc.TrackLocalContext) error { t.w.Store(nil); return nil }
func (t *rawTrack) ID() string                            { return "audio" }
func (t *rawTrack) RID() string                           { return "" }
func (t *rawTrack) StreamID() string                      { return "browser" }
func (t *rawTrack) Kind() webrtc.RTPCodecType             { return webrtc.RTPCodecTypeAudio }

// write sends p as audio, or as an event when event is set (dropped if
// telephone-event was not negotiated).
func (t *rawTrack) write(p *rtp.Packet, event bool) error {
	b := t.w.Load()
	if b == nil {
		return errNotBound
	}
	p.SSRC = b.ssrc
	p.PayloadType = b.audioPT
	if event {
		if b.eventPT == 0 {
			return errNotBound
		}
		p.PayloadType = b.eventPT
	}
	_, err := b.w.WriteRTP(&p.Header, p.Payload)
	return err
}
