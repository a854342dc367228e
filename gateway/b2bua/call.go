package b2bua

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/sipauth"
	"github.com/switchboard-gw/switchboard/gateway/sipserver"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// call is one call: the A leg (caller), the B leg (the callee that
// answered: a trunk or one device of a local user) and the media session
// between them. Every answered call ends through end.
type call struct {
	gw    *B2BUA
	from  caller // who called: a user, or a trunk calling in
	num   string // dialled number
	mf    int    // Max-Forwards for the B leg (loop.go)
	a, b  *dialog
	media *relay.Session

	offerB   *psdp.SessionDescription // the offer as sent on the B leg
	bodyB    []byte                   // its bytes, for every branch
	originA  *sdp.Origin
	originB  *sdp.Origin
	rang     bool       // a ringing provisional went to the caller
	earlyA   []byte     // the last SDP answer sent to the caller in a 18x
	tone     *ringback  // the caller's ringback once it heard early media (ringback_fork.go)
	relA     reliableA  // reliable provisionals towards the caller (prack.go)
	early    earlyState // early dialogs: UPDATE relayed (early_update.go)
	diverted *diversion // set once the call was diverted (divert.go)
	adm      admission  // tickets of the admission policy (policy.go)
	info     cdrInfo
	est      established // after the answer: re-INVITE, transfer, timers (indialog.go)
	late     lateOffer   // the INVITE came without SDP (lateoffer.go)
	rtc      rtcState    // WebRTC legs (webrtc.go)
	dtmfq    dtmfQueue   // INFO DTMF sent as RFC 4733 (dtmf.go)
	ackOnce  sync.Once
	ackc     chan struct{}
	endOnce  sync.Once
	done     chan struct{}
	started  time.Time
	answered time.Time

	// cancelReason is the Reason of the caller's CANCEL, for the
	// branches' CANCELs (reason.go); written before cancelled closes.
	cancelReason string
	// redirect is what the call followed of 3xx and 422 (redirect.go).
	redirect redirectState
	// ref is the call's ID for observers and control (observe.go).
	ref string
	// held: the legs whose far end holds the call (observe.go), under est.mu.
	held map[*dialog]bool
	// clear takes Hangup's Reason while the call rings (control.go);
	// ringUser is the local user rung, under info.mu.
	clear    chan string
	deflect  chan deflectReq
	ringUser string
	setup    setupTimes // what of the setup was observed (observe_ladder.go)
}

func (c *call) acked() { c.ackOnce.Do(func() { close(c.ackc) }) }

// callerName is the caller for logs and the CDR: the user, or the
// number a trunk presented.
func (c *call) callerName() string {
	if c.from.user != "" {
		return c.from.user
	}
	return c.from.number
}

// onInvite handles an INVITE outside a dialog: loop and Max-Forwards
// checks, authentication (or a trunk calling in), routing, the B leg, the
// answer relayed (RFC 3261 §13.3).
func (b *B2BUA) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		b.onReinvite(req, tx) // RFC 3261 §14.2 (reinvite.go)
		return
	}
	if b.rejectSmallSE(req, tx) { // timer hook: 422 (timer.go)
		return
	}
	if req.GetHeader("Replaces") != nil {
		b.onReplaces(req, tx) // RFC 3891 §3 (refer.go)
		return
	}
	mf, err := b.checkHops(req)
	if err != nil {
		o := b.fail(tx, req, "", err)
		b.log.Info("call refused", "status", o.Status, "from", req.Source(), "error", err)
		return
	}
	who, ok := b.inbound(req)
	if !ok {
		user, ok := b.authenticate(req, tx)
		if !ok {
			return
		}
		who = caller{user: user}
	}
	// 100 Trying at once once the caller is known, so it stops
	// retransmitting (RFC 3261 §8.2.6.1). Not before the 407: that one is
	// stateless, and a client that got a 100 no longer retransmits, so a
	// lost 407 would leave it waiting (RFC 3261 §17.1.1.2).
	b.respond(tx, req, 100, "Trying", nil)
	who = who.withPresentation(req) // identity.go
	b.calls.Add(1)
	defer b.calls.Done()
	c := &call{gw: b, from: who, num: b.dialled(req, who), mf: mf, ackc: make(chan struct{}),
		done: make(chan struct{}), started: time.Now(), originA: sdp.NewOrigin(), originB: sdp.NewOrigin()}
	b.track(c) // observe.go
	defer b.untrack(c)
	if err := c.run(req, tx); err != nil {
		o := b.fail(tx, req, c.localTagA(), err)
		c.writeCDR(o.Status, o.Cause)
		c.observe(CallEnded, CallEvent{Status: o.Status, Cause: o.Cause})
		b.log.Info("call failed", "caller", c.callerName(), "number", c.num, "status", o.Status, "cause", o.Cause, "error", err)
	}
}

