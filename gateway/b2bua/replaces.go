package b2bua

import (
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// INVITE with Replaces (RFC 3891): naming a dialog, finding it, and taking
// its place. Who may do it is refer_policy.go's (§7).

// replaces is a dialog named by Replaces (RFC 3891 §6.1).
type replaces struct {
	callID, toTag, fromTag string
	earlyOnly              bool
}

// parseReplaces reads a Replaces value: call-id;to-tag=..;from-tag=..
func parseReplaces(v string) (replaces, error) {
	parts := strings.Split(strings.TrimSpace(v), ";")
	r := replaces{callID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			r.toTag = val
		case "from-tag":
			r.fromTag = val
		case "early-only":
			r.earlyOnly = true
		}
	}
	if r.callID == "" || r.toTag == "" || r.fromTag == "" {
		return replaces{}, fmt.Errorf("replaces %q: call-id, to-tag and from-tag are required (RFC 3891 §6.1)", v)
	}
	return r, nil
}

// lookupReplaces finds the leg a Replaces names. The tags are read from
// either end's point of view: ours is the one our dialog key holds.
func (b *B2BUA) lookupReplaces(r replaces) *leg {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := b.dialogs[dialogKey(r.callID, r.toTag)]; l != nil && l.d.remoteTag == r.fromTag {
		return l
	}
	if l := b.dialogs[dialogKey(r.callID, r.fromTag)]; l != nil && l.d.remoteTag == r.toTag {
		return l
	}
	return nil
}

// onRefer takes a REFER from a leg of an answered call (RFC 3515 §2.4.2:
// onReplaces takes an INVITE with Replaces (RFC 3891 §3) for a leg x of
// one of our calls: the new caller n takes x's place. Its offer goes to
// the other party y as a re-INVITE, y's answer comes back in our 2xx, and
// x gets a BYE. Unknown dialogs get 481; early-only or a dialog not yet
// answered, 486 (§3).
func (b *B2BUA) onReplaces(req *sip.Request, tx sip.ServerTransaction) {
	rep, err := parseReplaces(req.GetHeader("Replaces").Value())
	if err != nil {
		b.respond(tx, req, 400, "Bad Request (Replaces)", nil)
		return
	}
	if len(req.GetHeaders("Replaces")) > 1 {
		b.respond(tx, req, 400, "Bad Request (one Replaces)", nil) // RFC 3891 §3
		return
	}
	// Only a party of the replaced dialog may replace it (RFC 3891 §7,
	// refer_policy.go): the far end of one of its call's legs, by address,
	// or a user authenticated as one of them. Others authenticate first,
	// so that the 481 tells strangers nothing about our dialogs.
	r := b.lookupReplaces(rep)
	asPeer := r != nil && b.partyOf(r, "", sourceOf(req))
	// An early dialog of ours: a directed pickup (pickup.go), from the
	// caller's own address without credentials.
	var pk pickable
	var pkCh chan *pickupReq
	early := false
	if r == nil {
		pk, pkCh, early = b.lookupPickable(rep)
		asPeer = early && b.mayPickUp(pk, "", req) == nil
	}
	user := ""
	if !asPeer {
		u, ok := b.authenticate(req, tx)
		if !ok {
			return
		}
		user = u
	}
	if early {
		b.onPickup(req, tx, user, pk, pkCh)
		return
	}
	if r == nil {
		b.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil) // §3: also an early dialog we did not initiate
		return
	}
	if !asPeer && !b.partyOf(r, user, nil) {
		b.log.Info("Replaces refused: not a party of the dialog", "user", user, "from", req.Source(), "call_id", rep.callID)
		b.respond(tx, req, 403, "Forbidden", nil)
		return
	}
	if rep.earlyOnly {
		b.respond(tx, req, 486, "Busy Here", nil)
		return
	}
	c := r.c
	if !c.est.beginAnswered(time.Second) {
		b.respond(tx, req, 491, "Request Pending", nil)
		return
	}
	defer c.est.finish()
	b.calls.Add(1)
	defer b.calls.Done()
	b.respond(tx, req, 100, "Trying", nil)
	n := newUASDialog(req, b.dialogTag(req), b.o.Contact(req.Transport()))
	n.user = user
	x, y := c.legs(r.isA)
	// n takes x's place: x's relay side, an origin of its own.
	nl := x.taking(n, sdp.NewOrigin())
	sd, st, err := nl.acceptOffer(req.Body())
	var offer []byte
	if err == nil {
		offer, err = y.sdpFor(sd)
	}
	if err != nil {
		b.fail(tx, req, n.localTag, err)
		return
	}
	prevX := x.side.Remote()
	nl.heard(st, req)
	ans, ast, res, err := c.offerTo(y, sip.INVITE, offer, sd)
	if err != nil {
		x.side.SetRemote(prevX)
		if res != nil {
			b.fail(tx, req, n.localTag, &statusError{res.StatusCode, res.Reason})
		} else {
			b.fail(tx, req, n.localTag, err)
		}
		return
	}
	y.heard(ast, res)
	answer, err := nl.sdpFor(ans)
	if err != nil {
		b.fail(tx, req, n.localTag, err)
		return
	}
	if ok, _ := c.swap(x.d, n, r.isA, nl.origin); !ok {
		b.fail(tx, req, n.localTag, ErrNoDialog)
		return
	}
	lt := b.timerConf().negotiateUAS(req)
	nl.keep(req.Body(), answer)
	y.keep(res.Body(), offer)
	c.est.mu.Lock()
	if cs := req.CSeq(); cs != nil {
		c.est.seq[n] = cs.SeqNo
	}
	c.est.mu.Unlock()
	nl.armTimer(lt)
	out := b.answerNew(tx, req, n, lt, answer)
	go c.sendBye(x.d)
	b.log.Info("call leg replaced", "call_id", x.callID(), "by", n.callID)
	c.awaitAck(tx, n, out)
}
