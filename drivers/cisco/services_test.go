package cisco_test

import (
	"errors"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

func TestSingleStepTransferAndDeflect(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203", "204")
	c := connect(t, e, "201", "202")
	// 201 hands 202 to 203 without consulting.
	res, err := e.d.SingleStepTransfer(bg, c, "203")
	if err != nil {
		t.Fatal(err)
	}
	if res.CallID != c.CallID {
		t.Fatalf("result %+v", res)
	}
	ev := e.Want(plugins.EventTransferred, "201", plugins.StateNull)
	if ev.Cause != plugins.CauseSingleStepTransfer || ev.Other != "203" {
		t.Fatalf("201 %+v", ev)
	}
	if ev := e.Want(plugins.EventTransferred, "202", plugins.StateConnected); ev.Other != "203" {
		t.Fatalf("202 %+v", ev)
	}
	e.Want(plugins.EventDelivered, "202", plugins.StateConnected) // its new far end rings
	e.Want(plugins.EventDelivered, "203", plugins.StateAlerting)

	// 203 deflects the ringing call to 204.
	at203 := plugins.ConnectionRef{Device: "203", CallID: c.CallID}
	if err := e.d.Deflect(bg, at203, "204"); err != nil {
		t.Fatal(err)
	}
	ev = e.Want(plugins.EventDiverted, "203", plugins.StateNull)
	if ev.Other != "204" || ev.Cause != plugins.CauseRedirected {
		t.Fatalf("203 diverted %+v", ev)
	}
	if ev := e.Want(plugins.EventDiverted, "202", plugins.StateConnected); ev.Other != "204" {
		t.Fatalf("202 diverted %+v", ev)
	}
	e.Want(plugins.EventDelivered, "202", plugins.StateConnected)
	e.Want(plugins.EventDelivered, "204", plugins.StateAlerting)
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "204", CallID: c.CallID}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventEstablished, "202", plugins.StateConnected)
	e.Want(plugins.EventEstablished, "204", plugins.StateConnected)
	// A connected call can't be deflected.
	if err := e.d.Deflect(bg, plugins.ConnectionRef{Device: "204", CallID: c.CallID}, "201"); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Fatalf("deflect connected: %v", err)
	}
	e.Quiet()
}

func TestParkAndPickup(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203", "204")
	c := connect(t, e, "201", "202")
	if _, err := e.d.Park(bg, c, ""); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("park without slot: %v", err)
	}
	slot, err := e.d.Park(bg, c, "204")
	if err != nil || slot != "204" {
		t.Fatalf("park: %q %v", slot, err)
	}
	ev := e.Want(plugins.EventParked, "201", plugins.StateNull)
	if ev.Other != "204" || ev.Cause != plugins.CausePark {
		t.Fatalf("parked %+v", ev)
	}
	e.Want(plugins.EventHeld, "202", plugins.StateConnected)
	got, err := e.d.Pickup(bg, "203", "204")
	if err != nil {
		t.Fatal(err)
	}
	if got.Device != "203" || got.CallID != c.CallID {
		t.Fatalf("pickup ref %+v", got)
	}
	if ev := e.Want(plugins.EventDelivered, "203", plugins.StateAlerting); ev.Cause != plugins.CausePark {
		t.Fatalf("park retrieved %+v", ev)
	}
	e.Want(plugins.EventEstablished, "203", plugins.StateConnected)
	e.Want(plugins.EventRetrieved, "202", plugins.StateConnected)

	// Directed call pickup of a ringing call.
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "204"})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 { // service initiated, originated, delivered ×2
		e.Next()
	}
	if _, err := e.d.Pickup(bg, "203", "204"); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventConnectionCleared, "204", plugins.StateNull)
	if ev := e.Want(plugins.EventDelivered, "203", plugins.StateAlerting); ev.Cause != plugins.CauseCallPickup || ev.CallID != ref.CallID {
		t.Fatalf("picked up %+v", ev)
	}
	e.Want(plugins.EventEstablished, "201", plugins.StateConnected)
	e.Want(plugins.EventEstablished, "203", plugins.StateConnected)
	if _, err := e.d.Pickup(bg, "203", "204"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("nothing to pick up: %v", err)
	}
}

