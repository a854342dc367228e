package mitel_test

import (
	"slices"
	"testing"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// until takes events until one of typ at dev arrives (at most 20).
func until(t *testing.T, e *env, typ plugins.EventType, dev string) plugins.Event {
	t.Helper()
	for range 20 {
		if ev := e.Next(); ev.Type == typ && ev.Device == dev {
			return ev
		}
	}
	t.Fatalf("no %s at %s", typ, dev)
	return plugins.Event{}
}

// TestQueueDevice: a hunt group device (600, category group in the
// configured directory) is monitored like a station; calls queued there
// arrive as QUEUED with the PBX's count and each call's place
// (numberQueued, callsInFront+1), and one served leaves the queue
// (Diverted to the agent, Delivered there).
func TestQueueDevice(t *testing.T) {
	e := newEnv(t, labmitel.Config{Devices: []string{"201", "202", "600"}},
		map[string]any{"directory": []map[string]string{{"device": "600", "name": "Reception", "category": "group"}}})
	e.monitor("600", "201")
	if s := e.snapshot("600"); s.Category != plugins.CategoryGroup {
		t.Fatalf("snapshot of 600: category %s", s.Category)
	}
	caps, _ := sdk.Adapt(e.d).Capabilities(bg)
	if !slices.Contains(caps.Services, plugins.ServiceQueueMonitor) {
		t.Fatalf("queue monitoring not declared: %v", caps.Services)
	}
	first := e.sim.Queue("0301111", "600")
	ev := e.Want(plugins.EventQueued, "600", plugins.StateQueued)
	if ev.QueueLength != 1 || ev.QueuePosition != 1 || ev.Calling != "0301111" || ev.CallID != first {
		t.Fatalf("first queued: %+v", ev)
	}
	e.sim.Queue("0302222", "600")
	ev = e.Want(plugins.EventQueued, "600", plugins.StateQueued)
	if ev.QueueLength != 2 || ev.QueuePosition != 2 || ev.Calling != "0302222" {
		t.Fatalf("second queued: %+v", ev)
	}
	if got := drivertestStates(e.snapshot("600")); got != 2 {
		t.Fatalf("snapshot of 600 holds %d queued calls, want 2", got)
	}
	if id := e.sim.ServeQueue("600", "201"); id != first {
		t.Fatalf("served %s, want the first call %s", id, first)
	}
	e.Want(plugins.EventDiverted, "600", plugins.StateNull)
	if ev := e.Want(plugins.EventDelivered, "201", plugins.StateAlerting); ev.CallID != first || ev.Calling != "0301111" {
		t.Fatalf("delivered to the agent: %+v", ev)
	}
	if got := drivertestStates(e.snapshot("600")); got != 1 {
		t.Fatalf("after serving one, 600 holds %d queued calls, want 1", got)
	}
}

func drivertestStates(s plugins.DeviceSnapshot) int {
	n := 0
	for _, c := range s.Calls {
		if c.State == plugins.StateQueued {
			n++
		}
	}
	return n
}

// TestGroupPickup: 201 picks up, with the group's id, a call ringing at
// 203 in pickup group 7: the call leaves 203 and is connected at 201,
// in the simulator's own state too.
func TestGroupPickup(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.sim.SetPickupGroup("7", "202", "203")
	e.monitor("201", "203")
	e.sim.Incoming("0301234567", "203")
	ev := e.Want(plugins.EventDelivered, "203", plugins.StateAlerting)
	ref, err := e.d.GroupPickup(bg, "201", "7")
	if err != nil || ref.CallID != ev.CallID || ref.Device != "201" {
		t.Fatalf("group pickup: %+v %v", ref, err)
	}
	e.Want(plugins.EventDiverted, "203", plugins.StateNull)
	if est := until(t, e, plugins.EventEstablished, "201"); est.State != plugins.StateConnected || est.Cause != plugins.CauseCallPickup {
		t.Fatalf("established at 201: %+v", est)
	}
	if got := e.sim.CallsAt("201"); got[ev.CallID] != "connected" {
		t.Fatalf("simulator: 201 in %v", got)
	}
	if _, err := e.d.GroupPickup(bg, "201", "9"); err == nil {
		t.Fatal("pickup from a group that does not exist succeeded")
	}
}

// busyCall has 202 talk to 203, makes 202 busy and lets 201 call it:
// the call fails busy at 201.
func busyCall(t *testing.T, e *env) plugins.ConnectionRef {
	t.Helper()
	connect(t, e, "202", "203")
	e.sim.SetBusy("202", true)
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	if f := until(t, e, plugins.EventFailed, "201"); f.Cause != plugins.CauseBusy {
		t.Fatalf("failed at 201: %+v", f)
	}
	return ref
}

// TestBusyTreatments: the operator's call to a busy extension is camped
// on (it rings there once the extension is free), booked for a call
// back (the PBX calls 201 and 202 when 202 is free), or joined into the
// extension's call (intrusion), each as the simulator's own reader and
// call state show.
func TestBusyTreatments(t *testing.T) {
	t.Run("camp-on", func(t *testing.T) {
		e := newEnv(t, labmitel.Config{}, nil)
		e.monitor("201", "202", "203")
		ref := busyCall(t, e)
		if err := e.d.CampOn(bg, ref); err != nil {
			t.Fatal(err)
		}
		if q := until(t, e, plugins.EventQueued, "202"); q.CallID != ref.CallID {
			t.Fatalf("queued at 202: %+v", q)
		}
		e.sim.SetBusy("202", false)
		if d := until(t, e, plugins.EventDelivered, "202"); d.CallID != ref.CallID || d.State != plugins.StateAlerting {
			t.Fatalf("delivered at 202 once free: %+v", d)
		}
	})
	t.Run("callback", func(t *testing.T) {
		e := newEnv(t, labmitel.Config{}, nil)
		e.monitor("201", "202", "203")
		ref := busyCall(t, e)
		if err := e.d.CallBack(bg, ref); err != nil {
			t.Fatal(err)
		}
		if got := e.sim.CallBacks(); !slices.Equal(got, []string{"201>202"}) {
			t.Fatalf("simulator call backs: %v", got)
		}
		until(t, e, plugins.EventConnectionCleared, "201")
		e.sim.SetBusy("202", false)
		if d := until(t, e, plugins.EventDelivered, "202"); d.Calling != "201" {
			t.Fatalf("call back delivered at 202: %+v", d)
		}
	})
	t.Run("intrude", func(t *testing.T) {
		e := newEnv(t, labmitel.Config{}, nil)
		e.monitor("201", "202", "203")
		ref := busyCall(t, e)
		res, err := e.d.Intrude(bg, ref)
		if err != nil || res.Device != "201" || res.CallID == "" || res.CallID == ref.CallID {
			t.Fatalf("intrude: %+v %v", res, err)
		}
		if got := e.sim.CallsAt("201"); got[res.CallID] != "connected" {
			t.Fatalf("simulator: 201 in %v", got)
		}
	})
	t.Run("not busy", func(t *testing.T) {
		e := newEnv(t, labmitel.Config{}, nil)
		e.monitor("201", "202")
		ref := connect(t, e, "201", "202")
		if err := e.d.CampOn(bg, ref); err == nil {
			t.Fatal("camp-on on a connected call succeeded")
		}
	})
}

// TestAccountCodes: account codes on MakeCall and ConsultationCall
// reach the PBX (the simulator's reader takes accountCode where
// ECMA-269 puts it).
func TestAccountCodes(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201", "202", "203")
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202", AccountCode: "4711"}); err != nil {
		t.Fatal(err)
	}
	d := until(t, e, plugins.EventDelivered, "202")
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "202", CallID: d.CallID}); err != nil {
		t.Fatal(err)
	}
	until(t, e, plugins.EventEstablished, "202")
	if _, err := e.d.ConsultationAccount(bg, plugins.ConnectionRef{Device: "201", CallID: d.CallID}, "203", "0815"); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.AccountCodes(); !slices.Equal(got, []string{"201:4711", "201:0815"}) {
		t.Fatalf("account codes at the PBX: %v", got)
	}
}
