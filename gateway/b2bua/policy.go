package b2bua

import (
	"errors"
	"net/netip"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/callpolicy"
)

// Call admission (issue 10): before a call takes relay ports or reaches a
// trunk, the admission policy (Options.Admission, callpolicy.Policy)
// checks the party's class of service against the number as it will be
// sent, the deny-list, the party's and the trunk's caps, and the ringing
// cap of the call's source. A diversion to a number is admitted against
// the diverting user, a transfer against the transferor. Every ticket a
// call took is released when the call ends; the ringing slot when it is
// answered.

// Admission admits calls (callpolicy.Policy).
type Admission interface {
	Admit(callpolicy.Call) (*callpolicy.Ticket, error)
}

// CausePolicy: the admission policy refused the call (class of service,
// deny-list, caps).
const CausePolicy Cause = "policy"

// admission is what a call holds of the admission policy.
type admission struct {
	mu      sync.Mutex
	tickets []*callpolicy.Ticket
	src     netip.Addr // the caller's signalling source
	ended   bool
}

// admitSetup admits a new call from c.from to tgt: it takes a ringing
// slot of the caller's source (or trunk) until the answer.
func (c *call) admitSetup(req *sip.Request, tgt target) error {
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		c.adm.src = ap.Addr().Unmap()
	}
	return c.admitTo(c.party(c.from), c.num, tgt, true)
}

// admitDiversion admits the diversion of the call by user to tgt: the
// diverting user's class and caps apply (issue 10: a diversion to an
// external number is a call the user makes).
func (c *call) admitDiversion(user, number string, tgt target) error {
	return c.admitTo(callpolicy.Party{Kind: callpolicy.User, Name: user}, number, tgt, false)
}

func (c *call) admitTo(p callpolicy.Party, number string, tgt target, setup bool) error {
	t, err := c.ticket(p, number, tgt, setup)
	if err != nil {
		return err
	}
	c.hold(t)
	return nil
}

// ticket asks the policy about a call by p to number at tgt.
func (c *call) ticket(p callpolicy.Party, number string, tgt target, setup bool) (*callpolicy.Ticket, error) {
	adm := c.gw.o.Admission
	if adm == nil {
		return nil, nil
	}
	pc := callpolicy.Call{Party: p, Number: number, Local: tgt.trunk == nil}
	if tgt.trunk != nil {
		pc.ToTrunk = tgt.trunk.Name()
		pc.Number = c.gw.sentNumber(tgt.trunk, number)
	}
	if setup {
		pc.Setup, pc.Source = true, c.adm.src
		if c.from.trunk != nil {
			pc.FromTrunk = c.from.trunk.Name()
		}
	}
	t, err := adm.Admit(pc)
	if err != nil {
		c.gw.log.Debug("call refused by policy", "party", p.Name, "number", pc.Number, "error", err)
		return nil, err
	}
	return t, nil
}

// party is who a caller is for the policy.
func (c *call) party(who caller) callpolicy.Party {
	switch {
	case who.user != "":
		return callpolicy.Party{Kind: callpolicy.User, Name: who.user}
	case who.trunk != nil:
		return callpolicy.Party{Kind: callpolicy.Trunk, Name: who.trunk.Name()}
	}
	return callpolicy.Party{Kind: callpolicy.Host, Name: c.adm.src.String()}
}

// sentNumber is number as the numbering plan sends it to trunk; as
// dialled when the plan cannot (the call then fails with 484 anyway).
func (b *B2BUA) sentNumber(trunk *dnssrv.Trunk, number string) string {
	if b.o.Numbering == nil {
		return number
	}
	if out, err := b.o.Numbering.Outbound(trunk.Name(), number); err == nil {
		return out
	}
	return number
}

// hold keeps t until the call ends.
func (c *call) hold(t *callpolicy.Ticket) {
	if t == nil {
		return
	}
	c.adm.mu.Lock()
	ended := c.adm.ended
	if !ended {
		c.adm.tickets = append(c.adm.tickets, t)
	}
	c.adm.mu.Unlock()
	if ended {
		t.Release()
	}
}

// admitAnswered frees the call's ringing slots: it is answered.
func (c *call) admitAnswered() {
	c.adm.mu.Lock()
	defer c.adm.mu.Unlock()
	for _, t := range c.adm.tickets {
		t.Answered()
	}
}

// releaseAdmission gives back every ticket the call holds: it ended.
func (c *call) releaseAdmission() {
	c.adm.mu.Lock()
	ts := c.adm.tickets
	c.adm.tickets, c.adm.ended = nil, true
	c.adm.mu.Unlock()
	for _, t := range ts {
		t.Release()
	}
}

// policyOutcome maps a refusal of the policy to the caller's answer: 403
// with the rule in the reason phrase, or 503 with Retry-After
// (callpolicy.Refusal).
func policyOutcome(err error) (outcome, bool) {
	var r *callpolicy.Refusal
	if !errors.As(err, &r) {
		return outcome{}, false
	}
	o := outcome{Status: r.Status, Reason: r.Reason, Cause: CausePolicy}
	if r.RetryAfter > 0 {
		o.RetryAfter = strconv.Itoa(int(r.RetryAfter.Seconds())) // RFC 3261 §20.33
	}
	return o, true
}
