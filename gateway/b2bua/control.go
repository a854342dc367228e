package b2bua

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Third-party control of the calls the gateway carries (gateway/gwcti,
// the attendant's CSTA services on the gateway's own users): a call is
// named by its observer ID (observe.go) and a party of it by its local
// user. Each service reuses the machinery the phones' own requests go
// through: Hangup ends the call as a BYE would (BYE on both legs, RFC
// 3326 Reason), Transfer is a blind transfer by that party (refer.go's
// blind, with the policy of a new call from it: refer_policy.go), Hold
// and Retrieve re-INVITE the far party (RFC 3264 §8.4), SendDigits sends
// it INFO (application/dtmf-relay, as phones send DTMF in-band of SIP).

// Errors of the control services.
var (
	// ErrNoCall: no call has that ID (it ended, or never was).
	ErrNoCall = errors.New("b2bua: no such call")
	// ErrNotParty: the user is no party of the call.
	ErrNotParty = errors.New("b2bua: not a party of the call")
	// ErrCallState: the call is not in a state the service needs (not
	// answered yet, another offer or transfer under way).
	ErrCallState = errors.New("b2bua: call not in a state for this")
)

// reasonCleared is the Reason of the BYEs and CANCELs Hangup sends.
const reasonCleared = `SIP;cause=200;text="cleared by the attendant"`

// CallInfo is a call as it stands (Calls).
type CallInfo struct {
	ID string
	// A and B as in CallEvent; Target the local user rung while the
	// call is not answered.
	A, B     CallParty
	Target   string
	Answered bool
	// Held lists the parties (user or number) holding the call.
	Held []string
}

// Calls lists the calls under way.
func (b *B2BUA) Calls() []CallInfo {
	b.mu.Lock()
	cs := make([]*call, 0, len(b.byRef))
	for _, c := range b.byRef {
		cs = append(cs, c)
	}
	b.mu.Unlock()
	out := make([]CallInfo, 0, len(cs))
	for _, c := range cs {
		ci := CallInfo{ID: c.ref}
		b.mu.Lock()
		switch {
		case c.a != nil:
			ci.A = c.partyOf(c.a, true)
		case c.from.user != "":
			ci.A = CallParty{User: c.from.user, Number: c.from.user} // click-to-dial ringing its user (dial.go)
		default:
			b.mu.Unlock()
			continue // not routed yet
		}
		ci.Answered = c.upLocked()
		if ci.Answered {
			ci.B = c.partyOf(c.b, false)
		}
		b.mu.Unlock()
		c.info.mu.Lock()
		ci.Target = c.ringUser
		c.info.mu.Unlock()
		c.est.mu.Lock()
		for d, h := range c.held {
			if h && d.user != "" {
				ci.Held = append(ci.Held, d.user)
			} else if h {
				ci.Held = append(ci.Held, d.remote.User)
			}
		}
		c.est.mu.Unlock()
		out = append(out, ci)
	}
	return out
}

// upLocked reports, with b.mu held, whether c is answered and not over:
// both its legs are listed.
func (c *call) upLocked() bool {
	if c.a == nil || c.b == nil || c.answered.IsZero() {
		return false
	}
	l := c.gw.dialogs[c.a.key()]
	return l != nil && l.c == c
}

// callOf finds a call by ID.
func (b *B2BUA) callOf(id string) (*call, error) {
	b.mu.Lock()
	c := b.byRef[id]
	b.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoCall, id)
	}
	return c, nil
}

