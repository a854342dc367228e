package b2bua

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// errNoAckAnswer: the caller's ACK carried no usable answer to the offer
// in our 2xx (RFC 3261 §13.2.1, RFC 3264 §5). It wraps sdp.ErrMalformed so
// the call ends with the media_error cause.
var errNoAckAnswer = fmt.Errorf("%w: no SDP answer in the ACK", sdp.ErrMalformed)

// lateOffer is the state of a call whose INVITE came without SDP (Cisco
// UCM's delayed offer, calls after a transfer or a pickup): we offer on the
// B leg from the configured codecs, the callee's answer is our offer in the
// 2xx to the caller, and the caller answers in its ACK (RFC 3261 §13.2.1).
type lateOffer struct {
	on     bool                     // the INVITE had no SDP
	offerA *psdp.SessionDescription // our offer in the caller's 2xx; set before the dialogs are listed
	once   sync.Once                // the ACK's answer is taken once
	answer []byte                   // the caller's answer from the ACK (or the PRACK); under est.mu

	// With early media and a caller that requires 100rel, our offer goes
	// in the first reliable 18x with SDP and the caller answers in its
	// PRACK (RFC 3262 §5, RFC 3261 §13.2.1), not in the ACK. Under mu.
	mu          sync.Mutex
	early       *psdp.SessionDescription // our offer in a reliable 18x
	earlyOut    []byte                   // that offer as sent
	earlyAnswer bool                     // the PRACK answered it
}

// errNoEarlyOffer: a PRACK with SDP for a late-offer call whose 18x
// carried no offer of ours to answer.
var errNoEarlyOffer = errors.New("b2bua: no offer of ours in a reliable 18x to answer")

// makeLateOffer builds the B leg's offer of our own: the configured codecs
// at the relay's B side (RFC 3264 §5).
func (c *call) makeLateOffer() ([]byte, error) {
	_, b := c.legs(true)
	sd, err := sdp.NewOffer(c.gw.o.Codecs, b.mediaAddr(), b.origin)
	if err != nil {
		return nil, err
	}
	out, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sdp.ErrMalformed, err)
	}
	c.late.on = true
	c.offerB = sd
	return out, nil
}

// earlyBody is the SDP a 18x to the caller carries. For a late offer: our
// offer (made from the callee's early SDP) in the first 18x with SDP when
// the caller requires 100rel, so that it hears the early media (a
// PBX's announcement, a ringback tone) and answers in its PRACK (RFC 3262
// §5); none otherwise, the offer going in the 2xx (an offer in an
// unreliable 1xx is not allowed, RFC 3261 §13.2.1), and none in later
// 18x (one offer at a time, RFC 3264 §4).
func (c *call) earlyBody(out []byte) []byte {
	if !c.late.on {
		return out
	}
	if !c.relA.on {
		return nil
	}
	l := &c.late
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.earlyOut != nil || l.offerA == nil {
		return nil
	}
	l.early, l.earlyOut = l.offerA, out
	return out
}

// earlyAnswered is the offer we sent the caller in a reliable 18x, when
// its PRACK answered it (nil otherwise): the 2xx then repeats that offer
// and the ACK carries no answer (RFC 3261 §13.2.1).
func (l *lateOffer) earlyAnswered() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.earlyAnswer {
		return nil
	}
	return l.earlyOut
}

// prackAnswer takes the caller's answer, in its PRACK, to the offer we
// sent in a reliable 18x (RFC 3262 §5): the relay's A side is pointed at
// it and it is recorded for re-INVITEs, as an ACK's answer would be.
func (c *call) prackAnswer(req *sip.Request) error {
	l := &c.late
	l.mu.Lock()
	offer, done := l.early, l.earlyAnswer
	l.mu.Unlock()
	if offer == nil || done {
		return errNoEarlyOffer
	}
	body, err := sdpBody(req)
	if err != nil {
		return err
	}
	a, _ := c.legs(true)
	_, st, err := a.acceptAnswer(offer, body)
	if err != nil {
		return err
	}
	a.heard(st, req)
	l.mu.Lock()
	l.earlyAnswer = true
	l.mu.Unlock()
	e := &c.est
	e.mu.Lock()
	l.answer = body
	e.mu.Unlock()
	return nil
}

