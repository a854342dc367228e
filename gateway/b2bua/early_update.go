package b2bua

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// UPDATE in early dialogs (RFC 3311 §5.1), relayed from either side to
// the other while the call rings:
//
//   - the caller's early dialog (ours towards it, the To tag of our 18x)
//     and the callee's (the branch whose reliable 18x with SDP we got)
//     are both found by b.early;
//   - an UPDATE without SDP changes nothing here: 200;
//   - an offer is relayed as an UPDATE to the other early dialog through
//     the relay, like a re-INVITE's (reinvite.go), and the answer comes
//     back in our 200; a PRACK from the caller carrying an offer
//     (RFC 3262 §5) goes the same way;
//   - the other side can take an offer only once its initial offer/answer
//     is complete (§5.1): the callee's answer came in a reliable 18x, or
//     the caller acknowledged ours (PRACK) and allows UPDATE. Until then
//     the caller's offer gets 500 with a Retry-After of 0 to 10 s (§5.2);
//     the callee's is answered here (earlyLocalAnswer): most phones do not
//     require 100rel, and a PBX whose early UPDATE fails may hang up;
//   - while another early offer is under way: 491 (§5.2).

// errEarlyNotReady: the other side's early dialog cannot take an offer
// yet (RFC 3311 §5.1).
var errEarlyNotReady = errors.New("b2bua: the other early dialog cannot take an offer yet")

// earlyState is a ringing call's early dialog towards the callee and its
// early offer/answer lock.
type earlyState struct {
	mu   sync.Mutex
	b    *dialog // the callee's early dialog whose answer came reliably
	busy bool    // an early offer is under way (RFC 3311 §5.2)
}

// calleeDialog is the callee's early dialog, nil before a reliable 18x
// with SDP.
func (e *earlyState) calleeDialog() *dialog {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.b
}

// begin marks an early offer as under way; false when one already is.
func (e *earlyState) begin() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.busy {
		return false
	}
	e.busy = true
	return true
}

func (e *earlyState) finish() {
	e.mu.Lock()
	e.busy = false
	e.mu.Unlock()
}

// earlyAnswered is told that d, a branch of a call still ringing, sent a
// reliable 18x with SDP (prack.go): the first such becomes the callee's
// early dialog for the caller's early UPDATEs, and the callee's own are
// found by it.
func (c *call) earlyAnswered(d *dialog) {
	c.est.mu.Lock()
	up := c.est.up
	c.est.mu.Unlock()
	if up || c.a == nil {
		// A transfer target (refer.go: the call placing it has no
		// caller side), not a ringing call's setup.
		return
	}
	c.early.mu.Lock()
	first := c.early.b == nil
	if first {
		c.early.b = d
	}
	c.early.mu.Unlock()
	if !first {
		return
	}
	b := c.gw
	b.mu.Lock()
	if b.early != nil && b.early[c.a.key()] == c { // still ringing
		b.early[d.key()] = c
	}
	b.mu.Unlock()
}

// earlyDialog finds the early dialog req (an UPDATE) belongs to: the
// caller's (isA) or the callee's, from that dialog's peer only (peer.go).
func (b *B2BUA) earlyDialog(req *sip.Request) (c *call, d *dialog, isA bool) {
	to, cid := req.To(), req.CallID()
	if to == nil || cid == nil {
		return nil, nil, false
	}
	tag, _ := to.Params.Get("tag")
	key := dialogKey(string(*cid), tag)
	b.mu.Lock()
	c = b.early[key]
	b.mu.Unlock()
	if c == nil {
		return nil, nil, false
	}
	d, isA = c.a, true
	if c.a.key() != key {
		d, isA = c.early.calleeDialog(), false
		if d == nil || d.key() != key {
			return nil, nil, false
		}
	}
	if err := b.checkPeer(d, req); err != nil {
		b.foreign(req, err)
		return nil, nil, false
	}
	return c, d, isA
}

// earlyUpdate answers an UPDATE in early dialog d of a ringing call
// (RFC 3311 §5.1): 200 without SDP, an offer relayed to the other side.
func (c *call) earlyUpdate(req *sip.Request, tx sip.ServerTransaction, d *dialog, isA bool) {
	c.est.mu.Lock()
	up := c.est.up
	c.est.mu.Unlock()
	if up {
		// Answered by another branch: this early dialog is over (its
		// own was found among the answered call's dialogs before).
		c.respondIn(tx, req, d, 481, "Call/Transaction Does Not Exist", "", nil)
		return
	}
	refreshTarget(d, req)
	if len(req.Body()) == 0 {
		c.respondIn(tx, req, d, 200, "OK", "", nil)
		return
	}
	c.earlyOffer(req, tx, d, isA)
}

