package b2bua

import (
	"crypto/rand"
	"encoding/hex"

	psdp "github.com/pion/sdp/v3"
)

// Call state for observers (gateway/gwcti, the gateway as a CTI source):
// Options.OnCall is told of every change of a call's state with the
// parties as they stand. The hooks are one line at each place the state
// changes (call.go, ring.go, leg.go, refer.go, pickup.go); they change no
// behaviour.

// CallState is what happened to a call.
type CallState int

// The call states an observer sees.
const (
	// CallOriginated: the caller's INVITE was routed to Target.
	CallOriginated CallState = iota + 1
	// CallAlerting: Target's devices ring (a provisional came back).
	CallAlerting
	// CallAnswered: B answered (a device's 2xx, or a pickup).
	CallAnswered
	// CallHeld: By put the other party on hold (a sendonly or inactive
	// offer, RFC 3264 §8.4), from its phone or through Hold.
	CallHeld
	// CallRetrieved: By took the other party off hold.
	CallRetrieved
	// CallDiverted: Target's call went on to Other (Reason: RFC 5806
	// user-busy, no-answer, unavailable, unconditional, deflection).
	CallDiverted
	// CallTransferred: By's leg was replaced by Other (REFER, or
	// Transfer); the parties are the new ones.
	CallTransferred
	// CallEnded: the call is over (answered or not): Status is the
	// setup's final status (200 once answered), Cause why it ended.
	CallEnded
	// CallParked: By parked the call (park.go): its leg was released, the
	// other party waits on hold; Unpark's CallTransferred ends it.
	CallParked
)

// CallParty is one side of a call: the local user it is, else the number
// it presents or was dialled as.
type CallParty struct {
	User   string `json:"user,omitempty"`
	Number string `json:"number,omitempty"`
}

// CallEvent is one change of a call's state.
type CallEvent struct {
	// ID names the call for as long as it lasts (Call, Hangup...): random,
	// the same across transfers.
	ID    string
	State CallState
	// A is the calling side, B the answered side (zero before the answer).
	A, B CallParty
	// Target is the local user rung or diverted from ("" for a trunk);
	// Dialled the number the caller dialled.
	Target, Dialled string
	// By is the user that acted (hold, transfer); Other a diversion's or
	// transfer's new party.
	By, Other string
	// Reason is a diversion's reason; Status and Cause a CallEnded's.
	Reason string
	Status int
	Cause  Cause
	// EndedBy says who ended an answered call: caller, callee or gateway.
	EndedBy string
}

// newCallRef is a call's ID for observers and control.
func newCallRef() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// track lists c for control (control.go) until untrack.
func (b *B2BUA) track(c *call) {
	c.ref, c.clear, c.deflect = newCallRef(), make(chan string), make(chan deflectReq)
	b.mu.Lock()
	if b.byRef == nil {
		b.byRef = map[string]*call{}
	}
	b.byRef[c.ref] = c
	b.mu.Unlock()
}

func (b *B2BUA) untrack(c *call) {
	b.mu.Lock()
	delete(b.byRef, c.ref)
	b.mu.Unlock()
}

// observe tells Options.OnCall of state st of c; ev carries what st adds.
// A call that ended is no longer listed for control (Calls, Hangup...).
func (c *call) observe(st CallState, ev CallEvent) {
	gw := c.gw
	if st == CallEnded && c.ref != "" {
		gw.untrack(c)
	}
	if gw.o.OnCall == nil || c.ref == "" {
		return
	}
	ev.ID, ev.State, ev.Dialled = c.ref, st, c.num
	gw.mu.Lock()
	ev.A = c.partyOf(c.a, true)
	if c.a == nil && c.from.user != "" {
		ev.A = CallParty{User: c.from.user, Number: c.from.user} // click-to-dial (dial.go)
	}
	if c.b != nil && !c.answered.IsZero() {
		ev.B = c.partyOf(c.b, false)
	}
	gw.mu.Unlock()
	if st == CallEnded {
		c.info.mu.Lock()
		ev.EndedBy = c.info.endedBy
		c.info.mu.Unlock()
	}
	gw.o.OnCall(ev)
}

// partyOf is the party at d's far end (with gw.mu held): its user, else
// the number it presented (the A side) or was dialled as (the B side).
func (c *call) partyOf(d *dialog, isA bool) CallParty {
	if d == nil {
		return CallParty{}
	}
	if d.user != "" {
		return CallParty{User: d.user, Number: d.user}
	}
	if isA {
		if c.from.number != "" {
			return CallParty{Number: c.from.number}
		}
		return CallParty{Number: d.remote.User}
	}
	if c.diverted != nil {
		return CallParty{Number: c.diverted.to}
	}
	return CallParty{Number: c.num}
}

// observeOffer tells of hold and retrieve from an offer l's far end made
// (or that Hold made for it): sendonly or inactive holds the call, a
// later sendrecv or recvonly takes it off hold (RFC 3264 §8.4).
func (c *call) observeOffer(l *leg, dir psdp.Direction) {
	held := dir == psdp.DirectionSendOnly || dir == psdp.DirectionInactive
	c.est.mu.Lock()
	if c.held == nil {
		c.held = map[*dialog]bool{}
	}
	was := c.held[l.d]
	c.held[l.d] = held
	c.est.mu.Unlock()
	c.gw.mu.Lock()
	by := c.partyOf(l.d, l.isA)
	c.gw.mu.Unlock()
	switch {
	case held && !was:
		c.observe(CallHeld, CallEvent{By: by.Number})
	case !held && was:
		c.observe(CallRetrieved, CallEvent{By: by.Number})
	}
}
