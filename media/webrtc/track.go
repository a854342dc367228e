package webrtc

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// rtpTrack is the leg's outgoing audio towards the browser: RTP packets
// from the relay, passed on as they are but for the SSRC (the one
// negotiated for the track) and the payload type (mapped by the leg). Unlike
// pion's TrackLocalStaticRTP it keeps each packet's payload type, so RFC 4733
// events travel beside the audio on the same SSRC.
type rtpTrack struct {
	id, stream string
	codec      webrtc.RTPCodecParameters // the audio codec to bind with

	mu   sync.Mutex
	bind *binding
	cur  atomic.Pointer[binding]
}

type binding struct {
	ssrc uint32
	w    webrtc.TrackLocalWriter
}

func newTrack(id string, codec webrtc.RTPCodecParameters) *rtpTrack {
	return &rtpTrack{id: id, stream: "switchboard-" + id, codec: codec}
}

// Bind implements webrtc.TrackLocal: it takes the negotiated SSRC and
// writer, and binds with the audio codec the leg chose.
func (t *rtpTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	cps := ctx.CodecParameters()
	chosen, ok := webrtc.RTPCodecParameters{}, false
	for _, c := range cps {
		if c.PayloadType == t.codec.PayloadType || (!ok && c.MimeType == t.codec.MimeType) {
			chosen, ok = c, true
		}
	}
	if !ok {
		if len(cps) == 0 {
			return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
		}
		chosen = cps[0]
	}
	b := &binding{ssrc: uint32(ctx.SSRC()), w: ctx.WriteStream()}
	t.mu.Lock()
	t.bind = b
	t.cur.Store(b)
	t.mu.Unlock()
	return chosen, nil
}

// Unbind implements webrtc.TrackLocal.
func (t *rtpTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.bind = nil
	t.cur.Store(nil)
	t.mu.Unlock()
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *rtpTrack) ID() string { return t.id }

// RID implements webrtc.TrackLocal: no simulcast.
func (t *rtpTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *rtpTrack) StreamID() string { return t.stream }

// Kind implements webrtc.TrackLocal.
func (t *rtpTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// write sends one RTP packet (at least 12 bytes) towards the browser,
// rewriting its SSRC in place. It reports false while the track is not
// bound (before DTLS is up).
func (t *rtpTrack) write(pkt []byte) bool {
	b := t.cur.Load()
	if b == nil {
		return false
	}
	binary.BigEndian.PutUint32(pkt[8:12], b.ssrc)
	_, err := b.w.Write(pkt)
	return err == nil
}
