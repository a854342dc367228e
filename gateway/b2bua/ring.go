package b2bua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// direction is the CDR direction of a call from who to tgt.
func direction(who caller, tgt target) cdr.Direction {
	switch {
	case who.inbound():
		return cdr.Inbound
	case tgt.trunk != nil:
		return cdr.Outbound
	}
	return cdr.Local
}

// ring places the B leg towards tgt (a trunk, or every contact of a local
// user in parallel) and relays its responses to the caller until one
// branch answers — then it holds until the call ends and returns nil — or
// every branch failed, the caller cancelled, or nobody answered in time.
func (c *call) ring(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, tgt target, cancelled chan struct{}) error {
	if tgt.queue != "" {
		return c.ringQueue(ctx, req, tx, tgt, cancelled) // queue.go
	}
	b := c.gw
	f := newFork(c)
	f.earlyLost = c.earlyLostHook(tx) // the tone again when early media ends (ringback_fork.go)
	c.info.mu.Lock()
	if tgt.trunk != nil {
		c.info.trunk = tgt.trunk.Name()
		c.info.target = c.num
		if c.diverted != nil {
			c.info.target = c.diverted.to
		}
	} else {
		c.info.target = tgt.user
	}
	c.ringUser = tgt.user // control.go
	c.info.mu.Unlock()

	if tgt.trunk != nil {
		if err := c.sendTrunk(ctx, f, tgt.trunk, cancelled); err != nil {
			return err
		}
	} else {
		if dv, ok := c.divertOf(tgt.user); ok && dv.Always != "" && c.diverted == nil {
			return errForwardAlways // unconditional forwarding (divert.go)
		}
		if c.gw.o.DND != nil {
			if st := c.gw.o.DND(tgt.user); st != 0 {
				return dndRefusal(st) // do not disturb (gwcti): 486 is diverted as busy
			}
		}
		if err := f.sendContacts(ctx, tgt.user, tgt.contacts); err != nil {
			return err
		}
	}

	pickups := b.openPickup(c) // BLF directed pickup (pickup.go)
	defer b.closePickup(c)
	timer := time.NewTimer(c.noAnswerTimeout(tgt.user))
	defer timer.Stop()
	alerted := false
	br, res, err := f.run(forkWait{
		ctx: ctx,
		provisional: func(br *branch, res *sip.Response) {
			c.provisional(f, br, req, tx, res) // and pickable (pickup.go)
			if res.StatusCode > 100 && !alerted {
				alerted = true
				c.observe(CallAlerting, CallEvent{Target: tgt.user}) // observe.go
			}
		},
		challenged: func(br *branch, res *sip.Response) bool { return c.reauth(ctx, f, br, res) },
		refused: func(br *branch, res *sip.Response) {
			if res.StatusCode == 422 {
				c.retrySessionInterval(ctx, f, br, res) // RFC 4028 §7.3 (redirect.go)
			}
		},
		stopped: func() (string, error) {
			if isClosed(cancelled) {
				return c.cancelReason, ErrCancelled
			}
			return "", fmt.Errorf("%w: shutting down", dnssrv.ErrAllFailed)
		},
		pickups:   pickups,
		pickup:    func(pr *pickupReq) bool { return c.pickedUp(f, pr, req, tx) },
		deflect:   c.deflect,
		clear:     c.clear,
		cancelled: cancelled,
		noAnswer:  timer.C,
		noAnswerErr: func() error {
			return fmt.Errorf("%w: after %v", ErrNoAnswer, c.noAnswerTimeout(tgt.user))
		},
	})
	switch {
	case br != nil:
		return c.answer2xx(ctx, f, br, req, tx, res, cancelled)
	case errors.Is(err, errPickedUp):
		return nil
	}
	c.tone.stop()
	return err
}

