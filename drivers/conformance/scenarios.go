package conformance

import (
	"errors"
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Shorthands for the model's services, events and states.
const (
	sMakeCall      = plugins.ServiceMakeCall
	sAnswer        = plugins.ServiceAnswer
	sClear         = plugins.ServiceClear
	sHold          = plugins.ServiceHold
	sRetrieve      = plugins.ServiceRetrieve
	sConsultation  = plugins.ServiceConsultation
	sTransfer      = plugins.ServiceTransfer
	sConference    = plugins.ServiceConference
	sPark          = plugins.ServicePark
	sPickup        = plugins.ServicePickup
	sSetDND        = plugins.ServiceSetDND
	sSetForwarding = plugins.ServiceSetForwarding
	sSingleStep    = plugins.ServiceSingleStepTransfer
	sDeflect       = plugins.ServiceDeflect
	sDigits        = plugins.ServiceGenerateDigits
	sAgentState    = plugins.ServiceSetAgentState
	sReconnect     = plugins.ServiceReconnect
	sAlternate     = plugins.ServiceAlternate

	stNull      = plugins.StateNull
	stInitiated = plugins.StateInitiated
	stAlerting  = plugins.StateAlerting
	stConnected = plugins.StateConnected
	stHold      = plugins.StateHold
)

// scenarios in the order they run.
var scenarios = []scenario{
	{"capabilities", nil, capabilities, nil},
	{"monitor", nil, monitorScenario, nil},
	{"call", []plugins.Service{sMakeCall}, callScenario, nil},
	{"answer", []plugins.Service{sMakeCall, sAnswer}, answerScenario, nil},
	{"hold_retrieve", []plugins.Service{sMakeCall, sAnswer, sHold, sRetrieve}, holdRetrieve, nil},
	{"consultation_transfer", []plugins.Service{sMakeCall, sAnswer, sConsultation, sTransfer}, consultTransfer, nil},
	{"conference", []plugins.Service{sMakeCall, sAnswer, sConsultation, sConference}, conference, nil},
	{"clear", []plugins.Service{sMakeCall, sClear}, clearScenario, nil},
	{"park_pickup", []plugins.Service{sMakeCall, sAnswer, sPark, sPickup}, parkPickup, nil},
	{"single_step_transfer", []plugins.Service{sMakeCall, sAnswer, sSingleStep}, singleStep, nil},
	{"deflect", []plugins.Service{sMakeCall, sDeflect}, deflect, nil},
	{"generate_digits", []plugins.Service{sMakeCall, sAnswer, sDigits}, digits, nil},
	{"agent_state", []plugins.Service{sAgentState}, agentState, nil},
	{"dnd", []plugins.Service{sSetDND}, dnd, nil},
	{"forwarding", []plugins.Service{sSetForwarding}, forwarding, nil},
	{"dnd_rejected", []plugins.Service{sMakeCall, sSetDND}, dndRejected, nil},
	{"unobtainable", []plugins.Service{sMakeCall}, unobtainable, nil},
	{"alternate_reconnect", []plugins.Service{sMakeCall, sAnswer, sConsultation, sAlternate, sReconnect}, alternateReconnect, nil},
	{"external_caller", nil, externalCaller, hasIncoming},
	{"link_restore", []plugins.Service{sMakeCall}, linkRestore, hasDropLink},
	{"directory", []plugins.Service{plugins.ServiceListDevices}, directory, hasNames},
	{"busy", []plugins.Service{sMakeCall, sAnswer}, busy, nil},
	{"queued", []plugins.Service{sMakeCall, sAnswer, sClear}, queued, hasQueue},
	{"external_call", []plugins.Service{sMakeCall}, externalCall, hasExternal},
	{"link_outage", nil, linkOutage, hasOutage},
	{"message_waiting", []plugins.Service{plugins.ServiceMessageWaiting}, messageWaiting, hasSetMessageWaiting},
}

// capabilities: every service the driver does not declare answers "not
// supported" (a driver cannot pretend by omission either way).
func capabilities(r *runner) {
	t := r.t
	for _, svc := range r.caps.Services {
		if svc == plugins.ServiceUnspecified || svc.String() == "" {
			t.Errorf("declared service %d is not a service of the model", svc)
		}
	}
	c := plugins.ConnectionRef{Device: r.A, CallID: "1"}
	calls := map[plugins.Service]func() error{
		plugins.ServiceMakeCall: func() error {
			_, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.A, Called: r.B})
			return err
		},
		plugins.ServiceAnswer:   func() error { return r.d.Answer(r.ctx(), c) },
		plugins.ServiceClear:    func() error { return r.d.Clear(r.ctx(), c) },
		plugins.ServiceHold:     func() error { return r.d.Hold(r.ctx(), c) },
		plugins.ServiceRetrieve: func() error { return r.d.Retrieve(r.ctx(), c) },
		plugins.ServiceConsultation: func() error {
			_, err := r.d.Consultation(r.ctx(), c, r.B)
			return err
		},
		plugins.ServiceTransfer: func() error { _, err := r.d.Transfer(r.ctx(), c, c); return err },
		plugins.ServiceSingleStepTransfer: func() error {
			_, err := r.d.SingleStepTransfer(r.ctx(), c, r.B)
			return err
		},
		plugins.ServiceConference:     func() error { _, err := r.d.Conference(r.ctx(), c, c); return err },
		plugins.ServiceDeflect:        func() error { return r.d.Deflect(r.ctx(), c, r.B) },
		plugins.ServiceGenerateDigits: func() error { return r.d.GenerateDigits(r.ctx(), c, "1") },
		plugins.ServicePark:           func() error { _, err := r.d.Park(r.ctx(), c, r.setup.ParkSlot); return err },
		plugins.ServicePickup:         func() error { _, err := r.d.Pickup(r.ctx(), r.A, r.B); return err },
		plugins.ServiceSetDND:         func() error { return r.d.SetDND(r.ctx(), r.A, false) },
		plugins.ServiceSetForwarding: func() error {
			return r.d.SetForwarding(r.ctx(), r.A, plugins.Forwarding{Type: plugins.ForwardImmediate})
		},
		plugins.ServiceSetAgentState: func() error {
			return r.d.SetAgentState(r.ctx(), plugins.AgentStateRequest{Device: r.A, State: plugins.AgentReady})
		},
		plugins.ServiceReconnect: func() error { _, err := r.d.Reconnect(r.ctx(), c, c); return err },
		plugins.ServiceAlternate: func() error { _, err := r.d.Alternate(r.ctx(), c, c); return err },
		plugins.ServiceListDevices: func() error {
			_, err := r.d.ListDevices(r.ctx(), "", 0)
			return err
		},
		plugins.ServiceGroupPickup: func() error { _, err := r.d.GroupPickup(r.ctx(), r.A, "1"); return err },
		plugins.ServiceCampOn:      func() error { return r.d.CampOn(r.ctx(), c) },
		plugins.ServiceCallBack:    func() error { return r.d.CallBack(r.ctx(), c) },
		plugins.ServiceIntrude:     func() error { _, err := r.d.Intrude(r.ctx(), c); return err },
		plugins.ServiceAccountCode: func() error { // an account code is refused, never dropped
			_, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.A, Called: r.B, AccountCode: "1"})
			return err
		},
	}
	for _, svc := range plugins.AllServices() {
		if r.caps.Supports(svc) || svc == plugins.ServiceMessageWaiting || svc == plugins.ServiceQueueMonitor { // a capability without a call
			continue
		}
		f, ok := calls[svc]
		if !ok {
			t.Errorf("suite has no probe for %s", svc)
			continue
		}
		if err := f(); !errors.Is(err, plugins.ErrNotSupported) {
			t.Errorf("%s is not declared but answers %v, want a not supported error", svc, err)
		}
	}
	t.Logf("%s (%s %s) declares %v, max monitors %d", r.name, r.caps.Vendor, r.caps.Version, r.caps.Services, r.caps.MaxMonitors)
}

