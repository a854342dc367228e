package b2bua

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// errPeerStatus: the other leg answered the request we relayed with a
// final error status; the response says which.
var errPeerStatus = errors.New("b2bua: other leg rejected the request")

// errBadAnswer: the other leg accepted an offer (2xx, ACKed) but its answer
// is unusable; exchange rolls that leg back (rollback).
var errBadAnswer = errors.New("b2bua: unusable answer in a 2xx")

// onReinvite handles an INVITE inside a dialog (RFC 3261 §14.2) from
// either leg of an answered call: the new offer goes through the relay to
// the other leg as a re-INVITE, and its answer comes back. Hold keeps the
// direction the endpoint asked for: a sendonly or inactive offer reaches
// the other leg as such, its recvonly or inactive answer comes back, and
// the relay forwards only what the directions allow (RFC 3264 §8.4).
// A re-INVITE while another offer is under way on the call gets 491
// (RFC 3261 §14.1).
func (b *B2BUA) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l := b.inDialog(req, tx)
	if l == nil {
		return
	}
	c := l.c
	if b.rejectSmallSE(req, tx) { // 422 with our Min-SE (timer.go)
		return
	}
	if !c.est.beginAnswered(time.Second) { // may cross our 2xx
		c.respondIn(tx, req, l.d, 491, "Request Pending", "", nil)
		return
	}
	b.respond(tx, req, 100, "Trying", nil)
	refreshTarget(l.d, req)
	hs := l.timerRefreshed(req)
	if len(req.Body()) == 0 {
		// The answer comes in the ACK: the exchange lasts until then.
		defer c.est.finish()
		c.offerInAnswer(l, req, tx, hs)
		return
	}
	ans, res, err := c.exchange(l, req.Body(), sip.INVITE, req)
	if err != nil {
		c.est.finish()
		b.log.Info("re-INVITE failed", "call_id", l.d.callID, "error", err)
		c.relayError(tx, req, l.d, res, err)
		if c.goneLeg(res, err) {
			c.end(true, true, err)
		}
		return
	}
	out := c.respondIn(tx, req, l.d, 200, "OK", "application/sdp", ans, hs...)
	c.est.finish() // the offer/answer is complete; the ACK only confirms it
	if overUDP(req) {
		c.awaitAck(tx, l.d, out)
	}
}

// onUpdate handles UPDATE (RFC 3311) on an answered call: with SDP it is
// an offer relayed like a re-INVITE's (§5.2: 491 while another is under
// way); without, a session refresh (RFC 4028 §7.4) answered here.
func (b *B2BUA) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if l, _ := b.find(req); l == nil {
		if c, d, isA := b.earlyDialog(req); c != nil {
			c.earlyUpdate(req, tx, d, isA) // RFC 3311 §5.1 (early_update.go)
			return
		}
	}
	l := b.inDialog(req, tx)
	if l == nil {
		return
	}
	c := l.c
	if b.rejectSmallSE(req, tx) { // 422 with our Min-SE (timer.go)
		return
	}
	refreshTarget(l.d, req)
	hs := l.timerRefreshed(req)
	if len(req.Body()) == 0 {
		c.respondIn(tx, req, l.d, 200, "OK", "", nil, hs...)
		return
	}
	if !c.est.beginAnswered(time.Second) { // may cross our 2xx
		c.respondIn(tx, req, l.d, 491, "Request Pending", "", nil,
			sip.NewHeader("Retry-After", "1"))
		return
	}
	ans, res, err := c.exchange(l, req.Body(), sip.UPDATE, req)
	c.est.finish() // before the answer: the offerer may go on at once
	if err != nil {
		b.log.Info("UPDATE failed", "call_id", l.d.callID, "error", err)
		c.relayError(tx, req, l.d, res, err)
		if c.goneLeg(res, err) {
			c.end(true, true, err)
		}
		return
	}
	c.respondIn(tx, req, l.d, 200, "OK", "application/sdp", ans, hs...)
}