// partyLeg finds the answered call id and user's leg on it (x) and the
// other one (y).
func (b *B2BUA) partyLeg(id, user string) (c *call, x, y *leg, err error) {
	if c, err = b.callOf(id); err != nil {
		return nil, nil, nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !c.upLocked() {
		return nil, nil, nil, fmt.Errorf("%w: call %s is not answered", ErrCallState, id)
	}
	for _, isA := range []bool{true, false} {
		x, y = c.legsLocked(isA)
		if p := c.partyOf(x.d, isA); user != "" && (p.User == user || p.User == "" && p.Number == user) {
			return c, x, y, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("%w: %q on call %s", ErrNotParty, user, id)
}

// Hangup ends call id: an answered call with a BYE on both legs, a ringing
// one with CANCELs to the devices and 603 to the caller; reason is the
// Reason header (RFC 3326), "" for ours.
func (b *B2BUA) Hangup(id, reason string) error {
	c, err := b.callOf(id)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = reasonCleared
	}
	b.mu.Lock()
	up := c.upLocked()
	b.mu.Unlock()
	if up {
		c.endReason(true, true, nil, reason)
		return nil
	}
	select {
	case c.clear <- reason:
		return nil
	case <-c.done:
		return fmt.Errorf("%w: %q", ErrNoCall, id)
	case <-time.After(time.Second):
		return fmt.Errorf("%w: call %s is neither ringing nor answered", ErrCallState, id)
	}
}

// clearedErr is the caller's answer to a ringing call Hangup cleared:
// 603 Decline (RFC 3261 §21.6.2).
func clearedErr() error { return &statusError{code: 603, reason: "Decline"} }

// Transfer moves the party at the far end of user's leg on call id to
// number to, as a blind transfer by user (RFC 5589 §6 flow, carried out by
// the gateway: refer.go's blind): routed and admitted as a new call from
// user, the target rung with the transferee's media, the user's leg
// released with a BYE once it answered. A refusal by routing or policy is
// returned at once; the rest runs in the background and done (optional)
// is told how it ended.
func (b *B2BUA) Transfer(id, user, to string, done func(error)) error {
	to = strings.TrimSpace(to)
	if to == "" {
		return fmt.Errorf("%w: empty transfer target", ErrBadNumber)
	}
	c, x, _, err := b.partyLeg(id, user)
	if err != nil {
		return err
	}
	tr, err := c.routeTransfer(x.d, to)
	if err != nil {
		return err
	}
	if !c.est.beginWait(2 * time.Second) {
		return fmt.Errorf("%w: an offer is under way on call %s", ErrCallState, id)
	}
	if !c.beginTransfer(x.d) {
		c.est.finish()
		return fmt.Errorf("%w: a transfer is under way on call %s", ErrCallState, id)
	}
	c.est.mu.Lock()
	c.est.referSeq, c.est.noReferSub = 0, true // no REFER: nobody to NOTIFY
	c.est.mu.Unlock()
	b.calls.Add(1)
	go func() {
		defer b.calls.Done()
		err := func() error {
			defer c.est.finish()
			defer c.endTransfer()
			return c.blind(x, tr, nil, nil)
		}()
		if err == nil {
			c.info.mu.Lock()
			c.info.transferredTo, c.info.attended = to, false
			c.info.mu.Unlock()
			c.observe(CallTransferred, CallEvent{By: user, Other: to})
			b.log.Info("call transferred by control", "call", id, "by", user, "target", to)
		} else {
			b.log.Info("transfer by control failed", "call", id, "by", user, "target", to, "error", err)
		}
		if done != nil {
			done(err)
		}
	}()
	return nil
}

// Hold puts the far party of user's leg on call id on hold: a re-INVITE
// with our last session towards it, sendonly (RFC 3264 §8.4).
func (b *B2BUA) Hold(id, user string) error { return b.redirect(id, user, psdp.DirectionSendOnly) }

// Retrieve takes it off hold: the same re-INVITE, sendrecv.
func (b *B2BUA) Retrieve(id, user string) error {
	return b.redirect(id, user, psdp.DirectionSendRecv)
}

// redirect re-INVITEs the far party of user's leg with direction dir.
func (b *B2BUA) redirect(id, user string, dir psdp.Direction) error {
	c, x, y, err := b.partyLeg(id, user)
	if err != nil {
		return err
	}
	if c.parked() {
		return fmt.Errorf("%w: call %s is parked", ErrCallState, id)
	}
	if !c.est.beginWait(2 * time.Second) {
		return fmt.Errorf("%w: an offer is under way on call %s", ErrCallState, id)
	}
	defer c.est.finish()
	// The session of user's side, through the far party's relay side.
	sd, _, err := y.acceptOffer(c.sessionFrom(x))
	if err == nil {
		err = sdp.SetDirection(sd, dir)
	}
	if err != nil {
		return fmt.Errorf("hold offer: %w", err)
	}
	if res, err := c.reoffer(y, sd); err != nil {
		if c.goneLeg(res, err) {
			c.end(true, true, err)
		}
		return fmt.Errorf("re-INVITE: %w", err)
	}
	c.observeOffer(x, dir)
	return nil
}

// SendDigits sends digits to the far party of user's leg on call id, one
// INFO each (application/dtmf-relay: Signal and Duration).
func (b *B2BUA) SendDigits(id, user, digits string) error {
	for _, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCDabcd", d) {
			return fmt.Errorf("%w: digit %q", ErrBadNumber, d)
		}
	}
	if digits == "" || len(digits) > 64 {
		return fmt.Errorf("%w: %d digits", ErrBadNumber, len(digits))
	}
	c, _, y, err := b.partyLeg(id, user)
	if err != nil {
		return err
	}
	if c.parked() {
		return fmt.Errorf("%w: call %s is parked", ErrCallState, id)
	}
	for _, d := range strings.ToUpper(digits) {
		req := y.d.newRequest(sip.INFO)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
		req.SetBody(fmt.Appendf(nil, "Signal=%c\r\nDuration=160\r\n", d))
		res, err := c.send(req)
		if err != nil {
			return fmt.Errorf("INFO: %w", err)
		}
		if res.StatusCode >= 300 {
			return fmt.Errorf("INFO: %w: %d %s", errPeerStatus, res.StatusCode, res.Reason)
		}
	}
	return nil
}

