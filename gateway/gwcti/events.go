package gwcti

import (
	"fmt"
	"strings"

	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/plugins"
)

// callState is what the source knows of a call: the local users on it and
// the state of each one's connection (ECMA-269 §6.1.5).
type callState struct {
	calling, called string                             // device or number, for the events
	conns           map[string]plugins.ConnectionState // local users on the call
	alerting        string                             // the local user rung, until answered
}

// OnCall is the B2BUA's observer (b2bua.Options.OnCall): each call state
// change becomes the CSTA events of the local users on the call, one per
// device, Event.State being that device's own connection state. It never
// blocks.
func (s *Source) OnCall(ev b2bua.CallEvent) {
	s.mu.Lock()
	cs := s.calls[ev.ID]
	if cs == nil {
		cs = &callState{conns: map[string]plugins.ConnectionState{}}
		s.calls[ev.ID] = cs
	}
	if ev.State == b2bua.CallEnded {
		delete(s.calls, ev.ID)
	}
	cause := plugins.CauseTransfer
	switch {
	case s.sst[ev.ID]:
		cause = plugins.CauseSingleStepTransfer
	case s.pickups[ev.ID]:
		cause = plugins.CauseCallPickup
	}
	slot := s.slotOf(ev.ID)
	if ev.State == b2bua.CallTransferred || ev.State == b2bua.CallEnded {
		delete(s.sst, ev.ID)
		delete(s.pickups, ev.ID)
		delete(s.slots, slot) // picked up, or the parked party hung up
	}
	if ev.State == b2bua.CallParked {
		ev.Other = slot
	}
	out := cs.apply(ev, cause)
	s.mu.Unlock()
	for _, e := range out {
		e.CallID = ev.ID
		s.emit(e)
	}
}

// apply moves cs by ev and returns the events it makes (s.mu held).
// xferCause is the cause of a CallTransferred's events.
func (cs *callState) apply(ev b2bua.CallEvent, xferCause plugins.Cause) []plugins.Event {
	var out []plugins.Event
	add := func(dev string, t plugins.EventType, st plugins.ConnectionState, cause plugins.Cause, other string) {
		if dev == "" {
			return
		}
		if st == plugins.StateNull {
			delete(cs.conns, dev)
		} else {
			cs.conns[dev] = st
		}
		out = append(out, plugins.Event{Device: dev, Type: t, State: st, Cause: cause,
			Calling: cs.calling, Called: cs.called, Other: other})
	}
	a := ev.A.User
	switch ev.State {
	case b2bua.CallOriginated:
		cs.calling, cs.called = party(ev.A), ev.Target
		if ev.Target == "" {
			cs.called = ev.Dialled
		}
		add(a, plugins.EventOriginated, plugins.StateConnected, plugins.CauseNewCall, "")
	case b2bua.CallAlerting:
		if cs.calling == "" {
			cs.calling = party(ev.A)
		}
		if ev.Target == "" { // a trunk rings
			add(a, plugins.EventNetworkReached, plugins.StateConnected, plugins.CauseNewCall, "")
			break
		}
		cs.called, cs.alerting = ev.Target, ev.Target
		add(ev.Target, plugins.EventDelivered, plugins.StateAlerting, plugins.CauseNewCall, "")
		if a != ev.Target {
			add(a, plugins.EventDelivered, plugins.StateConnected, plugins.CauseNewCall, "")
		}
	case b2bua.CallAnswered:
		b := ev.B.User
		cs.called = party(ev.B)
		if cs.alerting != "" && cs.alerting != b {
			// Picked up by another user: the rung one's connection goes.
			add(cs.alerting, plugins.EventConnectionCleared, plugins.StateNull, plugins.CauseCallPickup, b)
		}
		cs.alerting = ""
		add(b, plugins.EventEstablished, plugins.StateConnected, plugins.CauseNewCall, "")
		if a != b {
			add(a, plugins.EventEstablished, plugins.StateConnected, plugins.CauseNewCall, "")
		}
	case b2bua.CallHeld, b2bua.CallRetrieved:
		t, st := plugins.EventHeld, plugins.StateHold
		if ev.State == b2bua.CallRetrieved {
			t, st = plugins.EventRetrieved, plugins.StateConnected
		}
		for _, dev := range []string{a, ev.B.User} {
			if dev == "" || cs.conns[dev] == plugins.StateNull {
				continue
			}
			if dev == ev.By {
				add(dev, t, st, plugins.CauseUnspecified, "")
			} else {
				add(dev, t, cs.conns[dev], plugins.CauseUnspecified, "")
			}
		}
	case b2bua.CallDiverted:
		cause := divertCause(ev.Reason)
		if ev.Target != "" {
			add(ev.Target, plugins.EventDiverted, plugins.StateNull, cause, ev.Other)
		}
		cs.alerting, cs.called = "", ev.Other
		if a != "" && a != ev.Target {
			add(a, plugins.EventDiverted, plugins.StateConnected, cause, ev.Other)
		}
	case b2bua.CallTransferred:
		cause := xferCause
		now := map[string]bool{}
		for _, p := range []b2bua.CallParty{ev.A, ev.B} {
			if p.User != "" {
				now[p.User] = true
			}
		}
		// The new party is the one that was not on the call before.
		newParty := party(ev.A)
		if newParty == cs.calling || newParty == cs.called {
			newParty = party(ev.B)
		}
		cs.calling, cs.called = party(ev.A), party(ev.B)
		for _, dev := range cs.devices() {
			if !now[dev] { // the transferor
				add(dev, plugins.EventTransferred, plugins.StateNull, cause, newParty)
			}
		}
		for _, pt := range []b2bua.CallParty{ev.A, ev.B} {
			dev := pt.User
			if dev == "" {
				continue
			}
			st := cs.conns[dev]
			if st == plugins.StateUnspecified || st == plugins.StateHold || st == plugins.StateQueued {
				st = plugins.StateConnected
			}
			other := newParty
			if dev == newParty { // the new party: its far end is the transferee
				other = party(ev.A)
				if other == newParty {
					other = party(ev.B)
				}
			}
			add(dev, plugins.EventTransferred, st, cause, other)
		}
	case b2bua.CallParked:
		// The parker's connection goes; the parked party waits (queued).
		for _, dev := range cs.devices() {
			if dev == ev.By {
				add(dev, plugins.EventParked, plugins.StateNull, plugins.CausePark, ev.Other)
			} else {
				add(dev, plugins.EventParked, plugins.StateQueued, plugins.CausePark, ev.Other)
			}
		}
	case b2bua.CallEnded:
		cause, raw := endCause(ev)
		devs := cs.devices()
		if cs.alerting != "" && !cs.has(cs.alerting) {
			devs = append(devs, cs.alerting)
		}
		if len(devs) == 0 && a != "" {
			devs = []string{a} // refused before anything was reported
		}
		for _, dev := range devs {
			add(dev, plugins.EventConnectionCleared, plugins.StateNull, cause, "")
			out[len(out)-1].RawCause = raw
		}
	}
	return out
}

