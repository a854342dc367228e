package b2bua

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// Transfers (RFC 3515 REFER, RFC 3891 Replaces, RFC 5589 flows). The
// gateway owns both legs of every call, so it carries a transfer out
// itself instead of passing the REFER on: the transferor's leg (x) is
// replaced by a leg to the transfer target (z), the relay side x used is
// pointed at z, and the transferee (y) is re-INVITEd so that it sends and
// receives again (it is often on hold). The transferor hears of the
// outcome in NOTIFYs with message/sipfrag bodies (RFC 3515 §2.4.4) and
// gets a BYE once the transfer succeeded.

// transferTimeout bounds the INVITE to a transfer target: ringing included.
const transferTimeout = 120 * time.Second

// errTransfer wraps transfer failures for logs.
var errTransfer = errors.New("b2bua: transfer failed")

// parseReferTo reads Refer-To (RFC 3515 §2.1): the target URI, and the
// Replaces of an attended transfer carried as a URI header (RFC 3891 §5).
func parseReferTo(v string) (sip.Uri, *replaces, error) {
	var u sip.Uri
	raw := trimAngle(strings.TrimSpace(v))
	if len(raw) > 4 && strings.EqualFold(raw[:4], "tel:") {
		// A telephone number (RFC 3966): dialled like the user part.
		num, _, _ := strings.Cut(raw[4:], ";")
		if num == "" {
			return u, nil, fmt.Errorf("refer-to %q: empty number", v)
		}
		return sip.Uri{Scheme: "sip", User: num}, nil, nil
	}
	if err := sip.ParseUri(raw, &u); err != nil {
		return u, nil, fmt.Errorf("refer-to %q: %w", v, err)
	}
	if u.User == "" {
		return u, nil, fmt.Errorf("refer-to %q: no user part", v)
	}
	if u.Headers == nil {
		return u, nil, nil
	}
	raw, ok := u.Headers.Get("Replaces")
	if !ok {
		return u, nil, nil
	}
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return u, nil, fmt.Errorf("refer-to replaces %q: %w", raw, err)
	}
	r, err := parseReplaces(dec)
	if err != nil {
		return u, nil, err
	}
	return u, &r, nil
}