// sendTrunk sends the B leg's INVITE to a trunk with failover (dnssrv)
// and adds its branch.
func (c *call) sendTrunk(ctx context.Context, f *fork, trunk *dnssrv.Trunk, cancelled chan struct{}) error {
	num := c.num
	var extra []sip.Header
	if c.diverted != nil {
		num = c.diverted.to
		extra = c.diversionHeaders(*c.diverted)
	}
	if c.redirect.to != "" {
		num = c.redirect.to // a 3xx followed (redirect.go)
	}
	if n := c.gw.o.Numbering; n != nil {
		out, err := n.Outbound(trunk.Name(), num)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadNumber, err)
		}
		num = out
	}
	c.info.mu.Lock()
	c.info.target = num
	c.info.mu.Unlock()
	res, err := f.sendTrunk(ctx, trunk, c.newInviteB(trunk.Name(), num, extra...))
	if err != nil {
		if isClosed(cancelled) {
			return ErrCancelled
		}
		if r := failedWith(res); r != nil && (r.StatusCode != 503 || r.GetHeader("Retry-After") != nil) {
			// The trunk's last refusal, with its Retry-After (relayed.go).
			return rejected(r)
		}
		return err
	}
	return nil
}

// contactBranch builds the INVITE to one registered contact of user: the
// Request-URI is the contact as registered, the request goes to the flow
// the registration came from (its source address and transport: RFC 5626
// §5.3 idea, RFC 3581 for NATed phones), or along its Path (RFC 3327).
func (c *call) contactBranch(user string, bnd store.Binding, more ...sip.Header) (*branch, error) {
	var ruri sip.Uri
	if err := sip.ParseUri(trimAngle(bnd.ContactURI), &ruri); err != nil {
		return nil, fmt.Errorf("contact %q: %w", bnd.ContactURI, err)
	}
	transport := strings.ToUpper(bnd.Transport)
	if transport == "" {
		transport = "UDP"
	}
	var extra []sip.Header
	if c.diverted != nil {
		extra = c.diversionHeaders(*c.diverted)
	}
	req := c.newInvite(ruri, user, transport, append(extra, more...)...)
	if err := c.offerBrowser(req, transport); err != nil { // WS/WSS: WebRTC (webrtc.go)
		return nil, err
	}
	dest := bnd.Source
	for i, p := range bnd.Path {
		var u sip.Uri
		if err := sip.ParseUri(trimAngle(p), &u); err != nil {
			return nil, fmt.Errorf("path %q: %w", p, err)
		}
		req.AppendHeader(&sip.RouteHeader{Address: u})
		if i == 0 {
			dest = hostPort(u)
		}
	}
	if dest == "" {
		dest = hostPort(ruri)
	}
	req.SetDestination(dest)
	if la, err := netip.ParseAddrPort(bnd.LocalAddr); err == nil && transport == "UDP" && len(bnd.Path) == 0 {
		// From the listener the device registered to: its NAT binding
		// lets in nothing else (RFC 5626 §5.3 idea).
		req.Laddr = sip.Addr{IP: net.IP(la.Addr().AsSlice()), Port: int(la.Port())}
	}
	d := newUACDialog(req)
	d.flow = dest
	d.user = user // the registered user, on its flow (refer.go)
	label := user
	if bnd.UserAgent != "" {
		label += " (" + bnd.UserAgent + ")"
	}
	return &branch{label: label, user: user, inv: req, d: d}, nil
}

// provisional relays a branch's 1xx to the caller (RFC 3261 §16.7 step 5
// ideas for a forking B2BUA): the first ringing once, early media
// (183 with SDP, RFC 3960) from one branch only; a reliable 1xx is
// PRACKed (RFC 3262 §4, prack.go).
func (c *call) provisional(f *fork, br *branch, req *sip.Request, tx sip.ServerTransaction, res *sip.Response) {
	if tag, _ := res.To().Params.Get("tag"); tag != "" {
		br.d.setFromResponse(res) // the early dialog (RFC 3261 §12.1.2)
	}
	// Pickable before the caller hears it ring: a pickup sent on that
	// ringing must find the early dialog (pickup.go).
	c.gw.notePickable(c, br)
	if !c.prackB(br, res) {
		return // a retransmission of a reliable 1xx: already relayed
	}
	if body := res.Body(); len(body) > 0 && (f.early == nil || f.early == br) {
		out, err := c.answer(body, res)
		if err == nil {
			f.early = br
			c.earlyA = out
			// No tone of ours over it (ringback_fork.go).
			c.earlyHeard(tx)
			c.provisionalA(tx, req, res.StatusCode, res.Reason, c.earlyBody(out)) // lateoffer.go
			return
		}
		c.gw.log.Info("early SDP rejected", "branch", br.label, "error", err)
	}
	c.tone.provisional(res, false) // a 180 after the early media ended (ringback_fork.go)
	if c.rang {
		return
	}
	c.rang = true
	c.provisionalA(tx, req, res.StatusCode, res.Reason, nil)
}

