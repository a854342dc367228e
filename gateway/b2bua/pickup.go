package b2bua

import (
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Directed call pickup (BLF pickup): an INVITE with Replaces naming an
// early dialog of ours (RFC 3891 §3). Only an early dialog the gateway
// initiated may be replaced — a branch of a call's setup that rings at a
// device (the B side, our UAC dialog); one we did not initiate (a caller
// still waiting for our answer) gets 481 as §3 says. The ringing branches
// are cancelled ("Call completed elsewhere", RFC 3326), the new INVITE
// becomes the call's B leg, and the caller gets our 2xx.
//
// Who may pick a call up (issue 10's rule kept, refer_policy.go): a party
// of the call (its caller, by address or user, or the called user's own
// devices), and, when Options.Pickup allows it, any other authenticated
// local user, for a call ringing at a local user's devices (not one
// ringing on a trunk) — what BLF pickup is. Strangers and unauthenticated
// sources get 403 (after 407 for the unauthenticated).

// errPickupRefused: the requester may not pick this call up (403).
var errPickupRefused = errors.New("b2bua: pickup not allowed")

// pickable is an early dialog of a ringing call that may be picked up:
// a fork branch's dialog once a provisional gave it a To tag.
type pickable struct {
	c         *call
	remoteTag string
	callee    string // the called user whose device rings ("" for a trunk)
}

// pickupReq is an INVITE with Replaces handed to the ringing call's ring
// loop; the loop answers on reply: the SDP answer for the picker and the
// new dialog, or an error.
type pickupReq struct {
	req   *sip.Request
	user  string // the picker's authenticated user ("" when none)
	reply chan pickupReply
}

type pickupReply struct {
	n      *dialog
	answer []byte
	lt     *legTimer // the session timer agreed with the picker (RFC 4028 §9)
	err    error
}

// openPickup registers c's ring loop for pickups; closePickup undoes it
// and forgets c's pickable dialogs.
func (b *B2BUA) openPickup(c *call) chan *pickupReq {
	ch := make(chan *pickupReq, 1)
	b.mu.Lock()
	if b.pickCh == nil {
		b.pickCh, b.pickable = map[*call]chan *pickupReq{}, map[string]pickable{}
	}
	b.pickCh[c] = ch
	b.mu.Unlock()
	return ch
}

func (b *B2BUA) closePickup(c *call) {
	b.mu.Lock()
	ch := b.pickCh[c]
	delete(b.pickCh, c)
	for k, p := range b.pickable {
		if p.c == c {
			delete(b.pickable, k)
		}
	}
	b.mu.Unlock()
	select {
	case pr := <-ch: // a pickup that came as the call stopped ringing
		pr.reply <- pickupReply{err: ErrNoDialog}
	default:
	}
}

// notePickable records br's early dialog as one a pickup may name.
func (b *B2BUA) notePickable(c *call, br *branch) {
	d := br.d
	if d.remoteTag == "" {
		return
	}
	b.mu.Lock()
	if b.pickCh[c] != nil {
		b.pickable[d.key()] = pickable{c: c, remoteTag: d.remoteTag, callee: br.user}
	}
	b.mu.Unlock()
}

// lookupPickable finds the ringing call whose early dialog r names, with
// the tags read from either end's point of view.
func (b *B2BUA) lookupPickable(r replaces) (pickable, chan *pickupReq, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range [][2]string{{r.toTag, r.fromTag}, {r.fromTag, r.toTag}} {
		if p, ok := b.pickable[dialogKey(r.callID, k[0])]; ok && p.remoteTag == k[1] {
			return p, b.pickCh[p.c], true
		}
	}
	return pickable{}, nil, false
}

// mayPickUp applies the pickup policy to a requester: user (authenticated,
// or "") from source req.
func (b *B2BUA) mayPickUp(p pickable, user string, req *sip.Request) error {
	c := p.c
	b.mu.Lock()
	a := c.a
	b.mu.Unlock()
	if a != nil {
		if user != "" && a.user == user {
			return nil // the caller itself (another of its devices)
		}
		for _, ap := range a.peerAddrs() {
			for _, s := range sourceOf(req) {
				if ap == s {
					return nil // from where the caller is
				}
			}
		}
	}
	switch {
	case user != "" && user == p.callee:
		return nil // another device of the called user
	case user != "" && b.live().Pickup && p.callee != "":
		return nil // a local user's BLF pickup of a local user's call (call_policy.pickup)
	case user == "":
		return fmt.Errorf("%w: an unauthenticated source may pick up only its own calls", errPickupRefused)
	}
	return fmt.Errorf("%w: %s is not a party of the call and pickup is off", errPickupRefused, user)
}

// onPickup takes an INVITE with Replaces for the early dialog p of a
// ringing call (onReplaces found no confirmed dialog): policy, then the
// ring loop connects it, then our 2xx and its ACK.
func (b *B2BUA) onPickup(req *sip.Request, tx sip.ServerTransaction, user string, p pickable, ch chan *pickupReq) {
	if err := b.mayPickUp(p, user, req); err != nil {
		b.log.Info("pickup refused", "user", user, "from", req.Source(), "error", err)
		b.respond(tx, req, 403, "Forbidden", nil)
		return
	}
	b.respond(tx, req, 100, "Trying", nil)
	pr := &pickupReq{req: req, user: user, reply: make(chan pickupReply, 1)}
	select {
	case ch <- pr:
	default:
		b.respond(tx, req, 491, "Request Pending", nil) // another pickup won
		return
	}
	var rep pickupReply
	select {
	case rep = <-pr.reply:
	case <-time.After(10 * time.Second):
		rep.err = errors.New("the ringing call did not take the pickup")
	case <-b.ctx.Done():
		rep.err = b.ctx.Err()
	}
	if rep.err != nil {
		b.fail(tx, req, b.dialogTag(req), rep.err)
		return
	}
	c := p.c
	out := b.answerNew(tx, req, rep.n, rep.lt, rep.answer)
	b.log.Info("call picked up", "call_id", c.a.callID, "by", user, "callee", p.callee)
	c.awaitAck(tx, rep.n, out)
}

// pickedUp connects a pickup in the ring loop: the picker's offer,
// limited to the codecs offered on the B side, answers the caller, and
// the branches that rang are cancelled. The call is then up, like
// answer2xx, and pickedUp returns true once it ended; false when the
// pickup's offer was unusable (the picker gets 488, the call rings on).
func (c *call) pickedUp(f *fork, pr *pickupReq, req *sip.Request, tx sip.ServerTransaction) bool {
	gw := c.gw
	_, b := c.legs(true)
	// The picker's offer, limited to what the callee was offered, is the
	// answer to the caller's offer (answer: B side pointed at the picker)
	// and, from the relay's B side, our answer to the picker.
	offered, err := sdp.AudioStream(c.offerB)
	codecs := offered.Codecs
	// A reliable 18x with SDP gave the caller its answer already (RFC
	// 3262 §5): the offer/answer is complete, our 2xx repeats that answer
	// (RFC 3261 §13.2.1, RFC 6337 §3.1.1) and the picker must take the
	// codecs it chose, which the caller sends.
	fixed, fixedOut := c.earlyAnswerFixed()
	if err == nil && fixed != nil {
		var told sdp.Stream
		if told, err = sdp.AudioStream(fixed); err == nil {
			codecs = told.Codecs
		}
	}
	var sd *psdp.SessionDescription
	if err == nil {
		sd, _, err = b.acceptOffer(pr.req.Body())
	}
	if err == nil {
		_, err = sdp.Intersect(sd, codecs)
	}
	var pbody []byte
	if err == nil {
		pbody, err = sd.Marshal()
	}
	var toA []byte
	if err == nil {
		toA, err = c.answer(pbody, pr.req) // points the B side at the picker
	}
	if err == nil && fixed != nil {
		toA = fixedOut
	}
	var toP []byte
	if err == nil {
		var sp *psdp.SessionDescription
		if sp, err = sdp.Parse(pbody); err == nil {
			toP, err = b.sdpFor(sp)
		}
	}
	if err != nil {
		gw.log.Info("pickup refused: its offer is unusable", "call_id", c.a.callID, "error", err)
		pr.reply <- pickupReply{err: err}
		return false
	}
	c.tone.stop()     // the picker is heard now (ringback_fork.go)
	gw.closePickup(c) // one pickup only
	f.cancel(nil, reasonElsewhere)
	f.drain(nil)
	n := newUASDialog(pr.req, gw.dialogTag(pr.req), gw.o.Contact(pr.req.Transport()))
	n.user = pr.user
	c.b = n
	c.info.mu.Lock()
	c.info.answeredBy = pr.user
	c.info.mu.Unlock()
	c.relA.waitBefore2xx(c.done)
	c.answered = time.Now()
	c.admitAnswered()
	gw.addDialogs(c)
	sent := c.respondA(tx, req, 200, "OK", toA)
	resB := sip.NewResponseFromRequest(pr.req, 200, "OK", pbody)
	c.startTimers(sent, resB, nil)
	c.keepAckAnswer() // a late offer answered in the PRACK (lateoffer.go)
	c.est.mu.Lock()
	c.est.sent[n] = toP
	if cs := pr.req.CSeq(); cs != nil {
		c.est.seq[n] = cs.SeqNo
	}
	c.est.mu.Unlock()
	lt := c.gw.timerConf().negotiateUAS(pr.req)
	b.on(n).armTimer(lt)
	pr.reply <- pickupReply{n: n, answer: toP, lt: lt}
	if udpTransport(req.Transport()) {
		go c.retransmit2xx(tx, sent)
	}
	c.media.ArmTimeout()
	c.observe(CallAnswered, CallEvent{Target: pr.user}) // observe.go
	c.wait()
	return true
}

// earlyAnswerFixed is the session the caller agreed to in its early
// dialog, when the initial offer/answer completed there (RFC 3262 §5):
// the answer we sent in a reliable 18x, or, for a late offer, the
// caller's answer in its PRACK to our offer in one (lateoffer.go); out is
// the SDP our 2xx repeats (RFC 3261 §13.2.1). nil when the caller has no
// answer yet or got it in an unreliable 18x, which the 2xx may still
// change.
func (c *call) earlyAnswerFixed() (agreed *psdp.SessionDescription, out []byte) {
	var body []byte
	switch early := c.late.earlyAnswered(); {
	case early != nil:
		c.est.mu.Lock()
		body = c.late.answer
		c.est.mu.Unlock()
		out = early
	case c.relA.on && !c.late.on && c.earlyA != nil:
		body, out = c.earlyA, c.earlyA
	default:
		return nil, nil
	}
	sd, err := sdp.Parse(body)
	if err != nil {
		return nil, nil
	}
	return sd, out
}