// exchange relays an offer from leg l to the other leg with method (INVITE
// or UPDATE; an UPDATE the other leg does not take is sent again as a
// re-INVITE) and returns the answer for l. An offer identical to the last
// SDP l sent changes nothing (RFC 3264 §8): it is answered with our last
// answer, without troubling the other leg (session refreshes). The o=
// version alone is not trusted: some endpoints change the SDP without it. When
// the other leg refuses, the relay goes back to the previous SDP (RFC 3261
// §14.1: the session stays as it was) and res is the refusal.
func (c *call) exchange(l *leg, body []byte, method sip.RequestMethod, from sip.Message) (answer []byte, res *sip.Response, err error) {
	x, y := c.legs(l.isA)
	last := x.lastSent()
	if last != nil && bytes.Equal(body, x.lastFrom()) {
		return last, nil, nil
	}
	bx := c.browserOf(x)
	plain := body
	if bx != nil { // a browser's offer on its leg: plain RTP (webrtc.go)
		if plain, err = bx.Reoffer(body); err != nil {
			return nil, nil, err
		}
	}
	sd, st, err := x.acceptOffer(plain)
	if err != nil {
		return nil, nil, err
	}
	offer, err := y.sdpFor(sd)
	if err != nil {
		return nil, nil, err
	}
	prev := x.side.Remote()
	x.heard(st, from)
	ans, ast, res, err := c.offerTo(y, method, offer, sd)
	if err != nil {
		x.side.SetRemote(prev)
		if errors.Is(err, errBadAnswer) {
			c.rollback(y)
		}
		return nil, res, err
	}
	y.heard(ast, res)
	y.keep(res.Body(), offer)
	if answer, err = x.sdpFor(ans); err != nil {
		return nil, nil, err
	}
	if bx != nil { // the browser's answer: WebRTC again (webrtc.go)
		if answer, err = bx.Reanswer(answer); err != nil {
			return nil, nil, err
		}
	}
	x.keep(body, answer)
	c.observeOffer(x, st.Direction) // hold and retrieve (observe.go)
	return answer, res, nil
}

// reoffer sends leg y a re-INVITE offering sd (rewritten through y's
// relay side, leg.sdpFor) and, once it is answered, points y's relay
// side at the answer and keeps both bodies as y's last exchange (RFC 3264
// §8). On failure y is as it was; res is the refusal, when there is one.
func (c *call) reoffer(y *leg, sd *psdp.SessionDescription) (*sip.Response, error) {
	offer, err := y.sdpFor(sd)
	if err != nil {
		return nil, err
	}
	_, st, res, err := c.offerTo(y, sip.INVITE, offer, sd)
	if err != nil {
		return res, err
	}
	y.heard(st, res)
	y.keep(res.Body(), offer)
	return res, nil
}

// offerTo sends offer (sd parsed) on leg y as a re-INVITE or UPDATE,
// ACKs a 2xx to a re-INVITE and returns the checked answer and its audio
// stream (leg.acceptAnswer, RFC 3264 §6). An UPDATE refused with 405 or
// 501 is sent again as a re-INVITE. c is the call whose session timer y
// runs (an attended transfer offers to a leg of another call).
func (c *call) offerTo(y *leg, method sip.RequestMethod, offer []byte, sd *psdp.SessionDescription) (*psdp.SessionDescription, sdp.Stream, *sip.Response, error) {
	req := y.d.newRequest(method)
	req.AppendHeader(sip.NewHeader("Allow", allowInDialog))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	tl := &leg{c: c, d: y.d} // y's timer runs on c
	tl.timerHeaders(req)
	req.SetBody(offer)
	by := c.browserOf(y)
	if by != nil { // towards a browser: WebRTC (webrtc.go)
		wo, err := by.OfferAgain(offer)
		if err != nil {
			return nil, sdp.Stream{}, nil, err
		}
		req.SetBody(wo)
	}
	res, err := c.send(req)
	if err != nil {
		return nil, sdp.Stream{}, nil, err
	}
	if method == sip.UPDATE && (res.StatusCode == 405 || res.StatusCode == 501) {
		return c.offerTo(y, sip.INVITE, offer, sd)
	}
	if res.StatusCode >= 300 {
		return nil, sdp.Stream{}, res, fmt.Errorf("%w: %d %s", errPeerStatus, res.StatusCode, res.Reason)
	}
	if res.StatusCode < 200 {
		return nil, sdp.Stream{}, nil, fmt.Errorf("%s: no final response", method)
	}
	if method == sip.INVITE {
		c.gw.ack2xx(y.d, res)
	}
	refreshTarget(y.d, res)
	tl.timerAnswered(res)
	body := res.Body()
	if by != nil {
		body, err = by.AcceptAgain(body)
	}
	var (
		ans *psdp.SessionDescription
		st  sdp.Stream
	)
	if err == nil {
		ans, st, err = y.acceptAnswer(sd, body)
	}
	if err != nil {
		return nil, sdp.Stream{}, nil, fmt.Errorf("%w: answer to %s: %w", errBadAnswer, method, err)
	}
	return ans, st, res, nil
}