func TestDNDAndForwarding(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	if err := e.d.SetDND(bg, "202", true); err != nil {
		t.Fatal(err)
	}
	ev := e.Want(plugins.EventDoNotDisturb, "202", plugins.StateUnspecified)
	if !ev.DND || !e.sim.DND("202") || !e.snapshot("202").DND {
		t.Fatalf("dnd event %+v", ev)
	}
	// A call to a DND user is refused busy: Failed then cleared.
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventFailed, "201", plugins.StateFail)
	if ev.Cause != plugins.CauseBusy || ev.RawCause != "Busy" {
		t.Fatalf("failed %+v", ev)
	}
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	if err := e.d.SetDND(bg, "202", false); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventDoNotDisturb, "202", plugins.StateUnspecified); ev.DND {
		t.Fatalf("dnd off %+v", ev)
	}

	fw := plugins.Forwarding{Type: plugins.ForwardImmediate, To: "203", Enabled: true}
	if err := e.d.SetForwarding(bg, "202", fw); err != nil {
		t.Fatal(err)
	}
	ev = e.Want(plugins.EventForwarding, "202", plugins.StateUnspecified)
	if ev.Forwarding == nil || *ev.Forwarding != fw || e.sim.Forwarding("202", "CallForwardingAlways") != "203" {
		t.Fatalf("forwarding event %+v", ev)
	}
	if s := e.snapshot("202"); len(s.Forwarding) != 1 || s.Forwarding[0] != fw {
		t.Fatalf("snapshot %+v", s)
	}
	// A call to 202 is forwarded to 203.
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventDiverted, "201", plugins.StateConnected)
	if ev.Other != "203" || ev.Cause != plugins.CauseCallForwardImmediate {
		t.Fatalf("diverted %+v", ev)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	e.Want(plugins.EventDelivered, "203", plugins.StateAlerting)
	if err := e.d.SetForwarding(bg, "202", plugins.Forwarding{Type: plugins.ForwardImmediate}); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventForwarding, "202", plugins.StateUnspecified); ev.Forwarding.Enabled {
		t.Fatalf("forwarding off %+v", ev)
	}
	if err := e.d.SetForwarding(bg, "202", plugins.Forwarding{Type: plugins.ForwardBusy, Enabled: true}); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("forwarding without destination: %v", err)
	}
	// Busy and no-answer forwarding are services of their own.
	fb := plugins.Forwarding{Type: plugins.ForwardNoAnswer, To: "204", Enabled: true}
	if err := e.d.SetForwarding(bg, "203", fb); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventForwarding, "203", plugins.StateUnspecified); *ev.Forwarding != fb {
		t.Fatalf("no-answer forwarding %+v", ev)
	}
	if e.sim.Forwarding("203", "CallForwardingNoAnswer") != "204" {
		t.Fatal("sim did not store no-answer forwarding")
	}
}

// TestAgentState walks an agent through every settable state: each PUT of
// services/CallCenter comes back as an AgentStateEvent on the agent
// subscription, mapped to agent_state, and shows in the snapshot.
func TestAgentState(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201")
	drivertest.WaitFor(t, "signed out in the first snapshot", func() bool { return e.snapshot("201").AgentState == plugins.AgentLoggedOff })
	for _, c := range []struct {
		st  plugins.AgentState
		acd string
	}{{plugins.AgentLoggedOn, "Sign-In"}, {plugins.AgentReady, "Available"}, {plugins.AgentNotReady, "Unavailable"},
		{plugins.AgentWorkingAfterCall, "Wrap-Up"}, {plugins.AgentLoggedOff, "Sign-Out"}} {
		req := plugins.AgentStateRequest{Device: "201", AgentID: "9201", State: c.st, Reason: "Lunch"}
		if err := e.d.SetAgentState(bg, req); err != nil {
			t.Fatalf("%s: %v", c.st, err)
		}
		ev := e.Want(plugins.EventAgentState, "201", plugins.StateUnspecified)
		if ev.AgentState != c.st || e.sim.AgentState("201") != c.acd || e.snapshot("201").AgentState != c.st {
			t.Fatalf("%s: event %+v, sim %q", c.st, ev, e.sim.AgentState("201"))
		}
		if wantCode := map[bool]string{true: "Lunch"}[c.st == plugins.AgentNotReady]; ev.RawCause != wantCode {
			t.Fatalf("%s: unavailable code %q", c.st, ev.RawCause)
		}
	}
	for _, bad := range []plugins.AgentStateRequest{{Device: "201", State: plugins.AgentBusy},
		{Device: "201", State: plugins.AgentUnspecified}, {State: plugins.AgentReady}} {
		if err := e.d.SetAgentState(bg, bad); !errors.Is(err, plugins.ErrInvalidArgument) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}
