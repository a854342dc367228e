package conformance

import (
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// The scenarios of issue 13 beyond the basic calls: a busy destination,
// a call waiting in a hunt group's queue, a call out to the public
// network and a PBX outage (snapshots stale, then fresh). Each asserts
// the parties, names and causes a console shows, not only event types.

const stQueued = plugins.StateQueued

func hasQueue(s Setup) string {
	if s.Queue == "" {
		return "the simulator setup has no Queue (a hunt group or ACD queue)"
	}
	return ""
}

func hasExternal(s Setup) string {
	if s.External == "" {
		return "the simulator setup has no External number"
	}
	return ""
}

func hasOutage(s Setup) string {
	switch {
	case s.Outage == nil:
		return "the simulator setup has no Outage hook"
	case s.Incoming == nil:
		return "the simulator setup has no Incoming hook"
	}
	return ""
}

// parties fails the test unless e names calling and called as the
// call's parties (ECMA-269 callingDevice, calledDevice; Xsi the caller
// half's remote party).
func (r *runner) parties(e plugins.Event, calling, called string) {
	r.t.Helper()
	if e.Calling != calling || e.Called != called {
		r.t.Fatalf("%s at %s names calling %q, called %q; want %q, %q (%s)",
			e.Type, e.Device, e.Calling, e.Called, calling, called, describe(e))
	}
}

// named fails the test unless e carries the calling party's name as the
// PBX (or the configured directory) has it, when Setup.Names knows it.
func (r *runner) named(e plugins.Event) {
	r.t.Helper()
	if want := r.setup.Names[e.Calling]; want != "" && e.CallingName != want {
		r.t.Fatalf("%s at %s: calling name %q, want %q (%s)", e.Type, e.Device, e.CallingName, want, describe(e))
	}
}

// busy: A talks to B; C calls B, which has no free line. The attempt
// fails at C with the cause busy, naming C and B as its parties; B never
// rings for it and keeps its call (ECMA-269 Failed, cause busy; Xsi
// CallReleased with releaseCause Busy).
func busy(r *runner) {
	r.monitor(r.A, r.B, r.C)
	_, atB := r.connect(r.A, r.B)
	_, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.C, Called: r.B})
	r.check(sMakeCall, "make call", err)
	f := r.failedAt(r.C, "call to a busy device", plugins.CauseBusy)
	if f.Type == plugins.EventFailed {
		r.parties(f, r.C, r.B)
	}
	if e, ok := r.find(func(e plugins.Event) bool {
		return e.Device == r.B && e.State == stAlerting && e.CallID != atB.CallID
	}, 300*time.Millisecond); ok {
		r.t.Fatalf("busy %s rang for the second call: %s", r.B, describe(e))
	}
	r.eventually(r.B, "its one call, still connected", calls(stConnected))
	r.eventually(r.C, "no calls, or the failed one", noneOrFailed)
}

// queued: D, the only member of Setup.Queue, talks to B; A calls the
// queue and waits in it. A sees Queued (the queue as the far end, A
// still connected: it hears the queue); the queue's monitor sees its
// queued connection and its snapshot holds the waiting call. When D's
// call ends, the queue hands A's call to D: Delivered alerting at D,
// A calling, the queue as the redirecting device, and the queue is empty.
func queued(r *runner) {
	q := r.setup.Queue
	r.monitor(r.A, r.B, r.D, q)
	atB, _ := r.connect(r.B, r.D)
	ref, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.A, Called: q})
	r.check(sMakeCall, "make call to the queue", err)
	atA := r.expect(r.A, ev(plugins.EventQueued).onCall(ref.CallID))[0]
	if atA.Calling != r.A || (atA.Called != q && atA.Other != q) {
		r.t.Fatalf("queued at %s names calling %q, called %q, other %q; want %q and the queue %q (%s)",
			r.A, atA.Calling, atA.Called, atA.Other, r.A, q, describe(atA))
	}
	atQ := r.expect(q, ev(plugins.EventQueued, stQueued))[0]
	if atQ.Calling != r.A {
		r.t.Fatalf("queued at the queue %s names calling %q, want %q (%s)", q, atQ.Calling, r.A, describe(atQ))
	}
	r.eventually(q, "one call queued", calls(stQueued))
	r.eventually(r.A, "one call connected (waiting in the queue)", calls(stConnected))

	r.check(sClear, "clear the member's call", r.d.Clear(r.ctx(), atB))
	d := r.expect(r.D, ev(plugins.EventDelivered, stAlerting))[0]
	if d.Calling != r.A || (d.LastRedirection != q && d.Called != q) {
		r.t.Fatalf("delivered at member %s names calling %q, called %q, last redirection %q; want %q from the queue %q (%s)",
			r.D, d.Calling, d.Called, d.LastRedirection, r.A, q, describe(d))
	}
	r.named(d)
	r.eventually(q, "no calls (the call left the queue)", calls())
	r.eventually(r.D, "one call alerting", calls(stAlerting))
}