// ackAnswer takes the caller's answer from the ACK of our 2xx when the
// call is a late offer: it points the relay's A side at it (from the ACK's
// source too) and records it for re-INVITEs. Without a usable answer the
// call ends, BYE on both legs with a Reason (RFC 3326). Called from onAck
// before the call counts as ACKed.
func (c *call) ackAnswer(ack *sip.Request) {
	if !c.late.on || c.late.earlyAnswered() != nil {
		return // no late offer, or answered in the PRACK already
	}
	c.late.once.Do(func() {
		err := c.takeAckAnswer(ack)
		if err == nil {
			gw := c.gw
			gw.calls.Add(1)
			go func() {
				defer gw.calls.Done()
				c.reofferCallee()
			}()
			return
		}
		c.gw.log.Info("late offer: ACK without a usable answer", "call_id", c.a.callID, "error", err)
		c.acked()
		c.endReason(true, true, err, `SIP;cause=488;text="`+quotedText(err)+`"`)
	})
}

func (c *call) takeAckAnswer(ack *sip.Request) error {
	body, err := sdpBody(ack)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errNoAckAnswer
	}
	a, _ := c.legs(true)
	_, st, err := a.acceptAnswer(c.late.offerA, body)
	if err != nil {
		return err
	}
	a.heard(st, ack)
	// What the caller sent, as it sent it: re-INVITEs and transfers start
	// from it (indialog.go). The ACK may come before startTimers filled
	// the established state; keepAckAnswer then puts it there.
	e := &c.est
	e.mu.Lock()
	c.late.answer = body
	if e.up {
		e.from[c.a] = body
	}
	e.mu.Unlock()
	return nil
}

// keepAckAnswer runs after startTimers: the caller's answer, if its ACK
// came first, replaces the offer startTimers took for what it sent.
func (c *call) keepAckAnswer() {
	if !c.late.on {
		return
	}
	e := &c.est
	e.mu.Lock()
	if c.late.answer != nil {
		e.from[c.a] = c.late.answer
	}
	e.mu.Unlock()
}

// quotedText is err's text for a Reason header's quoted text: no quotes
// or backslashes (RFC 3261 §25.1 quoted-string kept simple).
func quotedText(err error) string {
	s := err.Error()
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '"' || r == '\\' || r < ' ' {
			continue
		}
		out = append(out, r)
	}
	return string(out)
}

// reofferCallee runs once the caller answered our late offer in its ACK.
// Our offer to the caller carried every codec the callee's answer allows;
// when the caller kept fewer, the callee may still send one the caller
// refused (G.729 to a caller that took G.711 only: no audio one way). The
// callee is then re-INVITEd with the caller's answer as the offer, through
// the relay (RFC 3264 §8), so both ends agree on what they send. A failure
// leaves the session as it was.
func (c *call) reofferCallee() {
	if !c.est.beginAnswered(2 * time.Second) { // after startTimers
		return
	}
	defer c.est.finish()
	if isClosed(c.done) {
		return
	}
	_, b := c.legs(true)
	c.est.mu.Lock()
	callerAns := c.late.answer
	c.est.mu.Unlock()
	asd, err := sdp.Parse(callerAns)
	var ast sdp.Stream
	if err == nil {
		ast, err = sdp.AudioStream(asd)
	}
	if err != nil {
		return
	}
	bsd, err := sdp.Parse(b.lastFrom())
	if err != nil {
		return
	}
	bst, err := sdp.AudioStream(bsd)
	if err != nil {
		return
	}
	kept, err := sdp.Intersect(bsd, ast.Codecs)
	if err != nil || len(kept) >= len(bst.Codecs) {
		return // the callee sends nothing the caller refused
	}
	if _, err := c.reoffer(b, asd); err != nil {
		c.gw.log.Info("late offer: callee not re-INVITEd with the caller's codecs", "call_id", c.a.callID, "error", err)
		return
	}
	c.gw.log.Debug("late offer: callee re-INVITEd with the caller's codecs", "call_id", c.a.callID)
}