// monitorScenario: MonitorStart returns an id (the same one when repeated,
// a different one per device), Snapshot answers for monitored devices,
// events carry the monitor id, and MonitorStop ends a device's events.
func monitorScenario(r *runner) {
	t := r.t
	r.monitor(r.A, r.B, r.C)
	again, err := r.d.MonitorStart(r.ctx(), r.A)
	if err != nil || again != r.ids[r.A] {
		t.Fatalf("monitor start %s again: id %q, %v; want %q", r.A, again, err, r.ids[r.A])
	}
	for _, dev := range []string{r.A, r.B, r.C} {
		s, err := r.d.Snapshot(r.ctx(), dev)
		if err != nil {
			t.Fatalf("snapshot %s: %v", dev, err)
		}
		if s.Device != dev {
			t.Errorf("snapshot of %s names device %q", dev, s.Device)
		}
	}
	if err := r.d.MonitorStop(r.ctx(), r.C); err != nil {
		t.Fatalf("monitor stop %s: %v", r.C, err)
	}
	if !r.caps.Supports(sMakeCall) {
		return
	}
	// A call from A to C: A's events carry A's monitor id (expect checks
	// it); C, no longer monitored, reports nothing.
	ref, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.A, Called: r.C})
	r.check(sMakeCall, "make call", err)
	r.expect(r.A, ev(plugins.EventDelivered).onCall(ref.CallID))
	if e, ok := r.find(func(e plugins.Event) bool { return e.Device == r.C && e.Type != plugins.EventMonitorEnded }, 300*time.Millisecond); ok {
		t.Errorf("event at %s after its monitor stopped: %s", r.C, describe(e))
	}
}

