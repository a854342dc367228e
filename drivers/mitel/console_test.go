package mitel_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/mitel"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestConsoleCallData: an external call that 201 forwards to 202, as the
// simulator's own ECMA-323 encoding sends it, reaches the model with the
// party type (networkCallingDevice: external), the device that forwarded
// it and the number first called (lastRedirectionDevice), and the global
// id (correlatorData) that is the same at both devices; the snapshot
// keeps them.
func TestConsoleCallData(t *testing.T) {
	e := newEnv(t, labmitel.Config{NetworkPrefix: "+49"}, nil)
	e.monitor("201", "202")
	if err := e.d.SetForwarding(bg, "201", plugins.Forwarding{Type: plugins.ForwardImmediate, To: "202", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventForwarding, "201", plugins.StateUnspecified)
	e.sim.Incoming("0301234567", "201")
	e.Want(plugins.EventDiverted, "201", plugins.StateNull)
	ev := e.Want(plugins.EventDelivered, "202", plugins.StateAlerting)
	if ev.PartyType != plugins.PartyExternal || ev.Calling != "0301234567" || ev.LastRedirection != "201" ||
		ev.OriginalCalled != "201" || ev.GlobalCallID == "" || ev.Cause != plugins.CauseCallForwardImmediate {
		t.Fatalf("delivered at 202: %+v", ev)
	}
	s := e.snapshot("202")
	if len(s.Calls) != 1 || s.Calls[0].PartyType != plugins.PartyExternal || s.Calls[0].LastRedirection != "201" ||
		s.Calls[0].GlobalCallID != ev.GlobalCallID || s.Calls[0].Calling != "0301234567" {
		t.Fatalf("snapshot of 202: %+v", s)
	}
}

// TestReconnectAlternate: CSTA AlternateCall swaps 201 between the held
// call and the consultation; ReconnectCall clears the consultation and
// retrieves the held call ("cancel consultation"), as the simulator's
// independent reader accepts them.
func TestReconnectAlternate(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201", "202", "203")
	c1 := connect(t, e, "201", "202")
	c2, err := e.d.Consultation(bg, c1, "203")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // held ×2, originated, delivered ×2
		e.Next()
	}
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "203", CallID: c2.CallID}); err != nil {
		t.Fatal(err)
	}
	e.Next()
	e.Next()

	// Swap: the consultation is held, the first call back.
	if _, err := e.d.Alternate(bg, c1, c2); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventHeld, "201", plugins.StateHold)
	e.Want(plugins.EventHeld, "203", plugins.StateConnected)
	e.Want(plugins.EventRetrieved, "201", plugins.StateConnected)
	e.Want(plugins.EventRetrieved, "202", plugins.StateConnected)
	if got := e.sim.CallsAt("201"); got[c1.CallID] != "connected" || got[c2.CallID] != "hold" {
		t.Fatalf("simulator after alternate: %v", got)
	}

	// Cancel the consultation (now the held one is c2's partner c1 is
	// active): swap back first, then reconnect.
	if _, err := e.d.Alternate(bg, c2, c1); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		e.Next()
	}
	res, err := e.d.Reconnect(bg, c1, c2)
	if err != nil || res.CallID != c1.CallID {
		t.Fatalf("reconnect: %+v %v", res, err)
	}
	cleared := false
	for i := 0; ; i++ { // the consultation's connections clear, then c1 is retrieved
		ev := e.Next()
		if ev.Type == plugins.EventConnectionCleared && ev.Device == "203" && ev.CallID == c2.CallID {
			cleared = true
		}
		if ev.Type == plugins.EventRetrieved && ev.Device == "202" {
			break
		}
		if i > 10 {
			t.Fatalf("no retrieved at 202 after reconnect, last %+v", ev)
		}
	}
	if !cleared {
		t.Fatal("203 never saw its consultation cleared")
	}
	e.Quiet()
	if got := e.sim.CallsAt("201"); len(got) != 1 || got[c1.CallID] != "connected" {
		t.Fatalf("simulator after reconnect: %v", got)
	}
	if got := e.sim.CallsAt("203"); len(got) != 0 {
		t.Fatalf("203 after reconnect: %v", got)
	}
	if s := e.snapshot("201"); len(s.Calls) != 1 || s.Calls[0].CallID != c1.CallID || s.Calls[0].State != plugins.StateConnected {
		t.Fatalf("201 after reconnect: %+v", s)
	}
	// A held connection that is not held: the PBX refuses, the model
	// says so.
	if _, err := e.d.Reconnect(bg, c1, c1); err == nil {
		t.Fatal("reconnect of one call with itself succeeded")
	}
}

// TestMessageWaiting: the PBX's MessageWaitingEvent lights the lamp in
// the model and in the snapshot, and turns it off again.
func TestMessageWaiting(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201")
	e.sim.SetMessageWaiting("201", true)
	ev := e.Want(plugins.EventMessageWaiting, "201", plugins.StateUnspecified)
	if !ev.MessageWaiting || ev.Other != "7000" {
		t.Fatalf("event %+v", ev)
	}
	if s := e.snapshot("201"); !s.MessageWaiting {
		t.Fatalf("snapshot %+v", s)
	}
	e.sim.SetMessageWaiting("201", false)
	if ev := e.Want(plugins.EventMessageWaiting, "201", plugins.StateUnspecified); ev.MessageWaiting {
		t.Fatalf("event %+v", ev)
	}
	if s := e.snapshot("201"); s.MessageWaiting {
		t.Fatalf("snapshot %+v", s)
	}
}

// TestConfiguredDirectory: the names configured in "directory" are what
// ListDevices serves, page by page; a directory naming a device twice is
// a config error.
func TestConfiguredDirectory(t *testing.T) {
	dir := []map[string]string{{"device": "201", "name": "Empfang"}, {"device": "202", "name": "Buchhaltung", "type": "internal"},
		{"device": "0", "name": "Amt", "type": "trunk"}}
	e := newEnv(t, labmitel.Config{}, map[string]any{"directory": dir})
	p, err := e.d.ListDevices(bg, "", 2)
	if err != nil || len(p.Devices) != 2 || p.Next == "" || p.Devices[0] != (plugins.DirectoryEntry{Device: "201", Name: "Empfang"}) {
		t.Fatalf("first page: %+v %v", p, err)
	}
	p, err = e.d.ListDevices(bg, p.Next, 2)
	if err != nil || len(p.Devices) != 1 || p.Next != "" || p.Devices[0].Type != plugins.PartyTrunk {
		t.Fatalf("second page: %+v %v", p, err)
	}
	if _, err := mitel.ParseConfig(driverConfig("127.0.0.1:1", map[string]any{"directory": []map[string]string{{"device": "1"}, {"device": "1"}}})); err == nil {
		t.Fatal("a device twice in the directory passed")
	}
}
