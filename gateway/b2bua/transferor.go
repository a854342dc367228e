package b2bua

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"
)

// A transferor that hangs up at once (RFC 5589 §6 and §7 basic flows: many
// phones send BYE right after the 202 or the NOTIFY 100). The BYE ends
// the transferor's INVITE usage of its dialog only (RFC 5057 §5): the
// transfer goes on, the transferee hears the target ring (its early
// media, relayed) and is connected when the target answers, and the
// transferor still gets the NOTIFYs of its subscription (RFC 3515 §2.4.4)
// until it answers one with 481 (RFC 5057 §5.6). When the target fails,
// the transferee, now alone on the call, gets a BYE with a Reason saying
// why (RFC 3326).

// transferRun is a transfer under way on a call: the transferor's leg x,
// and whether its BYE came meanwhile. established.xfer holds it while
// onRefer runs (est.mu guards gone).
type transferRun struct {
	x    *dialog
	gone bool
	// swapped: the new party took x's place on the call (swap); the
	// transferor's BYE still ends its leg only, until release.
	swapped bool
	// park: the call is parked (park.go): a failed pickup leaves it so.
	park bool
}

// beginTransfer marks x as the transferor's leg of a transfer under way
// on c, to be undone by endTransfer; false when another one is.
func (c *call) beginTransfer(x *dialog) bool {
	c.est.mu.Lock()
	defer c.est.mu.Unlock()
	if c.est.xfer != nil {
		return false
	}
	c.est.xfer = &transferRun{x: x}
	return true
}

// endTransfer forgets the transfer under way on c.
func (c *call) endTransfer() {
	c.est.mu.Lock()
	c.est.xfer = nil
	c.est.mu.Unlock()
}

// transferorGone reports whether x is the transferor's leg of a transfer
// under way and hung up meanwhile.
func (c *call) transferorGone(x *dialog) bool {
	c.est.mu.Lock()
	defer c.est.mu.Unlock()
	return c.est.xfer != nil && c.est.xfer.x == x && c.est.xfer.gone
}

// byeInTransfer takes a BYE on leg d of c while a transfer runs: a BYE
// from the transferor ends its leg only, and a BYE from the transferee
// once the transferor left ends the call without a BYE to the transferor.
// It is false when no transfer runs: the BYE ends the call as usual.
//
// The transferor's BYE is marked here before its 200 goes out (onBye):
// the transferee may answer its re-INVITE as soon as it hears of that
// 200, and the transfer, finishing, must already know the transferor has
// gone (no BYE for it then).
func (c *call) byeInTransfer(d *dialog, isA bool) bool {
	then, ok := c.markByeInTransfer(d, isA)
	if then != nil {
		then()
	}
	return ok
}

// markByeInTransfer is byeInTransfer in two steps: what must be settled
// at once, and then what may wait until the BYE is answered.
func (c *call) markByeInTransfer(d *dialog, isA bool) (then func(), ok bool) {
	c.est.mu.Lock()
	run := c.est.xfer
	if run == nil {
		c.est.mu.Unlock()
		return nil, false
	}
	switch {
	case run.x == d && !run.gone:
		run.gone = true
		c.est.mu.Unlock()
		b := c.gw
		b.mu.Lock()
		if l := b.dialogs[d.key()]; l != nil && l.c == c {
			delete(b.dialogs, d.key())
		}
		b.mu.Unlock()
		b.log.Info("transferor hung up: the transfer goes on", "call_id", d.callID)
		return nil, true
	case run.gone && run.x != d && !run.swapped:
		c.est.mu.Unlock()
		return func() {
			if isA {
				c.setEndedBy(endedByCaller)
			} else {
				c.setEndedBy(endedByCallee)
			}
			c.end(false, false, nil) // the transferor's leg has already gone
		}, true
	}
	c.est.mu.Unlock()
	return nil, false
}

// otherLeg is the leg of c that is not x, nil when x is neither.
func (c *call) otherLeg(x *dialog) *dialog {
	c.gw.mu.Lock()
	defer c.gw.mu.Unlock()
	switch x {
	case c.a:
		return c.b
	case c.b:
		return c.a
	}
	return nil
}

// alive reports whether y is still a leg of c (the call did not end).
func (c *call) alive(y *dialog) bool {
	c.gw.mu.Lock()
	defer c.gw.mu.Unlock()
	l := c.gw.dialogs[y.key()]
	return l != nil && l.c == c
}

// abandonTransfer ends the call of a failed transfer whose transferor hung
// up: the transferee y alone is left, and gets a BYE saying why (RFC 3326
// Reason with the target's status).
func (c *call) abandonTransfer(y *dialog, code int, text string, cause error) {
	if !c.alive(y) {
		return // the transferee hung up meanwhile
	}
	c.gw.log.Info("transfer failed after the transferor hung up: ending the call", "call_id", y.callID, "status", code)
	c.gw.mu.Lock()
	delete(c.gw.dialogs, y.key())
	c.gw.mu.Unlock()
	c.sendBye(y, sip.NewHeader("Reason", transferReason(code, text)))
	c.end(false, false, cause)
}

// transferReason is the Reason header value (RFC 3326 §2) for a transfer
// target's final status.
func transferReason(code int, text string) string {
	if code < 300 || code > 699 {
		code = 500
	}
	v := "SIP;cause=" + strconv.Itoa(code)
	if text = strings.ReplaceAll(text, `"`, ""); text != "" {
		v += fmt.Sprintf(";text=%q", text)
	}
	return v
}

// earlyMedia points l's relay side (a transfer target taking the
// transferor's) at the target's early media (the SDP of its 18x, RFC 3960
// gateway model): what the target plays while it rings (ringback,
// announcements) reaches the transferee. offer is the SDP the target was
// offered.
func (l *leg) earlyMedia(offer *psdp.SessionDescription, res *sip.Response) bool {
	if res.StatusCode <= 100 || len(res.Body()) == 0 {
		return false
	}
	_, st, err := l.acceptAnswer(offer, res.Body())
	if err != nil {
		return false
	}
	l.heard(st, res)
	return true
}