// rollback re-INVITEs leg y back to the session it had before an offer it
// accepted with an unusable answer: the SDP we last sent it, with a new o=
// version (RFC 3264 §8). The offerer gets a 488, so both sides keep what
// they had (RFC 3261 §14.1). A failed rollback is logged: the session on y
// stays as its last 2xx left it.
func (c *call) rollback(y *leg) {
	sd, err := sdp.Parse(y.lastSent())
	if err == nil {
		_, err = c.reoffer(y, sd)
	}
	if err != nil {
		c.gw.log.Info("re-INVITE rollback failed", "call_id", y.callID(), "error", err)
		return
	}
	c.gw.log.Info("re-INVITE rolled back", "call_id", y.callID())
}

// offerInAnswer answers a re-INVITE without SDP (RFC 3261 §14.2, RFC 3264
// §4: the offer goes in the 2xx, the answer in the ACK). The offer is the
// session as it stands: the other leg's last SDP through the relay. The
// other leg is not involved; a changed address or direction in the answer
// re-points the relay.
func (c *call) offerInAnswer(l *leg, req *sip.Request, tx sip.ServerTransaction, hs []sip.Header) {
	x, y := c.legs(l.isA)
	sd, err := sdp.Parse(c.sessionFrom(y)) // a browser's as plain RTP (webrtc.go)
	var offer []byte
	if err == nil {
		offer, err = x.sdpFor(sd)
	}
	if err != nil {
		c.gw.log.Info("re-INVITE without SDP: no session to offer", "call_id", x.callID(), "error", err)
		c.respondIn(tx, req, x.d, 500, "Server Internal Error", "", nil)
		return
	}
	out := c.respondIn(tx, req, x.d, 200, "OK", "application/sdp", offer, hs...)
	ack := c.awaitAck(tx, x.d, out)
	if ack == nil {
		return
	}
	_, st, err := x.acceptAnswer(sd, ack.Body())
	if err != nil {
		// The ACK cannot be refused: keep the session as it was.
		c.gw.log.Info("answer in ACK rejected", "call_id", x.callID(), "error", err)
		return
	}
	x.heard(st, ack)
	x.keep(ack.Body(), offer)
}

// awaitAck waits for the ACK of a 2xx we sent to a re-INVITE on d (or
// to an INVITE with Replaces, a pickup), sending the 2xx again over UDP
// (retransmit: T1 doubling up to T2, RFC 3261 §13.3.1.4). Without an ACK
// for 64*T1 the call ends (same section). It returns the ACK, nil when
// none came.
func (c *call) awaitAck(tx sip.ServerTransaction, d *dialog, res *sip.Response) *sip.Request {
	w := &ackWait{seq: res.CSeq().SeqNo, got: make(chan struct{})}
	c.est.mu.Lock()
	c.est.init()
	c.est.acks[d] = w
	c.est.mu.Unlock()
	defer func() {
		c.est.mu.Lock()
		if c.est.acks[d] == w {
			delete(c.est.acks, d)
		}
		c.est.mu.Unlock()
	}()
	udp := overUDP(res)
	err := retransmit(func() error {
		if udp {
			_ = tx.Respond(res)
		}
		return nil
	}, w.got, c.done)
	if errors.Is(err, errRetransmitTimeout) {
		c.gw.log.Info("no ACK for re-INVITE 2xx", "call_id", d.callID)
		c.end(true, true, errNoAck)
		return nil
	}
	return w.ack()
}

// onAckInDialog takes an ACK for a 2xx we sent to a re-INVITE (or an INVITE
// with Replaces).
func (b *B2BUA) onAckInDialog(l *leg, req *sip.Request) {
	e := &l.c.est
	e.mu.Lock()
	w := e.acks[l.d]
	e.mu.Unlock()
	if cs := req.CSeq(); w != nil && cs != nil && cs.SeqNo == w.seq {
		w.take(req)
	}
}

func overUDP(m interface{ Transport() string }) bool {
	return strings.EqualFold(m.Transport(), "udp")
}