// makeCall calls from a to b, with a and b monitored, and checks the
// events of ECMA-269 §6 (Originated and Delivered at a, Delivered
// alerting at b). It returns a's connection and b's Delivered event.
func (r *runner) makeCall(a, b string) (plugins.ConnectionRef, plugins.Event) {
	r.t.Helper()
	ref, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: a, Called: b})
	r.check(sMakeCall, "make call", err)
	if ref.CallID == "" {
		r.t.Fatalf("make call %s→%s: no call id in %+v", a, b, ref)
	}
	if ref.Device == "" {
		ref.Device = a
	}
	if ref.Device != a {
		r.t.Fatalf("make call %s→%s returned the connection of %q", a, b, ref.Device)
	}
	// The calling device is initiated, or already connected once the
	// call is offered (ECMA-269 Originated).
	r.expect(a,
		ev(plugins.EventOriginated, stInitiated, stConnected).onCall(ref.CallID),
		ev(plugins.EventDelivered, stInitiated, stConnected).onCall(ref.CallID))
	delivered := r.expect(b, ev(plugins.EventDelivered, stAlerting))[0]
	if delivered.CallID == "" {
		r.t.Fatalf("delivered at %s without a call id", b)
	}
	// The parties (ECMA-269 §17.2.5): who calls, whom, and the cause of
	// a new call.
	if delivered.Calling != a || delivered.Called != b {
		r.t.Fatalf("delivered at %s names calling %q, called %q; want %q, %q (%s)", b, delivered.Calling, delivered.Called, a, b, describe(delivered))
	}
	if delivered.Cause != plugins.CauseNewCall && delivered.Cause != plugins.CauseMakeCall {
		r.t.Fatalf("delivered at %s: cause %s, want new_call (or make_call)", b, delivered.Cause)
	}
	r.named(delivered) // the lamp at b shows who calls
	return ref, delivered
}

// connect makes an answered call from a to b and returns both connections.
func (r *runner) connect(a, b string) (atA, atB plugins.ConnectionRef) {
	r.t.Helper()
	atA, delivered := r.makeCall(a, b)
	atB = refOf(delivered)
	r.check(sAnswer, "answer", r.d.Answer(r.ctx(), atB))
	r.expect(b, ev(plugins.EventEstablished, stConnected).onCall(atB.CallID))
	r.expect(a, ev(plugins.EventEstablished, stConnected).onCall(atA.CallID))
	return atA, atB
}

func callScenario(r *runner) {
	r.monitor(r.A, r.B)
	_, _ = r.makeCall(r.A, r.B)
	r.eventually(r.A, "one call initiated or connected", func(s plugins.DeviceSnapshot) bool {
		return calls(stInitiated)(s) || calls(stConnected)(s)
	})
	s := r.eventually(r.B, "one call alerting", calls(stAlerting))
	if want := r.setup.Names[r.A]; want != "" && (s.Calls[0].Other != r.A || s.Calls[0].OtherName != want) {
		r.t.Fatalf("snapshot of %s: the far end is %q named %q, want %q named %q", r.B, s.Calls[0].Other, s.Calls[0].OtherName, r.A, want)
	}
}