// localTag is our To tag in an answer to an INVITE outside a dialog
// (a 407, an error): random, and the same for the caller's retried
// INVITE from the same source (tags.go).
func (b *B2BUA) localTag(req *sip.Request) string {
	return b.tags.getAt(tagKey(req), cseqOf(req), time.Now())
}

// cseqOf is req's CSeq number, 0 without one.
func cseqOf(req *sip.Request) uint32 {
	if cs := req.CSeq(); cs != nil {
		return cs.SeqNo
	}
	return 0
}

// dialogTag is our tag for the dialog req forms: the one its earlier
// answers carried, if any, else a new one (tags.go).
func (b *B2BUA) dialogTag(req *sip.Request) string {
	return b.tags.takeAt(tagKey(req), cseqOf(req), time.Now())
}

func (c *call) localTagA() string {
	if c.a == nil {
		return ""
	}
	return c.a.localTag
}

// authenticate checks the INVITE's Proxy-Authorization (RFC 3261 §22.3);
// it answers 407 or 403 itself and returns false when the call must stop.
func (b *B2BUA) authenticate(req *sip.Request, tx sip.ServerTransaction) (string, bool) {
	user, outcome := b.auth.Check(req, req.GetHeader("Proxy-Authorization"))
	switch outcome {
	case sipauth.OK:
		return user, true
	case sipauth.Malformed:
		b.respond(tx, req, 400, "Bad Request (Proxy-Authorization)", nil)
	default:
		b.challenge(tx, req, outcome == sipauth.Stale)
	}
	return "", false
}

// challenge sends 407 with one Proxy-Authenticate per algorithm
// (RFC 3261 §22.3, RFC 8760 §2.4).
func (b *B2BUA) challenge(tx sip.ServerTransaction, req *sip.Request, stale bool) {
	var hs []sip.Header
	for _, c := range b.auth.Challenges(req, stale) {
		hs = append(hs, sip.NewHeader("Proxy-Authenticate", c))
	}
	b.respond(tx, req, 407, "Proxy Authentication Required", nil, hs...)
	// Sent statelessly, as Kamailio's sl module does: a lost 407 brings a
	// retransmitted INVITE and a new one, and an ACK on another branch
	// (SIPp) leaves nothing retransmitting until Timer H (RFC 3261 §17.2.1).
	// Kept when a 100 Trying went out before it (a slow handler), for the
	// 407 to be retransmitted (sipserver.EndRefused).
	sipserver.EndRefused(tx)
}

// fail answers the caller with the final response err maps to.
func (b *B2BUA) fail(tx sip.ServerTransaction, req *sip.Request, tag string, err error) outcome {
	o := classify(err)
	res := sip.NewResponseFromRequest(req, o.Status, o.Reason, nil)
	if tag == "" {
		tag = b.localTag(req)
	}
	if to := res.To(); to != nil && !req.To().Params.Has("tag") {
		to.Params.Add("tag", tag) // RFC 3261 §8.2.6.2
	}
	if o.Warning != "" {
		res.AppendHeader(sip.NewHeader("Warning", o.Warning))
	}
	if o.RetryAfter != "" {
		res.AppendHeader(sip.NewHeader("Retry-After", o.RetryAfter))
	}
	if o.Accept != "" {
		res.AppendHeader(sip.NewHeader("Accept", o.Accept))
	}
	for _, h := range b.relayOut(o.Headers) { // relayed.go
		res.AppendHeader(h)
	}
	if b.o.ServerName != "" {
		res.AppendHeader(sip.NewHeader("Server", b.o.ServerName))
	}
	if err := tx.Respond(res); err != nil {
		b.log.Debug("sending final response", "code", o.Status, "error", err)
	}
	return o
}