// 202, then NOTIFYs) and carries out the transfer: blind to the Refer-To
// number, or attended when Refer-To carries Replaces for another call of
// ours.
func (b *B2BUA) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	l := b.inDialog(req, tx)
	if l == nil {
		return
	}
	c := l.c
	h := req.GetHeader("Refer-To")
	if h == nil {
		h = req.GetHeader("r")
	}
	if h == nil || len(req.GetHeaders("Refer-To")) > 1 {
		c.respondIn(tx, req, l.d, 400, "Bad Request (one Refer-To)", "", nil) // RFC 3515 §2.4.1
		return
	}
	target, rep, err := parseReferTo(h.Value())
	if err != nil {
		c.respondIn(tx, req, l.d, 400, "Bad Request (Refer-To)", "", nil)
		return
	}
	// Policy first (issue 10): a transfer is a new call from the
	// transferor, or the join of two calls it is a party of.
	// A refusal by policy is the REFER's answer; a target that cannot be
	// reached (no route, a number the plan refuses) is told in the NOTIFY,
	// as the outcome of the INVITE it would have been (RFC 3515 §2.4.5).
	var tr transferRoute
	var routeErr error
	if rep == nil {
		if tr, routeErr = c.routeTransfer(l.d, target.User); errors.Is(routeErr, errTransferForbidden) {
			err = routeErr
		}
	} else {
		err = b.mayJoin(l.d, *rep)
	}
	if err != nil {
		code, reason := transferRefusal(err)
		b.log.Info("transfer refused", "call_id", l.d.callID, "transferor", partyName(l.d), "target", target.User, "status", code, "error", err)
		c.respondIn(tx, req, l.d, code, reason, "", nil)
		return
	}
	if !c.est.beginWait(2 * time.Second) {
		c.respondIn(tx, req, l.d, 491, "Request Pending", "", nil)
		return
	}
	defer c.est.finish()
	b.calls.Add(1)
	defer b.calls.Done()
	// From the 202 on, a BYE from the transferor ends its leg only
	// (transferor.go); so does one on the replaced dialog of an attended
	// transfer, when no other transfer holds that call.
	if c.beginTransfer(l.d) {
		defer c.endTransfer()
	}
	var replaced *leg // the leg Replaces names, found before its BYE can take it away
	if rep != nil {
		if replaced = b.lookupReplaces(*rep); replaced != nil && replaced.c != c && replaced.c.beginTransfer(replaced.d) {
			defer replaced.c.endTransfer()
		}
	}
	noSub := false
	if h := req.GetHeader("Refer-Sub"); h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "false") {
		noSub = true
	}
	c.est.mu.Lock()
	c.est.referSeq, c.est.noReferSub = req.CSeq().SeqNo, noSub
	c.est.mu.Unlock()
	if noSub {
		// RFC 4488 §4: no implicit subscription, no NOTIFYs.
		c.respondIn(tx, req, l.d, 202, "Accepted", "", nil, sip.NewHeader("Refer-Sub", "false"))
	} else {
		c.respondIn(tx, req, l.d, 202, "Accepted", "", nil)
	}
	c.notifyRefer(l.d, 100, "Trying", false)
	var referredBy sip.Header
	if rb := req.GetHeader("Referred-By"); rb != nil {
		referredBy = sip.NewHeader("Referred-By", rb.Value()) // RFC 3892
	}
	if rep != nil {
		err = c.attended(l, replaced)
	} else {
		err = c.blind(l, tr, routeErr, referredBy)
	}
	if err != nil {
		b.log.Info("transfer failed", "call_id", l.d.callID, "target", target.User, "error", err)
		return
	}
	c.info.mu.Lock()
	c.info.transferredTo, c.info.attended = target.User, rep != nil
	c.info.mu.Unlock()
	c.observe(CallTransferred, CallEvent{By: l.d.user, Other: target.User}) // observe.go
	b.log.Info("call transferred", "call_id", l.d.callID, "target", target.User, "attended", rep != nil)
}

// notifyRefer sends the transferor a NOTIFY with the status line of the
// INVITE the REFER caused (RFC 3515 §2.4.4, §2.4.5); final ends the
// implicit subscription (RFC 3515 §2.4.7, RFC 6665 §4.1.3).
func (c *call) notifyRefer(d *dialog, code int, reason string, final bool) {
	c.est.mu.Lock()
	id, noSub := c.est.referSeq, c.est.noReferSub
	c.est.mu.Unlock()
	if noSub {
		return
	}
	n := d.newRequest(sip.NOTIFY)
	n.AppendHeader(sip.NewHeader("Event", "refer;id="+strconv.FormatUint(uint64(id), 10)))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	n.AppendHeader(sip.NewHeader("Subscription-State", state))
	n.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	n.SetBody(fmt.Appendf(nil, "SIP/2.0 %d %s\r\n", code, reason))
	res, err := c.send(n)
	if err != nil {
		c.gw.log.Debug("NOTIFY failed", "call_id", d.callID, "error", err)
		return
	}
	if res.StatusCode == 481 {
		// RFC 5057 §5.6: the subscription usage is over, not the call:
		// no more NOTIFYs for this REFER.
		c.est.mu.Lock()
		c.est.noReferSub = true
		c.est.mu.Unlock()
		c.gw.log.Debug("NOTIFY 481: refer subscription ended", "call_id", d.callID)
		return
	}
	if res.StatusCode >= 300 {
		c.gw.log.Debug("NOTIFY refused", "call_id", d.callID, "status", res.StatusCode)
	}
}

