package b2bua

import (
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Park and unpark for calls the gateway carries (gwcti's Park and
// Pickup): parking is the first half of a blind transfer whose target is
// not known yet, unparking the second half. Park holds the far party
// (re-INVITE sendonly, RFC 3264 §8.4) and releases the parking user's leg
// (BYE with a Reason, RFC 3326) as a transferor that hung up during its
// transfer (transferor.go): the call stays up with its far party alone,
// its BYE ending the call. Unpark is refer.go's blind transfer from that
// released leg to the picking user's devices: called with the parked
// party's media, the first to answer bridged, the parked party taken off
// hold (resumeTransferee).

// reasonParked is the Reason of the BYE to the parking user's leg.
const reasonParked = `SIP;cause=200;text="call parked"`

// Park parks call id by user: the far party of user's leg stays on the
// gateway, on hold; user's leg is released.
func (b *B2BUA) Park(id, user string) error {
	c, x, y, err := b.partyLeg(id, user)
	if err != nil {
		return err
	}
	if !c.est.beginWait(2 * time.Second) {
		return fmt.Errorf("%w: an offer is under way on call %s", ErrCallState, id)
	}
	defer c.est.finish()
	if !c.beginTransfer(x.d) {
		return fmt.Errorf("%w: a transfer or park is under way on call %s", ErrCallState, id)
	}
	c.est.mu.Lock()
	c.est.referSeq, c.est.noReferSub = 0, true // no REFER: nobody to NOTIFY
	c.est.mu.Unlock()
	x.stopTimer() // no refresh towards the released leg
	// The far party on hold: our session, sendonly.
	sd, _, err := y.acceptOffer(c.sessionFrom(x))
	if err == nil {
		err = sdp.SetDirection(sd, psdp.DirectionSendOnly)
	}
	var res *sip.Response
	if err == nil {
		res, err = c.reoffer(y, sd)
	}
	if err != nil {
		c.endTransfer()
		if c.goneLeg(res, err) {
			c.end(true, true, err)
		}
		return fmt.Errorf("park: hold: %w", err)
	}
	// The parking user's leg goes, as a transferor that hung up.
	c.est.mu.Lock()
	c.est.xfer.park = true
	c.est.mu.Unlock()
	c.byeInTransfer(x.d, x.isA)
	c.sendBye(x.d, sip.NewHeader("Reason", reasonParked))
	c.observe(CallParked, CallEvent{By: user})
	b.log.Info("call parked", "call", id, "by", user)
	return nil
}

// Unpark connects parked call id to user's devices, as parker's blind
// transfer to user (its routing and class of service: refer_policy.go);
// it returns once they are called and done (optional) is told how it
// ended. A failure leaves the call parked.
func (b *B2BUA) Unpark(id, parker, user string, done func(error)) error {
	user = strings.TrimSpace(user)
	c, err := b.callOf(id)
	if err != nil {
		return err
	}
	c.est.mu.Lock()
	run := c.est.xfer
	parked := run != nil && run.gone && !run.swapped && run.x.user == parker
	var x *dialog
	if parked {
		x = run.x
	}
	c.est.mu.Unlock()
	if !parked {
		return fmt.Errorf("%w: call %s is not parked by %q", ErrCallState, id, parker)
	}
	tr, err := c.routeTransfer(x, user)
	if err != nil {
		return err
	}
	if !c.est.beginWait(2 * time.Second) {
		return fmt.Errorf("%w: an offer is under way on call %s", ErrCallState, id)
	}
	b.mu.Lock()
	isA := c.a == x
	b.mu.Unlock()
	l := &leg{c: c, d: x, isA: isA}
	b.calls.Add(1)
	go func() {
		defer b.calls.Done()
		err := func() error {
			defer c.est.finish()
			return c.blind(l, tr, nil, nil)
		}()
		if err == nil {
			c.observe(CallTransferred, CallEvent{By: parker, Other: user})
			b.log.Info("parked call picked up", "call", id, "by", user)
		} else {
			// Still parked: blind put the relay back, and the transfer
			// run stays (the parked party's BYE ends the call).
			b.log.Info("parked call not picked up", "call", id, "by", user, "error", err)
		}
		if done != nil {
			done(err)
		}
	}()
	return nil
}

// parkedOn reports whether x is the released leg of a parked call.
func (c *call) parkedOn(x *dialog) bool {
	c.est.mu.Lock()
	defer c.est.mu.Unlock()
	return c.est.xfer != nil && c.est.xfer.x == x && c.est.xfer.park
}

// parked reports whether c is parked (its other leg released).
func (c *call) parked() bool {
	c.est.mu.Lock()
	defer c.est.mu.Unlock()
	return c.est.xfer != nil && c.est.xfer.park
}