func answerScenario(r *runner) {
	r.monitor(r.A, r.B)
	r.connect(r.A, r.B)
	r.eventually(r.A, "one call connected", calls(stConnected))
	r.eventually(r.B, "one call connected", calls(stConnected))
}

func holdRetrieve(r *runner) {
	r.monitor(r.A, r.B)
	atA, _ := r.connect(r.A, r.B)
	r.check(sHold, "hold", r.d.Hold(r.ctx(), atA))
	r.expect(r.A, ev(plugins.EventHeld, stHold).onCall(atA.CallID))
	r.eventually(r.A, "one call on hold", calls(stHold))
	r.check(sRetrieve, "retrieve", r.d.Retrieve(r.ctx(), atA))
	r.expect(r.A, ev(plugins.EventRetrieved, stConnected).onCall(atA.CallID))
	r.eventually(r.A, "one call connected", calls(stConnected))
}

// consult: A talks to B, consults C, C answers. It returns A's held and
// active connections.
func (r *runner) consult() (held, active plugins.ConnectionRef) {
	r.t.Helper()
	r.monitor(r.A, r.B, r.C)
	held, _ = r.connect(r.A, r.B)
	active, err := r.d.Consultation(r.ctx(), held, r.C)
	r.check(sConsultation, "consultation", err)
	if active.CallID == "" || active.CallID == held.CallID {
		r.t.Fatalf("consultation returned %+v (held call %s)", active, held.CallID)
	}
	if active.Device == "" {
		active.Device = r.A
	}
	r.expect(r.A, ev(plugins.EventHeld, stHold).onCall(held.CallID))
	atC := refOf(r.expect(r.C, ev(plugins.EventDelivered, stAlerting))[0])
	r.check(sAnswer, "answer consultation", r.d.Answer(r.ctx(), atC))
	r.expect(r.C, ev(plugins.EventEstablished, stConnected).onCall(atC.CallID))
	r.expect(r.A, ev(plugins.EventEstablished, stConnected).onCall(active.CallID))
	r.eventually(r.A, "a held and a connected call", calls(stHold, stConnected))
	return held, active
}

func consultTransfer(r *runner) {
	held, active := r.consult()
	_, err := r.d.Transfer(r.ctx(), held, active)
	r.check(sTransfer, "transfer", err)
	r.expect(r.B, ev(plugins.EventTransferred, stConnected))
	r.expect(r.C, ev(plugins.EventTransferred, stConnected))
	// A leaves the call: its own Transferred (state null) or its
	// connections cleared.
	if _, ok := r.find(func(e plugins.Event) bool {
		return e.Device == r.A && e.State == stNull &&
			(e.Type == plugins.EventTransferred || e.Type == plugins.EventConnectionCleared)
	}, EventTimeout); !ok {
		r.t.Fatalf("%s did not leave the call after transfer:\n%s", r.A, r.dump(r.A))
	}
	r.eventually(r.A, "no calls", calls())
	r.eventually(r.B, "one call connected", calls(stConnected))
	r.eventually(r.C, "one call connected", calls(stConnected))
}

func conference(r *runner) {
	held, active := r.consult()
	_, err := r.d.Conference(r.ctx(), held, active)
	r.check(sConference, "conference", err)
	for _, dev := range []string{r.A, r.B, r.C} {
		r.expect(dev, ev(plugins.EventConferenced, stConnected))
	}
	for _, dev := range []string{r.A, r.B, r.C} {
		r.eventually(dev, "one call connected", calls(stConnected))
	}
}

func clearScenario(r *runner) {
	r.monitor(r.A, r.B)
	var atA plugins.ConnectionRef
	if r.caps.Supports(sAnswer) {
		atA, _ = r.connect(r.A, r.B)
	} else {
		atA, _ = r.makeCall(r.A, r.B)
	}
	r.check(sClear, "clear", r.d.Clear(r.ctx(), atA))
	r.expect(r.A, ev(plugins.EventConnectionCleared, stNull).onCall(atA.CallID))
	r.expect(r.B, ev(plugins.EventConnectionCleared))
	r.eventually(r.A, "no calls", calls())
	r.eventually(r.B, "no calls", calls())
}

