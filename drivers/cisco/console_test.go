package cisco_test

import (
	"testing"
	"time"

	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// waitFor reads events until one of typ at dev, at most 20.
func (e *env) waitFor(typ plugins.EventType, dev string) plugins.Event {
	e.t.Helper()
	for range 20 {
		if ev := e.Next(); ev.Type == typ && ev.Device == dev {
			return ev
		}
	}
	e.t.Fatalf("no %s at %s", typ, dev)
	return plugins.Event{}
}

// TestConsoleCallData: 201 calls 203, who forwards everything to 202. The
// simulator writes the Xsi Call with its own encoding (remoteParty/name,
// callType, redirections most recent first); the driver gives 202 the
// caller's name, an internal party, the extTrackingId as global id, and
// 203 as forwarded-from and first called; the snapshot keeps them.
func TestConsoleCallData(t *testing.T) {
	e := newEnv(t, labcisco.Config{Names: map[string]string{"201": "Anna Alt", "202": "Bert Berg", "203": "Carla Cruz"}}, nil)
	e.monitor("201", "202")
	if err := e.d.SetForwarding(bg, "203", plugins.Forwarding{Type: plugins.ForwardImmediate, To: "202", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "203"}); err != nil {
		t.Fatal(err)
	}
	ev := e.waitFor(plugins.EventDelivered, "202")
	if ev.CallingName != "Anna Alt" || ev.OtherName != "Anna Alt" || ev.PartyType != plugins.PartyInternal ||
		ev.GlobalCallID == "" || ev.LastRedirection != "203" || ev.OriginalCalled != "203" {
		t.Fatalf("delivered at 202: %+v", ev)
	}
	s := e.snapshot("202")
	if len(s.Calls) != 1 || s.Calls[0].OtherName != "Anna Alt" || s.Calls[0].LastRedirection != "203" ||
		s.Calls[0].GlobalCallID != ev.GlobalCallID || s.Calls[0].PartyType != plugins.PartyInternal {
		t.Fatalf("snapshot of 202: %+v", s)
	}
}

// TestReconnectAlternate: swap and cancel a consultation through the
// Xsi-Actions the driver composes them of (Hold+Talk, DELETE+Talk), as
// the simulator carries them out.
func TestReconnectAlternate(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	c1 := connect(t, e, "201", "202")
	c2, err := e.d.Consultation(bg, c1, "203")
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(plugins.EventDelivered, "203")
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "203", CallID: c2.CallID}); err != nil {
		t.Fatal(err)
	}
	e.waitFor(plugins.EventEstablished, "203")

	if _, err := e.d.Alternate(bg, c1, c2); err != nil {
		t.Fatal(err)
	}
	e.waitFor(plugins.EventRetrieved, "201")
	drivertestStates(t, e, "201", map[string]plugins.ConnectionState{c1.CallID: plugins.StateConnected, c2.CallID: plugins.StateHold})

	// Back to the consultation, then cancel it.
	if _, err := e.d.Alternate(bg, c2, c1); err != nil {
		t.Fatal(err)
	}
	e.waitFor(plugins.EventRetrieved, "201")
	res, err := e.d.Reconnect(bg, c1, c2)
	if err != nil || res.CallID != c1.CallID {
		t.Fatalf("reconnect: %+v %v", res, err)
	}
	e.waitFor(plugins.EventRetrieved, "201")
	drivertestStates(t, e, "201", map[string]plugins.ConnectionState{c1.CallID: plugins.StateConnected})
	if got := e.sim.CallStates("203"); len(got) != 0 {
		t.Fatalf("203 still has %v", got)
	}
}

func drivertestStates(t *testing.T, e *env, dev string, want map[string]plugins.ConnectionState) {
	t.Helper()
	s := e.snapshot(dev)
	got := map[string]plugins.ConnectionState{}
	for _, c := range s.Calls {
		got[c.CallID] = c.State
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", dev, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: %v, want %v", dev, got, want)
		}
	}
}

// TestDirectory: ListDevices pages through the enterprise directory the
// simulator serves (XSIDirectories.xsd Enterprise), every user once with
// the name the PBX has for it.
func TestDirectory(t *testing.T) {
	names := map[string]string{"201": "Anna Alt", "202": "Bert Berg", "203": "Carla Cruz", "204": "Dora Dix"}
	e := newEnv(t, labcisco.Config{Names: names}, nil)
	if _, err := e.d.ListDevices(bg, "", 0); err == nil {
		t.Fatal("directory without a monitored user to read it as")
	}
	e.monitor("201")
	got := map[string]string{}
	token, pages := "", 0
	for {
		p, err := e.d.ListDevices(bg, token, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range p.Devices {
			if _, dup := got[d.Device]; dup || d.Type != plugins.PartyInternal {
				t.Fatalf("entry %+v (seen: %v)", d, got)
			}
			got[d.Device] = d.Name
		}
		if p.Next == "" {
			break
		}
		token = p.Next
	}
	if pages != 2 || len(got) != 4 {
		t.Fatalf("%d pages: %v", pages, got)
	}
	for dev, name := range names {
		if got[dev] != name {
			t.Errorf("%s: %q, want %q", dev, got[dev], name)
		}
	}
}

// TestMessageWaiting: the "Voice Mail Message Summary" package's
// VoiceMailMessageSummaryEvent, as the simulator writes it, lights the
// lamp (new messages) in the event and the snapshot, and turns it off.
func TestMessageWaiting(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, map[string]any{"message_waiting": true})
	caps, err := sdk.Adapt(e.d).Capabilities(bg)
	if err != nil || !caps.Supports(plugins.ServiceMessageWaiting) {
		t.Fatalf("capabilities with message_waiting: %+v %v", caps, err)
	}
	e.monitor("201")
	// The service packages are subscribed after the call package: tell
	// the count until the driver has the subscription.
	var ev plugins.Event
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		e.sim.SetNewMessages("201", 2)
		select {
		case ev = <-e.Events():
			got = ev.Type == plugins.EventMessageWaiting
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no message_waiting event within 10s")
		}
	}
	if !ev.MessageWaiting || ev.Device != "201" {
		t.Fatalf("event %+v", ev)
	}
	if s := e.snapshot("201"); !s.MessageWaiting {
		t.Fatalf("snapshot %+v", s)
	}
	e.sim.SetNewMessages("201", 0)
	if ev := e.waitFor(plugins.EventMessageWaiting, "201"); ev.MessageWaiting {
		t.Fatalf("event %+v", ev)
	}
	if s := e.snapshot("201"); s.MessageWaiting {
		t.Fatalf("snapshot %+v", s)
	}
}