// failTransfer tells the transferor the transfer failed with code; its
// call goes on as it was (RFC 5589 §6: it may take the transferee back).
// When the transferor hung up meanwhile, the transferee is alone: its
// call ends with a BYE saying why (transferor.go).
func (c *call) failTransfer(x *dialog, code int, reason string, err error) error {
	c.notifyRefer(x, code, reason, true)
	if c.transferorGone(x) && !c.parkedOn(x) { // a parked call stays parked (park.go)
		if y := c.otherLeg(x); y != nil {
			c.abandonTransfer(y, code, reason, err)
		}
	}
	return fmt.Errorf("%w: %d %s: %w", errTransfer, code, reason, err)
}

// blind carries out a blind transfer (RFC 5589 §6): a new call from the
// transferee's side to target, routed like any dialled number; on its
// answer the transferor's leg is replaced by it.
func (c *call) blind(l *leg, tr transferRoute, routeErr error, referredBy sip.Header) error {
	gw := c.gw
	x, y := c.legs(l.isA)
	if routeErr != nil {
		code, reason := transferRefusal(routeErr)
		return c.failTransfer(x.d, code, reason, routeErr)
	}
	// The target z takes x's place: x's relay side, an origin of its own.
	z := x.taking(nil, sdp.NewOrigin())
	sd, offer, err := z.freshOffer(c.sessionFrom(y)) // a browser's as plain RTP (webrtc.go)
	if err != nil {
		return c.failTransfer(x.d, 488, "Not Acceptable Here", err)
	}
	var extra []sip.Header
	if referredBy != nil {
		extra = append(extra, referredBy)
	}
	ctx, cancel := context.WithTimeout(gw.ctx, transferTimeout)
	defer cancel()
	go func() { // the transferee hanging up ends the attempt
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	// While the target rings, the transferee hears its early media
	// through x's relay side (transferor.go), or the gateway's own
	// ringback when it rings without (ringback.go).
	prevX := x.side.Remote()
	rb := c.newRingback(y)
	defer rb.stop()
	early := func(r *sip.Response) bool {
		heard := z.earlyMedia(sd, r)
		rb.provisional(r, heard)
		return heard
	}
	lost := func(ringing bool) {
		// The early media's branch failed (ringback_fork.go): what the
		// transferor's side relayed before it, and the tone again while
		// another branch rings (RFC 3960 §3).
		x.side.SetRemote(prevX)
		rb.earlyLost(ringing)
	}
	zb, bl, final, err := c.placeJoining(ctx, tr, x.side, transferee(y.d), offer, extra, early, lost)
	rb.stop() // answered, failed or given up: the tone ends at once
	if err != nil {
		x.side.SetRemote(prevX)
		code, reason := 500, "Server Internal Error"
		if final != nil {
			code, reason = final.StatusCode, final.Reason
		}
		return c.failTransfer(x.d, code, reason, err)
	}
	zd := zb.d
	z.d = zd
	_, st, err := z.acceptAnswer(sd, final.Body())
	if err != nil {
		x.side.SetRemote(prevX)
		c.sendBye(zd)
		if bl != nil {
			go bl.Close()
		}
		return c.failTransfer(x.d, 488, "Not Acceptable Here", err)
	}
	z.heard(st, final)
	// z is listed on c (swap) before the transferee's re-INVITE, which may
	// take a while: a BYE from z meanwhile must find its dialog (not 481)
	// and end the call, and a 2xx of z sent again must be ACKed on it.
	ok, gone := c.swap(x.d, zd, l.isA, z.origin)
	if !ok {
		x.side.SetRemote(prevX)
		c.sendBye(zd)
		if bl != nil {
			go bl.Close()
		}
		return fmt.Errorf("%w: the call ended meanwhile", errTransfer)
	}
	c.adoptBrowser(bl, zd.callID, l.isA, x.side) // a browser target: its leg now on c (webrtc.go)
	z.keep(final.Body(), offer)
	z.armTimer(c.gw.timerConf().negotiateUAC(final, zb.inv)) // the answered INVITE's Min-SE (raised after a 422, RFC 4028 §7.4)
	c.resumeTransferee(y, final.Body())
	c.notifyRefer(x.d, final.StatusCode, final.Reason, true)
	if !c.release(x.d) && !gone {
		c.sendBye(x.d, sip.NewHeader("Reason", reasonTransferred))
	}
	return nil
}

// placeTransfer sends the INVITE to a transfer target as any dialled
// number goes (route.go), built as call setup builds it (newInviteB,
// contactBranch) with the transferee as the caller: a trunk, with
// failover, or every registered device of a local user in parallel, the
// first 2xx winning and the others cancelled (the fork of call setup,
// fork.go). early, when set, takes each provisional and reports whether
// its early media is now heard; lost, when set, learns that the branch
// whose early media was heard failed, and whether another still rings
// (ringback_fork.go). A trunk's 401/407 is answered with its credentials
// (trunkauth.go) and a 422 sent again with the Min-SE it asks for (RFC
// 4028 §7.3, redirect.go), as call setup does (ring.go). It returns the
// branch that answered (its ACKed dialog, and the INVITE it answered:
// the one sent last) and its 2xx; on failure the final response, when
// there is one, says why.
func (c *call) placeTransfer(ctx context.Context, tr transferRoute, from caller, offer []byte, extra []sip.Header,
	early func(*sip.Response) bool, lost func(ringing bool)) (*branch, *sip.Response, error) {
	br, _, res, err := c.placeJoining(ctx, tr, nil, from, offer, extra, early, lost)
	return br, res, err
}

// placeJoining is placeTransfer for a target that joins relay side join
// of c (nil: none; a browser's branch is then refused): a browser's
// branch gets a WebRTC offer bridged to join, and when a browser answers,
// its leg comes back with its 2xx made plain RTP, for the caller to
// record on c and attach to join (adoptBrowser) or close.
func (c *call) placeJoining(ctx context.Context, tr transferRoute, join *relay.Side, from caller, offer []byte, extra []sip.Header,
	early func(*sip.Response) bool, lost func(ringing bool)) (*branch, *webrtc.Leg, *sip.Response, error) {
	gw := c.gw
	fail := func(code int, reason string, err error) (*branch, *webrtc.Leg, *sip.Response, error) {
		return nil, nil, &sip.Response{StatusCode: code, Reason: reason}, err
	}
	tgt := tr.tgt
	// A call of its own for the fork: the transferee as caller, our offer.
	tc := &call{gw: gw, from: from, num: tr.num, mf: 70, bodyB: offer,
		ackc: make(chan struct{}), done: make(chan struct{})}
	tc.rtc.join = join
	defer tc.closeBrowsers() // the legs of browsers that did not answer
	f := newFork(tc)
	f.earlyLost = lost
	if tgt.trunk != nil {
		res, err := f.sendTrunk(ctx, tgt.trunk, tc.newInviteB(tgt.trunk.Name(), tr.out, extra...))
		if err != nil {
			if r := failedWith(res); r != nil {
				return nil, nil, r, err
			}
			return fail(503, "Service Unavailable", err)
		}
	} else if err := f.sendContacts(ctx, tgt.user, tgt.contacts, extra...); err != nil {
		return fail(480, "Temporarily Unavailable", err)
	}
	br, res, err := f.run(forkWait{
		ctx: ctx, // the transferee left, or too long: CANCEL (RFC 3261 §9.1)
		provisional: func(br *branch, res *sip.Response) {
			tc.prackEarly(br, res) // the early dialog, PRACK (RFC 3262 §4)
			if err := tc.browserEarly(br, res); err != nil {
				gw.log.Info("transfer target's early media: unusable WebRTC SDP", "call_id", br.inv.CallID().Value(), "error", err)
				return
			}
			if early != nil && early(res) {
				f.early = br
			}
		},
		challenged: func(br *branch, res *sip.Response) bool { return tc.reauth(ctx, f, br, res) },
		refused: func(br *branch, res *sip.Response) {
			if res.StatusCode == 422 {
				tc.retrySessionInterval(ctx, f, br, res)
			}
		},
	})
	switch {
	case br != nil:
		bl, err := tc.browserWon(br, res)
		if err != nil { // the browser's answer cannot be bridged
			c.sendBye(br.d, sip.NewHeader("Reason", `SIP;cause=488;text="unusable answer"`))
			return fail(488, "Not Acceptable Here", err)
		}
		return br, bl, res, nil
	case res == nil:
		return fail(408, "Request Timeout", err)
	}
	return nil, nil, res, err
}

// transferee is the caller of the call a transfer places: the party at
// y's far end, as the user it proved to be, else the number it presented
// (a trunk's caller).
func transferee(y *dialog) caller {
	if y.user != "" {
		return caller{user: y.user}
	}
	return caller{number: y.remote.User, trunk: y.trunk}
}

// freshOffer makes an offer for l's far end from a party's last SDP:
// sending and receiving (a transferee is often on hold, RFC 3264 §8.4),
// our codecs, through l's relay side with l's origin.
func (l *leg) freshOffer(from []byte) (*psdp.SessionDescription, []byte, error) {
	sd, _, err := l.acceptOffer(from)
	if err != nil {
		return nil, nil, err
	}
	if err := sdp.SetDirection(sd, psdp.DirectionSendRecv); err != nil {
		return nil, nil, err
	}
	out, err := l.sdpFor(sd)
	if err != nil {
		return nil, nil, err
	}
	return sd, out, nil
}

// resumeTransferee re-INVITEs the transferee y with the new party's SDP
// (through y's relay side) so that it sends and receives again with a
// codec the new party has. A failure leaves y as it was: if y was not on
// hold, media flows anyway.
func (c *call) resumeTransferee(y *leg, partySDP []byte) {
	sd, err := sdp.Parse(partySDP)
	if err == nil {
		err = sdp.SetDirection(sd, psdp.DirectionSendRecv)
	}
	if err == nil {
		_, err = c.reoffer(y, sd)
	}
	if err != nil {
		c.gw.log.Info("transferee not re-INVITEd", "call_id", y.callID(), "error", err)
	}
}

// swap puts leg z in the place of x on the call (isA: x was the A leg),
// with z's origin, and ends the transfer under way (transferor.go): gone
// says the transferor hung up meanwhile (no BYE for it then). ok is
// false when x is no longer a leg of the call (the call ended
// meanwhile).
func (c *call) swap(x, z *dialog, isA bool, org *sdp.Origin) (ok, gone bool) {
	b := c.gw
	b.mu.Lock()
	defer b.mu.Unlock()
	other := c.a
	if isA {
		other = c.b
	}
	c.est.mu.Lock()
	gone = c.est.xfer != nil && c.est.xfer.x == x && c.est.xfer.gone
	c.est.mu.Unlock()
	if l := b.dialogs[x.key()]; (l == nil || l.c != c) && !gone {
		return false, false
	}
	if l := b.dialogs[other.key()]; l == nil || l.c != c {
		return false, gone // the call ended
	}
	c.est.mu.Lock()
	run := c.est.xfer
	if run != nil && run.x == x {
		// The transferor's dialog stays listed until release: its BYE
		// while the transferee is re-INVITEd ends its leg only (200, not
		// 481), and tells release it needs no BYE of ours.
		run.swapped = true
	} else {
		delete(b.dialogs, x.key())
	}
	c.est.mu.Unlock()
	if isA {
		c.a, c.originA = z, org
	} else {
		c.b, c.originB = z, org
	}
	zl, ol := c.legsLocked(isA)
	b.dialogs[z.key()] = zl
	b.dialogs[other.key()] = ol
	c.est.mu.Lock()
	if lt := c.est.timers[x]; lt != nil && lt.t != nil {
		lt.t.Stop()
	}
	delete(c.est.timers, x)
	delete(c.est.from, x)
	delete(c.est.sent, x)
	delete(c.est.seq, x)
	c.est.mu.Unlock()
	return true, gone
}

// release ends the transfer that swap carried out on c: the transferor's
// dialog x is no longer listed, and gone says whether its BYE came
// meanwhile (then it gets none from us).
func (c *call) release(x *dialog) (gone bool) {
	b := c.gw
	b.mu.Lock()
	if l := b.dialogs[x.key()]; l != nil && l.c == c && l.d == x {
		delete(b.dialogs, x.key())
	}
	b.mu.Unlock()
	c.est.mu.Lock()
	defer c.est.mu.Unlock()
	run := c.est.xfer
	gone = run != nil && run.x == x && run.gone
	c.est.xfer = nil
	return gone
}

// attended carries out an attended transfer (RFC 5589 §7): the REFER on
// call c names, with Replaces, a leg r of another call of ours (the
// transferor's leg there). The far party w of that call takes the place of
// the transferor's leg x on c; the transferor's legs on both calls end.
// r is nil when the Replaces named no dialog of ours.
func (c *call) attended(l *leg, r *leg) error {
	x, y := c.legs(l.isA)
	if r == nil {
		return c.failTransfer(x.d, 481, "Call/Transaction Does Not Exist", ErrNoDialog)
	}
	c2 := r.c
	if c2 == c {
		return c.failTransfer(x.d, 403, "Forbidden", errors.New("replaces names the call of the REFER"))
	}
	if !c2.est.beginWait(2 * time.Second) {
		return c.failTransfer(x.d, 491, "Request Pending", errors.New("the other call is busy"))
	}
	defer c2.est.finish()
	_, w2 := c2.legs(r.isA)
	// w, the far party of c2, takes x's place on c: x's relay side, its
	// own origin (its dialog goes on, RFC 3264 §8).
	w := x.taking(w2.d, w2.origin)
	sd, offer, err := w.freshOffer(c.sessionFrom(y)) // a browser's as plain RTP (webrtc.go)
	if err != nil {
		return c.failTransfer(x.d, 488, "Not Acceptable Here", err)
	}
	_, st, res, err := c2.offerTo(w, sip.INVITE, offer, sd)
	if err != nil {
		code, reason := 500, "Server Internal Error"
		if res != nil {
			code, reason = res.StatusCode, res.Reason
		}
		return c.failTransfer(x.d, code, reason, err)
	}
	wt := w2.timer() // w's session timer, as agreed with it, moves with it
	// The other call ends towards the transferor only (unless it hung up
	// that leg already): w moves to c.
	byeR := !c2.transferorGone(r.d)
	c2.end(byeR && r.d == c2.dialogA(), byeR && r.d != c2.dialogA(), nil)
	prevX := x.side.Remote()
	w.heard(st, res)
	// w is listed on c (swap) before the transferee's re-INVITE, which may
	// take a while: c2.end took w's dialog off the list, and a 2xx of w's
	// re-INVITE sent again meanwhile must find it (stray.go).
	ok, gone := c.swap(x.d, w.d, l.isA, w.origin)
	if !ok {
		x.side.SetRemote(prevX)
		c.sendBye(w.d)
		return fmt.Errorf("%w: the call ended meanwhile", errTransfer)
	}
	w.keep(res.Body(), offer)
	w.armTimer(wt)
	c.resumeTransferee(y, res.Body())
	c.notifyRefer(x.d, 200, "OK", true)
	if !c.release(x.d) && !gone {
		c.sendBye(x.d, sip.NewHeader("Reason", reasonTransferred))
	}
	return nil
}

// dialogA is the call's A leg, read under the B2BUA's lock (a transfer
// may change it).
func (c *call) dialogA() *dialog {
	c.gw.mu.Lock()
	defer c.gw.mu.Unlock()
	return c.a
}