// parkPickup: B parks its call with A; C picks it up from the slot and
// talks to A.
func parkPickup(r *runner) {
	r.monitor(r.A, r.B, r.C)
	_, atB := r.connect(r.A, r.B)
	slot, err := r.d.Park(r.ctx(), atB, r.setup.ParkSlot)
	r.check(sPark, "park", err)
	if slot == "" || (r.setup.ParkSlot != "" && slot != r.setup.ParkSlot) {
		r.t.Fatalf("park on %q returned slot %q", r.setup.ParkSlot, slot)
	}
	if _, ok := r.find(func(e plugins.Event) bool {
		return e.Type == plugins.EventParked && (e.Device == r.A || e.Device == r.B)
	}, EventTimeout); !ok {
		r.t.Fatalf("no parked event at %s or %s:\n%s", r.A, r.B, r.dump(""))
	}
	r.eventually(r.B, "no calls", calls())
	atC, err := r.d.Pickup(r.ctx(), r.C, slot)
	r.check(sPickup, "pickup", err)
	if atC.Device != "" && atC.Device != r.C {
		r.t.Fatalf("pickup at %s returned the connection of %s", r.C, atC.Device)
	}
	r.expect(r.C, ev(plugins.EventUnspecified, stConnected))
	r.eventually(r.C, "one call connected", calls(stConnected))
	r.eventually(r.A, "one call connected", calls(stConnected))
}

// dnd: SetDND shows in the snapshot. A driver whose model has a DND event
// sends one for each change.
func dnd(r *runner) {
	r.monitor(r.A)
	r.check(sSetDND, "set dnd on", r.d.SetDND(r.ctx(), r.A, true))
	r.eventually(r.A, "dnd on", func(s plugins.DeviceSnapshot) bool { return s.DND })
	on, hasEvent := r.find(func(e plugins.Event) bool { return e.Device == r.A && e.Type == plugins.EventDoNotDisturb }, 500*time.Millisecond)
	if hasEvent && !on.DND {
		r.t.Fatalf("dnd event after setting it on: %s dnd=%v", describe(on), on.DND)
	}
	if hasEvent {
		r.expect(r.A, ev(plugins.EventDoNotDisturb))
	}
	r.check(sSetDND, "set dnd off", r.d.SetDND(r.ctx(), r.A, false))
	r.eventually(r.A, "dnd off", func(s plugins.DeviceSnapshot) bool { return !s.DND })
	if hasEvent {
		if off := r.expect(r.A, ev(plugins.EventDoNotDisturb))[0]; off.DND {
			r.t.Fatalf("dnd event after setting it off: %s dnd=%v", describe(off), off.DND)
		}
	} else {
		r.t.Logf("%s sends no do_not_disturb event", r.name)
	}
}

// forwarding: SetForwarding shows in the snapshot, on and off. A driver
// whose model has a forwarding event sends one for each change.
func forwarding(r *runner) {
	r.monitor(r.A)
	fw := plugins.Forwarding{Type: plugins.ForwardImmediate, To: r.B, Enabled: true}
	r.check(sSetForwarding, "set forwarding", r.d.SetForwarding(r.ctx(), r.A, fw))
	r.eventually(r.A, "forwarding immediate to "+r.B, func(s plugins.DeviceSnapshot) bool {
		return slices.Contains(s.Forwarding, fw)
	})
	on, hasEvent := r.find(func(e plugins.Event) bool { return e.Device == r.A && e.Type == plugins.EventForwarding }, 500*time.Millisecond)
	if hasEvent {
		if on.Forwarding == nil || *on.Forwarding != fw {
			r.t.Fatalf("forwarding event %s carries %+v, want %+v", describe(on), on.Forwarding, fw)
		}
		r.expect(r.A, ev(plugins.EventForwarding))
	}
	r.check(sSetForwarding, "set forwarding off", r.d.SetForwarding(r.ctx(), r.A,
		plugins.Forwarding{Type: plugins.ForwardImmediate}))
	r.eventually(r.A, "forwarding immediate off", func(s plugins.DeviceSnapshot) bool {
		return !slices.ContainsFunc(s.Forwarding, func(f plugins.Forwarding) bool {
			return f.Type == plugins.ForwardImmediate && f.Enabled
		})
	})
	if hasEvent {
		off := r.expect(r.A, ev(plugins.EventForwarding))[0]
		if off.Forwarding == nil || off.Forwarding.Enabled || off.Forwarding.Type != plugins.ForwardImmediate {
			r.t.Fatalf("forwarding event after turning it off carries %+v", off.Forwarding)
		}
	} else {
		r.t.Logf("%s sends no forwarding event", r.name)
	}
}