// run routes the call, offers it on the B leg (one branch per device of a
// local user, or the trunk), relays the responses and, answered, holds
// until the call ends. An error before the answer is the caller's final
// response. A busy or unanswered local user is diverted once when the
// user has a diversion (divert.go).
func (c *call) run(req *sip.Request, tx sip.ServerTransaction) error {
	b := c.gw
	if c.a == nil { // set already for a call the gateway placed (dial.go)
		c.a = newUASDialog(req, b.dialogTag(req), b.o.Contact(req.Transport()))
	}
	c.observeLeg(c.a.callID) // observe_ladder.go: the ladder
	c.a.user = c.from.user
	if c.from.trunk != nil {
		c.info.trunk = c.from.trunk.Name()
		c.a.trunk = c.from.trunk // peer.go
	}
	// Until the route is known (and for a number that has none): an
	// inbound call, or an outbound attempt.
	c.info.direction = cdr.Outbound
	if c.from.inbound() {
		c.info.direction = cdr.Inbound
	}
	tgt, err := b.resolve(c.num, c.from.inbound())
	if err != nil {
		return err
	}
	defer c.releaseAdmission()
	if err := c.admitSetup(req, tgt); err != nil { // policy.go
		return err
	}
	c.info.direction = direction(c.from, tgt)
	c.observe(CallOriginated, CallEvent{Target: tgt.user}) // observe.go
	c.relA.init(req)
	b.addEarly(c) // PRACK and early UPDATE (prack.go, early_update.go)
	defer b.removeEarly(c)

	media := c.media // open already for a call the gateway placed (dial.go)
	if media == nil {
		if media, err = b.newMedia(req, c.from, tgt); err != nil { // per-leg media interfaces
			return fmt.Errorf("relay session: %w", err)
		}
	}
	c.media = media
	defer c.closeBrowsers() // webrtc.go
	ok := false
	defer func() {
		if !ok {
			_ = media.Close()
		}
	}()
	body, err := sdpBody(req) // body.go: SDP, multipart (RFC 5621), or 415
	if err != nil {
		return err
	}
	if len(body) == 0 {
		c.bodyB, err = c.makeLateOffer() // RFC 3261 §13.2.1 (lateoffer.go)
	} else {
		c.bodyB, err = c.offer(body, req)
	}
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	cancelled := make(chan struct{})
	// CANCEL (RFC 3261 §9.2): sipgo answers it 200 and the INVITE 487.
	// The hook reaches the call only while run runs (retain.go).
	hook := &cancelHook{cancelled: cancelled, cancel: cancel}
	hook.c.Store(c)
	defer hook.c.Store(nil)
	if st, isTx := tx.(interface{ OnCancel(sip.FnTxCancel) bool }); !isTx || !st.OnCancel(hook.on) {
		b.log.Debug("CANCEL cannot reach the call", "call_id", c.a.callID)
	}
	for {
		err := c.ring(ctx, req, tx, tgt, cancelled)
		if err == nil {
			ok = true // answered, and ended through end
			return nil
		}
		if to, follow := c.followRedirect(tgt, err); follow && !isClosed(cancelled) && ctx.Err() == nil {
			// RFC 3261 §8.1.3.4: the 3xx's target is called as any
			// number the caller dials: routed, and admitted (policy.go).
			next, rerr := b.resolve(to, c.from.inbound())
			if rerr == nil {
				rerr = c.admitTo(c.party(c.from), to, next, false)
			}
			if rerr != nil {
				return rerr
			}
			b.log.Info("call redirected", "caller", c.callerName(), "number", c.num, "to", to)
			c.redirect.to, tgt = to, next
			continue
		}
		dv, divert := c.divertFor(tgt.user, err)
		if !divert || isClosed(cancelled) || ctx.Err() != nil {
			return err
		}
		b.log.Info("call diverted", "caller", c.callerName(), "number", c.num, "to", dv.to, "reason", dv.reason)
		c.diverted = &dv
		c.observe(CallDiverted, CallEvent{Target: tgt.user, Other: dv.to, Reason: dv.reason})
		c.info.mu.Lock()
		c.info.divertedTo = dv.to
		c.info.mu.Unlock()
		user := tgt.user
		if tgt, err = b.resolve(dv.to, false); err != nil {
			return err
		}
		if err := c.admitDiversion(user, dv.to, tgt); err != nil { // policy.go
			return err
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// offer checks the caller's SDP, points the relay's A side at it (from: the
// message that carried it) and rewrites it towards the relay's B side
// (leg.go's pipeline).
func (c *call) offer(body []byte, from sip.Message) ([]byte, error) {
	body, err := c.browserOffer(body, from) // a browser calling: plain RTP (webrtc.go)
	if err != nil {
		return nil, err
	}
	a, b := c.legs(true)
	sd, st, err := a.acceptOffer(body)
	if err != nil {
		return nil, err
	}
	a.heard(st, from)
	out, err := b.sdpFor(sd)
	if err != nil {
		return nil, err
	}
	c.offerB = sd
	return out, nil
}

// answer checks the callee's SDP against the offer, points the relay's B
// side at it (from: the response that carried it) and rewrites it towards
// the relay's A side (leg.go's pipeline).
func (c *call) answer(body []byte, from sip.Message) ([]byte, error) {
	body, err := c.browserCallee(body, from) // a browser called: plain RTP (webrtc.go)
	if err != nil {
		return nil, err
	}
	a, b := c.legs(true)
	sd, st, err := b.acceptAnswer(c.offerB, body)
	if err != nil {
		return nil, err
	}
	b.heard(st, from)
	out, err := a.sdpFor(sd)
	if err != nil {
		return nil, err
	}
	if c.late.on {
		c.late.offerA = sd // our offer to the caller, answered in its ACK (lateoffer.go)
	}
	return c.browserAnswer(out) // a browser calling: WebRTC (webrtc.go)
}

// mediaAddr is the address written in SDP for relay side s (leg.mediaAddr).
func (c *call) mediaAddr(s *relay.Side) netip.AddrPort {
	if a := s.Advertised(); a.IsValid() { // the side's media interface
		return netip.AddrPortFrom(a, s.LocalAddr().Port())
	}
	return netip.AddrPortFrom(c.gw.o.MediaAddr, s.LocalAddr().Port())
}
