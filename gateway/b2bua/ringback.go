package b2bua

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Local ringback for a party that waits while a transfer target rings
// (issue 11: "the transferee hears ringback"). A target that sends early
// media (18x with SDP) is heard through the relay (earlyMedia,
// transferor.go); one that sends 180 without SDP asks the caller's side to
// make its own ringback (RFC 3960 §3), and the caller here is the gateway:
// it plays Options.Ringback into the party's relay side (relay.PlayTone),
// in G.711 as the party's SDP lists it. The tone pauses while early media
// is heard and comes back when the branch that sent it fails while
// another branch still rings (a forked target: ringback_fork.go); it
// stops for good when the target answers or fails, when the party hangs
// up (the transfer's context ends), and when the call's relay session
// closes.

// ringback is the tone of one transfer attempt (or one click-to-dial
// call) towards a waiting party: played into its relay side, in a format
// of its SDP. Its methods are safe for concurrent use and do nothing on
// a nil ringback; stop waits until no packet of the tone is sent any more.
type ringback struct {
	c      *call
	side   *relay.Side   // the waiting party's relay side
	sdp    func() []byte // the party's last SDP, read when the tone starts
	callID string        // for logs

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool // stop was called: no (re)start
	noCodec bool // the party's SDP lists no G.711: never a tone
	early   bool // early media is heard: a 180 starts no tone (RFC 3960 §3)
}

// newRingback is the ringback for a transfer whose transferee is y; nil
// (which does nothing) when no tone is configured or y has no relay side.
func (c *call) newRingback(y *leg) *ringback {
	if y == nil {
		return nil
	}
	return c.ringbackTo(y.side, func() []byte { return c.sessionFrom(y) }, y.callID()) // a browser's: its leg's plain face (webrtc.go)
}

// ringbackTo is a ringback into side for the party whose SDP sdp returns;
// nil when no tone is configured or there is no side.
func (c *call) ringbackTo(side *relay.Side, sdp func() []byte, callID string) *ringback {
	if c.gw.o.Ringback == nil || side == nil {
		return nil
	}
	return &ringback{c: c, side: side, sdp: sdp, callID: callID}
}

// ringbackPlay is how the tone is sent to the party whose last SDP is
// body: the first G.711 format it lists (a party must take every format
// its SDP lists, RFC 3264 §5.1) and its a=ptime when G.711 allows it;
// ok is false when it lists no G.711 (Opus, G.722, G.729 only).
func ringbackPlay(body []byte) (p relay.TonePlay, ok bool) {
	sd, err := sdp.Parse(body)
	if err != nil {
		return p, false
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		return p, false
	}
	for _, c := range st.Codecs {
		if c.ClockRate != 8000 {
			continue
		}
		switch {
		case strings.EqualFold(c.Name, "PCMU"):
			p.Codec = relay.PCMU
		case strings.EqualFold(c.Name, "PCMA"):
			p.Codec = relay.PCMA
		default:
			continue
		}
		p.PayloadType = c.PayloadType
		if st.Ptime >= 10 && st.Ptime <= 60 && st.Ptime%10 == 0 {
			p.Ptime = time.Duration(st.Ptime) * time.Millisecond
		}
		return p, true
	}
	return p, false
}

// provisional takes a provisional response of the target: early media
// stops the tone (the target's own ringback or announcement is relayed),
// a 180 without it starts the tone (RFC 3960 §3). early reports whether
// res brought early media that the relay now plays.
func (r *ringback) provisional(res *sip.Response, early bool) {
	switch {
	case r == nil:
	case early:
		r.pause()
	case res.StatusCode == 180 && len(res.Body()) == 0:
		r.start()
	}
}

// response takes a response the call would have sent its caller (a
// click-to-dial call, whose caller is the user's answered device:
// dialTx): a 180 without SDP starts the tone, early media (a provisional
// with SDP, which the relay now plays) and a final response stop it.
func (r *ringback) response(res *sip.Response) {
	switch {
	case r == nil:
	case res.StatusCode >= 200:
		r.stop()
	default:
		r.provisional(res, len(res.Body()) > 0)
	}
}

// start plays the tone unless it plays already, early media is heard,
// or it was stopped.
func (r *ringback) start() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.early {
		return
	}
	r.play("ringback started")
}

// play starts the tone, logging msg, unless it plays already, was
// stopped or has no codec; r.mu is held.
func (r *ringback) play(msg string) {
	if r.stopped || r.cancel != nil || r.noCodec {
		return
	}
	log := r.c.gw.log
	p, ok := ringbackPlay(r.sdp())
	if !ok {
		r.noCodec = true
		log.Info("no ringback: the waiting party's SDP lists no G.711 (PCMU, PCMA)", "call_id", r.callID)
		return
	}
	ctx, cancel := context.WithCancel(r.c.gw.ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	side, tt, done, id := r.side, r.c.gw.o.Ringback, r.done, r.callID
	log.Info(msg, "call_id", id, "codec", p.Codec.String(), "payload_type", p.PayloadType)
	go func() {
		defer close(done)
		if err := side.PlayTone(ctx, tt, p); err != nil && ctx.Err() == nil {
			log.Debug("ringback ended", "call_id", id, "error", err)
		}
	}()
}

// stop ends the tone, if it plays, and waits for its last packet; the
// tone does not start again.
func (r *ringback) stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.halt()
}

// pause ends the tone while early media is heard, and waits for its last
// packet: a 180 does not start it again, earlyLost may.
func (r *ringback) pause() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.early = true
	r.mu.Unlock()
	r.halt()
}

// halt ends the tone that plays, if any, and waits for its last packet.
func (r *ringback) halt() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel, r.done = nil, nil
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}
