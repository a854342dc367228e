package mitel_test

import (
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestMessagesLostResnapshots: the switch loses the events of an answer,
// then says SystemStatus messagesLost; the driver (the real binary under
// the host) snapshots its devices again from the PBX and the host sends
// the fresh snapshots on, showing the call connected. Before, the answer
// stayed unknown: the lamp showed ringing until the next event.
func TestMessagesLostResnapshots(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: []string{"201", "202"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	s := drivertest.Supervise(t, "mitel", driverConfig(sim.Addr(), nil))
	ctx := s.Ctx
	s.Next(plugins.EventLinkUp, "")
	for _, d := range []string{"201", "202"} {
		if _, err := s.MonitorStart(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := s.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	s.Next(plugins.EventDelivered, "202")
	sim.LoseEvents(2) // Established to 201 and 202
	if err := s.Answer(ctx, plugins.ConnectionRef{Device: "202", CallID: ref.CallID}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sim.Lost() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if snap, err := s.Snapshot(ctx, "202"); err != nil || len(snap.Calls) != 1 || snap.Calls[0].State != plugins.StateAlerting {
		t.Fatalf("before messagesLost the driver should not know of the answer: %+v %v", snap, err)
	}
	start := time.Now()
	sim.SendSystemStatus(cstaxml.SystemStatusMessagesLost)
	got := map[string]*plugins.DeviceSnapshot{}
	for len(got) < 2 {
		ev := s.Next(plugins.EventSnapshot, "")
		got[ev.Device] = ev.Snapshot
	}
	t.Logf("messagesLost → both snapshots sent on in %s", time.Since(start).Round(time.Millisecond))
	for _, d := range []string{"201", "202"} {
		if sn := got[d]; len(sn.Calls) != 1 || sn.Calls[0].State != plugins.StateConnected || sn.Stale {
			t.Errorf("%s after messagesLost: %+v", d, sn)
		}
	}
	if sim.SystemStatusAnswers() < 1 {
		t.Error("SystemStatus not answered")
	}
}

// TestSystemStatusDisabled: SystemStatus disabled is link_down (the
// snapshot says stale), normal after it is link_up with the devices
// snapshotted again. Before, both were only answered.
func TestSystemStatusDisabled(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201")
	e.sim.SendSystemStatus(cstaxml.SystemStatusDisabled)
	if ev := waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventLinkDown }); ev.RawCause == "" {
		t.Errorf("link down without a reason: %+v", ev)
	}
	if snap := e.snapshot("201"); !snap.Stale {
		t.Errorf("snapshot while disabled: %+v", snap)
	}
	e.sim.SendSystemStatus(cstaxml.SystemStatusNormal)
	waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventLinkUp })
	if snap := e.snapshot("201"); snap.Stale {
		t.Errorf("snapshot after normal: %+v", snap)
	}
}

// TestDeferredSnapshots: a switch that answers SnapshotDevice with a
// serviceCrossRefID and sends the calls in SnapshotDeviceData segments:
// the driver's snapshot (taken at monitor start) shows them. Before, the
// snapshot was empty: a lamp lost at every (re)start.
func TestDeferredSnapshots(t *testing.T) {
	e := newEnv(t, labmitel.Config{DeferredSnapshots: true}, nil)
	e.monitor("201")
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventDelivered })
	if err := e.d.MonitorStop(bg, "201"); err != nil {
		t.Fatal(err)
	}
	e.monitor("201", "202") // monitored while the call is up: only the snapshot knows it
	for dev, want := range map[string]plugins.ConnectionState{"201": plugins.StateConnected, "202": plugins.StateAlerting} {
		snap := e.snapshot(dev)
		if len(snap.Calls) != 1 || snap.Calls[0].CallID != ref.CallID || snap.Calls[0].State != want {
			t.Errorf("%s: snapshot %+v, want call %s %s", dev, snap, ref.CallID, want)
		}
	}
}