func (cs *callState) has(dev string) bool {
	_, ok := cs.conns[dev]
	return ok
}

// devices lists the local users on the call, in a stable order.
func (cs *callState) devices() []string {
	out := make([]string, 0, len(cs.conns))
	for d := range cs.conns {
		out = append(out, d)
	}
	if len(out) == 2 && out[0] > out[1] {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// party is a party as events name it: its username, else its number.
func party(p b2bua.CallParty) string {
	if p.User != "" {
		return p.User
	}
	return p.Number
}

// divertCause maps an RFC 5806 diversion reason to the CSTA cause.
func divertCause(reason string) plugins.Cause {
	switch reason {
	case "unconditional":
		return plugins.CauseCallForwardImmediate
	case "user-busy", "unavailable":
		return plugins.CauseCallForwardBusy
	case "no-answer":
		return plugins.CauseCallForwardNoAnswer
	}
	return plugins.CauseRedirected
}

// endCause maps why a call ended to the CSTA cause and the raw text.
func endCause(ev b2bua.CallEvent) (plugins.Cause, string) {
	raw := fmt.Sprintf("%d %s", ev.Status, ev.Cause)
	if ev.EndedBy != "" {
		raw += " by " + ev.EndedBy
	}
	switch ev.Cause {
	case b2bua.CauseNormal:
		return plugins.CauseNormalClearing, raw
	case b2bua.CauseBusy:
		return plugins.CauseBusy, raw
	case b2bua.CauseCancelled:
		return plugins.CauseCallCancelled, raw
	case b2bua.CauseNoAnswer:
		return plugins.CauseNoAnswer, raw
	case b2bua.CauseNoRoute, b2bua.CauseNotReachable:
		return plugins.CauseDestinationNotObtainable, raw
	case b2bua.CauseUnavailable:
		return plugins.CauseNetworkCongestion, raw
	case b2bua.CauseRejected:
		if ev.Status == 603 {
			return plugins.CauseCallCancelled, raw
		}
		return plugins.CauseNormalClearing, raw
	}
	if strings.HasPrefix(string(ev.Cause), "policy") {
		return plugins.CauseBlocked, raw
	}
	return plugins.CauseUnspecified, raw
}

// OnBindings is the registrar's observer (registrar.Options.OnBindings):
// a user with no binding left in any domain is offline (EventLinkDown
// with Device), one with a first binding online again (EventLinkUp with
// Device). It is called under the registrar's lock of aor: it only
// counts, and never calls back into the registrar.
func (s *Source) OnBindings(aor string, live int) {
	user, _, _ := strings.Cut(aor, "@")
	if user == "" {
		return
	}
	s.mu.Lock()
	if live > 0 {
		s.aors[aor] = live
	} else {
		delete(s.aors, aor)
	}
	on := false
	for a := range s.aors {
		if u, _, _ := strings.Cut(a, "@"); u == user {
			on = true
			break
		}
	}
	was, known := s.online[user]
	s.online[user] = on
	s.mu.Unlock()
	if known && was == on || !s.up.Load() {
		return // no change, or told by Start
	}
	if on {
		s.emit(plugins.Event{Type: plugins.EventLinkUp, Device: user, Cause: plugins.CauseLinkFailure, RawCause: "registered"})
	} else {
		s.emit(plugins.Event{Type: plugins.EventLinkDown, Device: user, Cause: plugins.CauseLinkFailure, RawCause: "no registered device"})
	}
}
