package plugins_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// inProcess serves d through the real shim over an in-process gRPC
// connection and returns the host side.
func inProcess(t *testing.T, d sdk.Driver) plugins.Driver {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, plugins.ServerPluginMap(sdk.Adapt(d)))
	t.Cleanup(func() {
		_ = client.Close() // its Shutdown call stops the server
		select {
		case <-server.DoneCh:
		case <-time.After(5 * time.Second):
			t.Error("in-process server did not stop")
		}
	})
	raw, err := client.Dispense(plugins.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(plugins.Driver)
}

func TestShimRoundTrip(t *testing.T) {
	tp := newTestPBX()
	d := inProcess(t, tp)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	if err := d.Start(ctx, plugins.StartRequest{Driver: "t", Config: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if got := tp.last(); got != `start t {"a":1}` {
		t.Errorf("start: %q", got)
	}
	caps, err := d.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if caps.Vendor != "test" || caps.Version != "1" || !reflect.DeepEqual(caps.Services, plugins.AllServices()) {
		t.Errorf("capabilities: %+v", caps)
	}
	if id, err := d.MonitorStart(ctx, "1001"); err != nil || id != "m-1001" {
		t.Errorf("monitor start: %q %v", id, err)
	}

	events := make(chan plugins.Event, 8)
	go func() { _ = d.Events(ctx, func(e plugins.Event) error { events <- e; return nil }) }()

	c, err := d.MakeCall(ctx, plugins.MakeCallRequest{Calling: "1001", Called: "1002", AccountCode: "77", UserData: "u"})
	if err != nil || c != (plugins.ConnectionRef{Device: "1001", CallID: "c1", ConnectionID: "k1"}) {
		t.Fatalf("make call: %+v %v", c, err)
	}
	if got := tp.last(); got != "make 1001 1002 77 u" {
		t.Errorf("make call args: %q", got)
	}
	select {
	case ev := <-events:
		want := fullEvent("1001")
		want.Seq = 1
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("event:\n got %+v\nwant %+v", ev, want)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}

	snap, err := d.Snapshot(ctx, "1001")
	want := plugins.DeviceSnapshot{Device: "1001", Seq: 1, DND: true, AgentState: plugins.AgentBusy,
		Calls: []plugins.CallSnapshot{{CallID: "c1", ConnectionID: "x", State: plugins.StateHold, Other: "1002",
			OtherName: "Bob", PartyType: plugins.PartyExternal, GlobalCallID: "g1", OriginalCalled: "1009",
			LastRedirection: "1008", Calling: "1002", Called: "1009", QueuePosition: 2}},
		Forwarding:     []plugins.Forwarding{{Type: plugins.ForwardImmediate, To: "3000", Enabled: true}},
		MessageWaiting: true, Category: plugins.CategoryGroup}
	if err != nil || !reflect.DeepEqual(snap, want) {
		t.Errorf("snapshot: %+v %v", snap, err)
	}

	cr := plugins.ConnectionRef{Device: "1001", CallID: "c1", ConnectionID: "k1"}
	cr2 := plugins.ConnectionRef{Device: "1001", CallID: "c2"}
	steps := []struct {
		want string
		do   func() error
	}{
		{"answer {1001 c1 k1}", func() error { return d.Answer(ctx, cr) }},
		{"clear {1001 c1 k1}", func() error { return d.Clear(ctx, cr) }},
		{"hold {1001 c1 k1}", func() error { return d.Hold(ctx, cr) }},
		{"retrieve {1001 c1 k1}", func() error { return d.Retrieve(ctx, cr) }},
		{"consult {1001 c1 k1} 1003", func() error {
			r, err := d.Consultation(ctx, cr, "1003")
			return check(r.CallID == "c2", err)
		}},
		{"transfer {1001 c1 k1} {1001 c2 }", func() error {
			r, err := d.Transfer(ctx, cr, cr2)
			return check(r.CallID == "c3", err)
		}},
		{"sst {1001 c1 k1} 1004", func() error {
			r, err := d.SingleStepTransfer(ctx, cr, "1004")
			return check(r.Device == "1004", err)
		}},
		{"conference {1001 c1 k1} {1001 c2 }", func() error {
			r, err := d.Conference(ctx, cr, cr2)
			return check(r.CallID == "c5", err)
		}},
		{"deflect {1001 c1 k1} 1005", func() error { return d.Deflect(ctx, cr, "1005") }},
		{"digits {1001 c1 k1} 12#", func() error { return d.GenerateDigits(ctx, cr, "12#") }},
		{"park {1001 c1 k1} ", func() error { s, err := d.Park(ctx, cr, ""); return check(s == "701", err) }},
		{"pickup 1006 701", func() error {
			r, err := d.Pickup(ctx, "1006", "701")
			return check(r.CallID == "c6", err)
		}},
		{"dnd 1001 true", func() error { return d.SetDND(ctx, "1001", true) }},
		{"fwd 1001 {no_answer 2000 true}", func() error {
			return d.SetForwarding(ctx, "1001", plugins.Forwarding{Type: plugins.ForwardNoAnswer, To: "2000", Enabled: true})
		}},
		{"agent {1001 a7 not_ready lunch}", func() error {
			return d.SetAgentState(ctx, plugins.AgentStateRequest{Device: "1001", AgentID: "a7", State: plugins.AgentNotReady, Reason: "lunch"})
		}},
		{"reconnect {1001 c1 k1} {1001 c2 }", func() error {
			r, err := d.Reconnect(ctx, cr, cr2)
			return check(r == cr, err)
		}},
		{"alternate {1001 c1 k1} {1001 c2 }", func() error {
			r, err := d.Alternate(ctx, cr, cr2)
			return check(r == cr, err)
		}},
		{"group pickup 1006 g7", func() error {
			r, err := d.GroupPickup(ctx, "1006", "g7")
			return check(r == plugins.ConnectionRef{Device: "1006", CallID: "c7"}, err)
		}},
		{"camp on {1001 c1 k1}", func() error { return d.CampOn(ctx, cr) }},
		{"call back {1001 c1 k1}", func() error { return d.CallBack(ctx, cr) }},
		{"intrude {1001 c1 k1}", func() error {
			r, err := d.Intrude(ctx, cr)
			return check(r == plugins.ConnectionRef{Device: "1001", CallID: "c8"}, err)
		}},
		{"consult {1001 c1 k1} 1003 account 4711", func() error {
			r, err := d.ConsultationAccount(ctx, cr, "1003", "4711")
			return check(r.CallID == "c2", err)
		}},
		{"consult {1001 c1 k1} 1003", func() error {
			r, err := d.ConsultationAccount(ctx, cr, "1003", "")
			return check(r.CallID == "c2", err)
		}},
		{`list "" 50`, func() error {
			p, err := d.ListDevices(ctx, "", 50)
			return check(p.Next == "p2" && len(p.Devices) == 1 && p.Devices[0] ==
				plugins.DirectoryEntry{Device: "1001", Name: "Anna", Type: plugins.PartyInternal}, err)
		}},
		{`list "p2" 0`, func() error {
			p, err := d.ListDevices(ctx, "p2", 0)
			return check(p.Next == "" && len(p.Devices) == 2 && p.Devices[0].Type == plugins.PartyTrunk &&
				p.Devices[1].Category == plugins.CategoryACD, err)
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Errorf("%s: %v", s.want, err)
		}
		if got := tp.last(); got != s.want {
			t.Errorf("driver saw %q, want %q", got, s.want)
		}
	}
}

func check(ok bool, err error) error {
	if err == nil && !ok {
		return errors.New("wrong result")
	}
	return err
}

func TestShimErrors(t *testing.T) {
	tp := newTestPBX()
	d := inProcess(t, tp)
	ctx := t.Context()

	err := d.Clear(ctx, plugins.ConnectionRef{Device: "1001"})
	if !errors.Is(err, plugins.ErrNotFound) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("clear unknown call: %v", err)
	}
	if _, err := d.MonitorStart(ctx, "bad"); !errors.Is(err, plugins.ErrNotFound) {
		t.Errorf("monitor bad device: %v", err)
	}

	// The host's deadline reaches the driver, and the call ends with it.
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.Retrieve(wctx, plugins.ConnectionRef{Device: "wait"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("retrieve past deadline: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("deadline took %v", el)
	}
	tp.mu.Lock()
	sawDeadline := tp.deadline
	tp.mu.Unlock()
	if !sawDeadline {
		t.Error("driver's ctx had no deadline")
	}
}

func TestShimNotSupported(t *testing.T) {
	d := inProcess(t, minimalPBX{ev: sdk.NewEvents(0)})
	ctx := t.Context()
	caps, err := d.Capabilities(ctx)
	if err != nil || len(caps.Services) != 0 {
		t.Fatalf("capabilities: %+v %v", caps, err)
	}
	_, err = d.Transfer(ctx, plugins.ConnectionRef{}, plugins.ConnectionRef{})
	if !errors.Is(err, plugins.ErrNotSupported) || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("transfer: %v", err)
	}
	if err := d.SetDND(ctx, "1001", true); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("set dnd: %v", err)
	}
	if _, err := d.Reconnect(ctx, plugins.ConnectionRef{}, plugins.ConnectionRef{}); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("reconnect: %v", err)
	}
	if _, err := d.Alternate(ctx, plugins.ConnectionRef{}, plugins.ConnectionRef{}); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("alternate: %v", err)
	}
	if _, err := d.ListDevices(ctx, "", 0); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("list devices: %v", err)
	}
}