// singleStep: A talks to B and transfers B to C in one step: A leaves
// the call, C is offered it (and, answering, talks to B).
func singleStep(r *runner) {
	r.monitor(r.A, r.B, r.C)
	atA, _ := r.connect(r.A, r.B)
	_, err := r.d.SingleStepTransfer(r.ctx(), atA, r.C)
	r.check(sSingleStep, "single step transfer", err)
	if _, ok := r.find(func(e plugins.Event) bool {
		return e.Device == r.A && e.State == stNull &&
			(e.Type == plugins.EventTransferred || e.Type == plugins.EventConnectionCleared)
	}, EventTimeout); !ok {
		r.t.Fatalf("%s did not leave the call after single step transfer:\n%s", r.A, r.dump(r.A))
	}
	atC := refOf(r.expect(r.C, ev(plugins.EventDelivered, stAlerting))[0])
	r.eventually(r.A, "no calls", calls())
	r.check(sAnswer, "answer the transferred call", r.d.Answer(r.ctx(), atC))
	r.expect(r.C, ev(plugins.EventEstablished, stConnected).onCall(atC.CallID))
	r.eventually(r.B, "one call connected", calls(stConnected))
	r.eventually(r.C, "one call connected", calls(stConnected))
}

// deflect: a call alerting at B is sent on to C: B leaves it (Diverted or
// ConnectionCleared, state null) and it alerts at C.
func deflect(r *runner) {
	r.monitor(r.A, r.B, r.C)
	_, delivered := r.makeCall(r.A, r.B)
	r.check(sDeflect, "deflect", r.d.Deflect(r.ctx(), refOf(delivered), r.C))
	if _, ok := r.find(func(e plugins.Event) bool {
		return e.Device == r.B && e.State == stNull &&
			(e.Type == plugins.EventDiverted || e.Type == plugins.EventConnectionCleared)
	}, EventTimeout); !ok {
		r.t.Fatalf("%s did not leave the call after deflect:\n%s", r.B, r.dump(r.B))
	}
	r.expect(r.C, ev(plugins.EventDelivered, stAlerting))
	r.eventually(r.B, "no calls", calls())
	r.eventually(r.C, "one call alerting", calls(stAlerting))
}

// digits: GenerateDigits on a connected call is accepted and the call
// stays connected.
func digits(r *runner) {
	r.monitor(r.A, r.B)
	atA, _ := r.connect(r.A, r.B)
	r.check(sDigits, "generate digits", r.d.GenerateDigits(r.ctx(), atA, "12#"))
	r.eventually(r.A, "one call connected", calls(stConnected))
}