// earlyOffer relays the offer in req (an UPDATE, or the caller's PRACK)
// from early dialog x to the other side's and answers req with the
// answer (RFC 3311 §5.1, RFC 3262 §5).
func (c *call) earlyOffer(req *sip.Request, tx sip.ServerTransaction, x *dialog, isA bool) {
	var y *dialog
	if isA {
		y = c.early.calleeDialog()
	} else if c.relA.earlyUpdatable() {
		y = c.a
	}
	if y == nil && !isA {
		c.earlyLocalAnswer(req, tx, x)
		return
	}
	if y == nil {
		c.gw.log.Info("early offer not relayed", "call_id", x.callID, "error", errEarlyNotReady)
		c.respondIn(tx, req, x, 500, "Server Internal Error", "", nil,
			sip.NewHeader("Retry-After", strconv.Itoa(rand.IntN(11))))
		return
	}
	if !c.early.begin() {
		c.respondIn(tx, req, x, 491, "Request Pending", "", nil)
		return
	}
	ans, res, err := c.earlyExchange(isA, y, req.Body(), req)
	c.early.finish() // before the answer: the offerer may go on at once
	if err != nil {
		c.gw.log.Info("early offer failed", "call_id", x.callID, "method", req.Method, "error", err)
		c.relayError(tx, req, x, res, err)
		return
	}
	c.respondIn(tx, req, x, 200, "OK", "application/sdp", ans)
}

// earlyExchange sends the offer body from side isA's early dialog to y as
// an UPDATE through the relay (RFC 3311 §5.1) and returns the answer for
// the offerer. The relay's sides are re-pointed only when it succeeded.
func (c *call) earlyExchange(isA bool, y *dialog, body []byte, from sip.Message) (answer []byte, res *sip.Response, err error) {
	x, yl := c.legs(isA)
	yl = yl.on(y) // the other side's early dialog
	sd, st, err := x.acceptOffer(body)
	if err != nil {
		return nil, nil, err
	}
	offer, err := yl.sdpFor(sd)
	if err != nil {
		return nil, nil, err
	}
	req := y.newRequest(sip.UPDATE)
	req.AppendHeader(sip.NewHeader("Allow", allowEarly))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	res, err = c.send(req)
	if err != nil {
		return nil, nil, err
	}
	if res.StatusCode >= 300 {
		return nil, res, fmt.Errorf("%w: %d %s", errPeerStatus, res.StatusCode, res.Reason)
	}
	if res.StatusCode < 200 {
		return nil, nil, fmt.Errorf("%s: no final response", req.Method)
	}
	refreshTarget(y, res)
	ans, ast, err := yl.acceptAnswer(sd, res.Body())
	if err != nil {
		return nil, nil, fmt.Errorf("answer to an early UPDATE: %w", err)
	}
	x.heard(st, from)
	yl.heard(ast, res)
	if answer, err = x.sdpFor(ans); err != nil {
		return nil, nil, err
	}
	return answer, res, nil
}

// earlyLocalAnswer answers the callee's early offer here, when the
// caller's early dialog cannot take it: the relay anchors the media, so
// the callee's side takes its new address and direction and the caller's
// side stays as it is. The answer keeps the offered formats that the
// caller offered too, in the callee's payload types, with the mirrored
// direction (RFC 3264 §6.1), from the relay's side towards the callee.
func (c *call) earlyLocalAnswer(req *sip.Request, tx sip.ServerTransaction, x *dialog) {
	if !c.early.begin() {
		c.respondIn(tx, req, x, 491, "Request Pending", "", nil)
		return
	}
	ans, err := c.localAnswer(req)
	c.early.finish()
	if err != nil {
		c.gw.log.Info("early offer from the callee refused", "call_id", x.callID, "error", err)
		c.relayError(tx, req, x, nil, err)
		return
	}
	c.gw.log.Debug("early offer from the callee answered here", "call_id", x.callID)
	c.respondIn(tx, req, x, 200, "OK", "application/sdp", ans)
}

// localAnswer is earlyLocalAnswer's SDP work; it re-points the relay's
// callee side.
func (c *call) localAnswer(req *sip.Request) ([]byte, error) {
	_, b := c.legs(true)
	sd, st, err := b.acceptOffer(req.Body())
	if err != nil {
		return nil, err
	}
	caller, err := sdp.AudioStream(c.offerB) // the caller's offer as the callee got it
	if err != nil {
		return nil, err
	}
	if _, err := sdp.Intersect(sd, caller.Codecs); err != nil {
		return nil, err
	}
	if err := sdp.SetDirection(sd, sdp.Mirror(st.Direction)); err != nil {
		return nil, err
	}
	ans, err := b.sdpFor(sd)
	if err != nil {
		return nil, err
	}
	b.heard(st, req)
	return ans, nil
}