// answer2xx takes the first 2xx, won (fork.win: ACKed, the others
// cancelled as completed elsewhere, RFC 3326): its branch becomes the B
// leg, the answer goes to the
// caller, and the call holds until it ends. A caller's CANCEL that
// crossed the 2xx (cancelled closed: the caller got 487) ends the B leg
// instead (crossedCancel).
func (c *call) answer2xx(ctx context.Context, f *fork, br *branch, req *sip.Request, tx sip.ServerTransaction, res *sip.Response, cancelled chan struct{}) error {
	gw := c.gw
	c.tone.stop()
	c.b = br.d // ACKed; the other branches cancelled and drained (fork.win)
	c.info.mu.Lock()
	c.info.answeredBy = br.user
	c.info.mu.Unlock()

	var body []byte
	var err error
	switch early := c.late.earlyAnswered(); {
	case early != nil:
		// A late offer answered in the caller's PRACK (lateoffer.go): the
		// 2xx repeats our offer (RFC 3261 §13.2.1, RFC 6337 §3.1.1); a
		// callee's SDP in its 2xx moves only the B side.
		if len(res.Body()) > 0 {
			_, err = c.answer(res.Body(), res)
		}
		body = early
	case len(res.Body()) > 0:
		body, err = c.answer(res.Body(), res)
	case f.early == br && c.earlyA != nil:
		body = c.earlyA // the answer came in a reliable 18x (RFC 3262 §5)
	default:
		body, err = c.answer(nil, res)
	}
	if err != nil {
		// The callee answered with unusable SDP: end its leg (RFC 3261
		// §13.2.2.4: ACK, then BYE) and tell the caller why.
		c.sendBye(c.b)
		br.tx.Terminate()
		return err
	}
	// ctx ends with the caller's CANCEL (call.go) or the gateway.
	c.relA.waitBefore2xx(ctx.Done())
	if isClosed(cancelled) {
		return c.crossedCancel()
	}
	c.answered = time.Now()
	c.observeSetup(true) // observe.go: INVITE to 2xx
	c.admitAnswered()    // policy.go: no longer ringing
	gw.addDialogs(c)
	sent := c.respondA(tx, req, res.StatusCode, res.Reason, body)
	if isClosed(cancelled) {
		// The CANCEL won the race for the caller's transaction: our 2xx
		// was not sent (the 487 was). sipgo runs OnCancel before the
		// 487 and only while no final response went out, so this is
		// decided once respondA returned.
		gw.removeDialogs(c)
		return c.crossedCancel()
	}
	c.startTimers(sent, res, br.inv) // timer hook (timer.go)
	c.keepAckAnswer()                // late offer (lateoffer.go)
	if req.Transport() == "UDP" || req.Transport() == "udp" {
		go c.retransmit2xx(tx, sent)
	}
	c.media.ArmTimeout()
	c.observe(CallAnswered, CallEvent{Target: br.user}) // observe.go
	gw.log.Debug("call answered", "caller", c.callerName(), "number", c.num, "by", br.label)
	c.wait()
	return nil
}

// crossedCancel ends the B leg of a call whose 2xx crossed the caller's
// CANCEL (RFC 3261 §9.2: the caller got 487): the callee answered a call
// nobody hears. Its 2xx was ACKed; the BYE says why (RFC 3326), as for a
// 2xx that crosses our own CANCEL (fork.go).
func (c *call) crossedCancel() error {
	gw := c.gw
	gw.log.Info("CANCEL crossed the answer: hanging up the callee", "call_id", c.b.callID)
	d := c.b
	gw.calls.Add(1)
	go func() {
		defer gw.calls.Done()
		gw.bye(d, 0, sip.NewHeader("Reason", reasonCancelled))
	}()
	return ErrCancelled
}