// dndRefusal is the answer for a user with do-not-disturb on (Options.DND).
func dndRefusal(status int) error {
	if status == 480 {
		return &statusError{code: 480, reason: "Temporarily Unavailable"}
	}
	return &statusError{code: 486, reason: "Busy Here"}
}

// deflection ends a ringing call's branches to divert it to to (Deflect).
type deflection struct{ to string }

func (d *deflection) Error() string { return "b2bua: deflected to " + d.to }

// deflectReq asks a ringing call's ring loop to deflect it.
type deflectReq struct {
	to    string
	reply chan error
}

// Deflect diverts call id, ringing at a local user's devices, to number
// to: the branches are cancelled and the call goes on as a diversion
// (divert.go: reason deflection, RFC 5806), routed and admitted as one.
// An answered call is transferred instead, as by user (Transfer, which
// tells done how it ended).
func (b *B2BUA) Deflect(id, user, to string, done func(error)) error {
	to = strings.TrimSpace(to)
	if to == "" {
		return fmt.Errorf("%w: empty deflection target", ErrBadNumber)
	}
	c, err := b.callOf(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	up := c.upLocked()
	b.mu.Unlock()
	if up {
		return b.Transfer(id, user, to, done)
	}
	c.info.mu.Lock()
	ringing := c.ringUser
	c.info.mu.Unlock()
	if user == "" || ringing != user {
		return fmt.Errorf("%w: call %s does not ring at %q", ErrNotParty, id, user)
	}
	dr := deflectReq{to: to, reply: make(chan error, 1)}
	select {
	case c.deflect <- dr:
	case <-time.After(time.Second):
		return fmt.Errorf("%w: call %s is not ringing", ErrCallState, id)
	}
	return <-dr.reply // done is for a transfer only: this outcome is known now
}

// Join connects the far parties of user's legs on calls held and active,
// as user's attended transfer (RFC 5589 §7, refer.go's attended: the far
// party of active takes user's place on held, user's legs on both calls
// end with a BYE). The two calls become one, held's ID.
func (b *B2BUA) Join(heldID, activeID, user string) error {
	c, x, _, err := b.partyLeg(heldID, user)
	if err != nil {
		return err
	}
	c2, r, _, err := b.partyLeg(activeID, user)
	if err != nil {
		return err
	}
	if c == c2 {
		return fmt.Errorf("%w: a call cannot be joined to itself", ErrCallState)
	}
	if !c.est.beginWait(2 * time.Second) {
		return fmt.Errorf("%w: an offer is under way on call %s", ErrCallState, heldID)
	}
	defer c.est.finish()
	if !c.beginTransfer(x.d) {
		return fmt.Errorf("%w: a transfer is under way on call %s", ErrCallState, heldID)
	}
	defer c.endTransfer()
	if c2.beginTransfer(r.d) {
		defer c2.endTransfer()
	}
	c.est.mu.Lock()
	c.est.referSeq, c.est.noReferSub = 0, true // no REFER: nobody to NOTIFY
	c.est.mu.Unlock()
	b.mu.Lock()
	other := c2.partyOf(r.peer, !r.isA)
	b.mu.Unlock()
	if err := c.attended(x, r); err != nil {
		return err
	}
	c.info.mu.Lock()
	c.info.transferredTo, c.info.attended = other.Number, true
	c.info.mu.Unlock()
	c.observe(CallTransferred, CallEvent{By: user, Other: other.Number})
	b.log.Info("calls joined by control", "held", heldID, "active", activeID, "by", user)
	return nil
}