// externalCall: A calls a number of the public network. The call leaves
// over a trunk and the far end answers: A's events name the number as
// called party and the far end as external; A's snapshot holds one
// connected call to the number, external.
func externalCall(r *runner) {
	r.monitor(r.A)
	to := r.setup.External
	ref, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.A, Called: to})
	r.check(sMakeCall, "make call to "+to, err)
	e, ok := r.find(func(e plugins.Event) bool {
		return e.Device == r.A && e.CallID == ref.CallID && e.PartyType == plugins.PartyExternal &&
			(e.Type == plugins.EventNetworkReached || e.Type == plugins.EventEstablished)
	}, EventTimeout)
	if !ok {
		r.t.Fatalf("call to %s: no network_reached or established at %s with an external party; events:\n%s", to, r.A, r.dump(r.A))
	}
	if e.Called != to {
		r.t.Fatalf("%s at %s names called %q, want %q (%s)", e.Type, r.A, e.Called, to, describe(e))
	}
	s := r.eventually(r.A, "one call connected", calls(stConnected))
	if c := s.Calls[0]; c.PartyType != plugins.PartyExternal || c.Called != to {
		r.t.Fatalf("snapshot of the call to %s: %+v", to, c)
	}
}

// linkOutage: the PBX goes away. The driver says link_down (cause
// link_failure) and A's snapshot is marked stale. While the link is
// down a call from the public network rings A, which the driver cannot
// see; when the PBX is back (link_up), A's snapshot is fresh (not stale)
// and holds that call, alerting: the driver re-read the PBX.
func linkOutage(r *runner) {
	r.monitor(r.A)
	mark := r.mark()
	restore := r.setup.Outage()
	restored := false
	defer func() {
		if !restored {
			restore()
		}
	}()
	down, ok := r.waitAfter(mark, func(e plugins.Event) bool { return e.Type == plugins.EventLinkDown }, StartTimeout)
	if !ok {
		r.t.Fatalf("no link_down after the PBX went away:\n%s", r.dump(""))
	}
	if down.Cause != plugins.CauseLinkFailure {
		r.t.Fatalf("link_down cause %s, want link_failure (%s)", down.Cause, describe(down))
	}
	r.eventually(r.A, "stale, while the link is down", func(s plugins.DeviceSnapshot) bool { return s.Stale })
	r.setup.Incoming("0301234567", r.A)
	restore()
	restored = true
	if _, ok := r.waitAfter(mark, func(e plugins.Event) bool { return e.Type == plugins.EventLinkUp }, StartTimeout); !ok {
		r.t.Fatalf("no link_up after the PBX came back:\n%s", r.dump(""))
	}
	r.eventually(r.A, "fresh (not stale) with the call that came during the outage, alerting", func(s plugins.DeviceSnapshot) bool {
		return !s.Stale && calls(stAlerting)(s)
	})
}

func hasSetMessageWaiting(s Setup) string {
	if s.SetMessageWaiting == nil {
		return "the simulator setup has no SetMessageWaiting hook"
	}
	return ""
}

// messageWaiting: a message waits for A before anyone monitors it. Once
// A is monitored its snapshot shows the lamp on at once, with no event
// needed (the driver asked the PBX: CSTA GetMessageWaitingIndicator, Xsi
// Voice Messaging); turned off, a message_waiting event says so and the
// snapshot follows.
func messageWaiting(r *runner) {
	r.setup.SetMessageWaiting(r.A, true)
	mark := r.mark()
	r.monitor(r.A)
	r.eventually(r.A, "message waiting on, from monitor start", func(s plugins.DeviceSnapshot) bool { return s.MessageWaiting })
	if e, ok := r.findAfter(mark, func(e plugins.Event) bool { return e.Type == plugins.EventMessageWaiting }); ok {
		r.t.Fatalf("the lamp came from an event, not from monitor start: %s", describe(e))
	}
	r.setup.SetMessageWaiting(r.A, false)
	if e := r.expect(r.A, ev(plugins.EventMessageWaiting))[0]; e.MessageWaiting {
		r.t.Fatalf("message_waiting event after the lamp went off: %s", describe(e))
	}
	r.eventually(r.A, "message waiting off", func(s plugins.DeviceSnapshot) bool { return !s.MessageWaiting })
}