// agentState: an agent logs on at A, becomes ready, not ready, and logs
// off; each state shows in an agent_state event or A's snapshot.
func agentState(r *runner) {
	r.monitor(r.A)
	agent := "9" + r.A
	for _, st := range []plugins.AgentState{plugins.AgentLoggedOn, plugins.AgentReady, plugins.AgentNotReady, plugins.AgentLoggedOff} {
		since := r.mark()
		r.check(sAgentState, "set agent state "+st.String(),
			r.d.SetAgentState(r.ctx(), plugins.AgentStateRequest{Device: r.A, AgentID: agent, State: st}))
		deadline := time.Now().Add(EventTimeout)
		for {
			if _, ok := r.findAfter(since, func(e plugins.Event) bool {
				return e.Device == r.A && e.Type == plugins.EventAgentState && e.AgentState == st
			}); ok {
				break
			}
			snap, err := r.d.Snapshot(r.ctx(), r.A)
			if err == nil && snap.AgentState == st {
				break
			}
			if time.Now().After(deadline) {
				r.t.Fatalf("agent state %s shows neither in an event nor in the snapshot (%+v); events:\n%s",
					st, snap, r.dump(r.A))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// failedAt waits for the event that ends a's call attempt: Failed, or
// its connection cleared, with one of causes.
func (r *runner) failedAt(a, what string, causes ...plugins.Cause) plugins.Event {
	r.t.Helper()
	e, ok := r.find(func(e plugins.Event) bool {
		return e.Device == a && (e.Type == plugins.EventFailed || e.Type == plugins.EventConnectionCleared) &&
			slices.Contains(causes, e.Cause)
	}, EventTimeout)
	if !ok {
		r.t.Fatalf("%s: no failed or connection_cleared at %s with cause %v; events:\n%s", what, a, causes, r.dump(a))
	}
	return e
}

// dndRejected: a call to a device in do-not-disturb fails at the caller
// with the cause do_not_disturb (CSTA) or busy (Xsi releases it Busy), and
// never rings there.
func dndRejected(r *runner) {
	r.monitor(r.A, r.B)
	r.check(sSetDND, "set dnd on", r.d.SetDND(r.ctx(), r.B, true))
	r.eventually(r.B, "dnd on", func(s plugins.DeviceSnapshot) bool { return s.DND })
	_, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.A, Called: r.B})
	r.check(sMakeCall, "make call", err)
	r.failedAt(r.A, "call to a device in dnd", plugins.CauseDoNotDisturb, plugins.CauseBusy)
	if e, ok := r.find(func(e plugins.Event) bool { return e.Device == r.B && e.State == stAlerting }, 300*time.Millisecond); ok {
		r.t.Fatalf("%s in dnd rang: %s", r.B, describe(e))
	}
	r.eventually(r.A, "no calls, or the failed one (CSTA keeps it in fail until cleared)", noneOrFailed)
}

// unobtainable: a call to a number no device has fails at the caller
// with destination_not_obtainable.
func unobtainable(r *runner) {
	r.monitor(r.A)
	to := r.setup.Unobtainable
	if to == "" {
		to = "9999"
	}
	_, err := r.d.MakeCall(r.ctx(), plugins.MakeCallRequest{Calling: r.A, Called: to})
	if err != nil && !errors.Is(err, plugins.ErrNotFound) && !errors.Is(err, plugins.ErrInvalidArgument) {
		r.t.Fatalf("make call to %s: %v", to, err)
	}
	if err == nil {
		r.failedAt(r.A, "call to "+to, plugins.CauseDestinationNotObtainable)
	}
	r.eventually(r.A, "no calls, or the failed one", noneOrFailed)
}

// alternateReconnect: A talks to B and consults C. Alternate swaps (B
// back, C held); Alternate again; Reconnect clears the consultation and
// retrieves B: A is left with one connected call, C with none.
func alternateReconnect(r *runner) {
	held, active := r.consult()
	_, err := r.d.Alternate(r.ctx(), held, active)
	r.check(sAlternate, "alternate", err)
	r.expect(r.A, ev(plugins.EventRetrieved, stConnected).onCall(held.CallID))
	r.eventually(r.A, "the first call connected, the consultation held", func(s plugins.DeviceSnapshot) bool {
		return callState(s, held.CallID) == stConnected && callState(s, active.CallID) == stHold
	})
	_, err = r.d.Alternate(r.ctx(), active, held)
	r.check(sAlternate, "alternate back", err)
	r.expect(r.A, ev(plugins.EventRetrieved, stConnected).onCall(active.CallID))
	res, err := r.d.Reconnect(r.ctx(), held, active)
	r.check(sReconnect, "reconnect", err)
	if res.CallID != "" && res.CallID != held.CallID {
		r.t.Fatalf("reconnect returned %+v, want the held call %s", res, held.CallID)
	}
	r.expect(r.A, ev(plugins.EventRetrieved, stConnected).onCall(held.CallID))
	r.eventually(r.A, "the first call connected, nothing else", func(s plugins.DeviceSnapshot) bool {
		return len(s.Calls) == 1 && callState(s, held.CallID) == stConnected
	})
	r.eventually(r.C, "no calls", calls())
	r.eventually(r.B, "one call connected", calls(stConnected))
}

func callState(s plugins.DeviceSnapshot, id string) plugins.ConnectionState {
	for _, c := range s.Calls {
		if c.CallID == id {
			return c.State
		}
	}
	return plugins.StateUnspecified
}

func hasIncoming(s Setup) string {
	if s.Incoming == nil {
		return "the simulator setup has no Incoming hook"
	}
	return ""
}

func hasDropLink(s Setup) string {
	if s.DropLink == nil {
		return "the simulator setup has no DropLink hook"
	}
	return ""
}

// externalCaller: a call from the public network rings A as external,
// with the caller's number as calling party.
func externalCaller(r *runner) {
	r.monitor(r.A)
	const number = "0301234567"
	r.setup.Incoming(number, r.A)
	d := r.expect(r.A, ev(plugins.EventDelivered, stAlerting))[0]
	if d.PartyType != plugins.PartyExternal || d.Calling != number || d.Called != r.A {
		r.t.Fatalf("external call at %s: party %s, calling %q, called %q (%s)", r.A, d.PartyType, d.Calling, d.Called, describe(d))
	}
	if want := r.setup.ExternalName; want != "" && d.CallingName != want {
		r.t.Fatalf("external call at %s: calling name %q, want %q (%s)", r.A, d.CallingName, want, describe(d))
	}
	s := r.eventually(r.A, "one call alerting", calls(stAlerting))
	if c := s.Calls[0]; c.PartyType != plugins.PartyExternal || c.Calling != number ||
		(r.setup.ExternalName != "" && c.OtherName != r.setup.ExternalName) {
		r.t.Fatalf("snapshot of the external call: %+v", c)
	}
}

// linkRestore: the PBX drops the link; the driver says link_down
// (cause link_failure), restores it (link_up) with every monitor, and
// calls are seen again, with their parties.
func linkRestore(r *runner) {
	r.monitor(r.A, r.B)
	mark := r.mark()
	r.setup.DropLink()
	down, ok := r.waitAfter(mark, func(e plugins.Event) bool { return e.Type == plugins.EventLinkDown }, StartTimeout)
	if !ok {
		r.t.Fatalf("no link_down after the PBX dropped the link:\n%s", r.dump(""))
	}
	if down.Cause != plugins.CauseLinkFailure {
		r.t.Fatalf("link_down cause %s, want link_failure (%s)", down.Cause, describe(down))
	}
	if _, ok := r.waitAfter(mark, func(e plugins.Event) bool { return e.Type == plugins.EventLinkUp }, StartTimeout); !ok {
		r.t.Fatalf("no link_up after the link came back:\n%s", r.dump(""))
	}
	r.eventually(r.A, "no calls", calls())
	_, _ = r.makeCall(r.A, r.B) // events flow again, parties named
}

// waitAfter waits up to d for an event matching f among those recorded
// after mark.
func (r *runner) waitAfter(mark int, f func(plugins.Event) bool, d time.Duration) (plugins.Event, bool) {
	deadline := time.Now().Add(d)
	for {
		if e, ok := r.findAfter(mark, f); ok {
			return e, true
		}
		if !r.wait(deadline) {
			return plugins.Event{}, false
		}
	}
}

// noneOrFailed: a device whose call attempt failed has no call, or its
// connection in fail (ECMA-269: until the caller clears it).
func noneOrFailed(s plugins.DeviceSnapshot) bool {
	return calls()(s) || calls(plugins.StateFail)(s)
}

func hasNames(s Setup) string {
	if len(s.Names) == 0 {
		return "the simulator setup has no Names"
	}
	return ""
}

// directory: ListDevices, paged two entries at a time to the end, lists
// each device once and names every device of Setup.Names as the PBX
// does: every lamp has a name.
func directory(r *runner) {
	r.monitor(r.A)
	got := map[string]string{}
	token := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			r.t.Fatal("list devices: more than 1000 pages, the paging does not end")
		}
		p, err := r.d.ListDevices(r.ctx(), token, 2)
		r.check(plugins.ServiceListDevices, "list devices", err)
		if len(p.Devices) > 2 {
			r.t.Fatalf("list devices: %d entries on a page of 2", len(p.Devices))
		}
		for _, e := range p.Devices {
			if _, dup := got[e.Device]; dup || e.Device == "" {
				r.t.Fatalf("list devices: entry %+v twice or without a device", e)
			}
			got[e.Device] = e.Name
		}
		if p.Next == "" {
			break
		}
		if p.Next == token {
			r.t.Fatalf("list devices: page token %q repeats", token)
		}
		token = p.Next
	}
	for dev, name := range r.setup.Names {
		if got[dev] != name {
			r.t.Errorf("directory names %s %q, want %q (got %v)", dev, got[dev], name, got)
		}
	}
}
