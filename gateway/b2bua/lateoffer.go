package b2bua

import (
	"fmt"
	"sync"

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
	answer []byte                   // the caller's answer from the ACK; under est.mu
}

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

// earlyBody is the SDP a 18x to the caller carries: none for a late
// offer, whose offer goes in the 2xx (an offer in an unreliable 1xx is not
// allowed, RFC 3261 §13.2.1; in a reliable one it would need the PRACK's
// answer, RFC 3262 §5).
func (c *call) earlyBody(out []byte) []byte {
	if c.late.on {
		return nil
	}
	return out
}

// ackAnswer takes the caller's answer from the ACK of our 2xx when the
// call is a late offer: it points the relay's A side at it (from the ACK's
// source too) and records it for re-INVITEs. Without a usable answer the
// call ends, BYE on both legs with a Reason (RFC 3326). Called from onAck
// before the call counts as ACKed.
func (c *call) ackAnswer(ack *sip.Request) {
	if !c.late.on {
		return
	}
	c.late.once.Do(func() {
		err := c.takeAckAnswer(ack)
		if err == nil {
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
