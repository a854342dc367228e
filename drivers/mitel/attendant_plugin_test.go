package mitel_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestAttendantFeaturesThroughPlugin: `switchboard driver mitel` (the
// real binary, under the supervisor, over go-plugin gRPC) declares the
// attendant services, carries a queue's length and positions in QUEUED
// events and a group device's category in its snapshot, picks a call up
// from a named pickup group, and passes an account code to the PBX.
func TestAttendantFeaturesThroughPlugin(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: []string{"201", "202", "203", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.SetPickupGroup("7", "202", "203")
	s := drivertest.Supervise(t, "mitel", driverConfig(sim.Addr(),
		map[string]any{"directory": []map[string]string{{"device": "600", "name": "Reception", "category": "group"}}}))
	ctx := s.Ctx
	s.Next(plugins.EventLinkUp, "")
	caps, err := s.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []plugins.Service{plugins.ServiceQueueMonitor, plugins.ServiceGroupPickup, plugins.ServiceCampOn,
		plugins.ServiceCallBack, plugins.ServiceIntrude, plugins.ServiceAccountCode} {
		if !caps.Supports(svc) {
			t.Errorf("%s not declared", svc)
		}
	}
	for _, d := range []string{"201", "202", "600"} {
		if _, err := s.MonitorStart(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if snap, err := s.Snapshot(ctx, "600"); err != nil || snap.Category != plugins.CategoryGroup {
		t.Fatalf("snapshot of 600: %+v %v", snap, err)
	}
	sim.Queue("0301111", "600")
	sim.Queue("0302222", "600")
	s.Next(plugins.EventQueued, "600")
	if ev := s.Next(plugins.EventQueued, "600"); ev.QueueLength != 2 || ev.QueuePosition != 2 || ev.Calling != "0302222" {
		t.Fatalf("second queued call through go-plugin: %+v", ev)
	}

	sim.Incoming("0307777", "202")
	ringing := s.Next(plugins.EventDelivered, "202")
	ref, err := s.GroupPickup(ctx, "201", "7")
	if err != nil || ref.CallID != ringing.CallID {
		t.Fatalf("group pickup: %+v %v", ref, err)
	}
	if ev := s.Next(plugins.EventEstablished, "201"); ev.CallID != ringing.CallID || ev.Cause != plugins.CauseCallPickup {
		t.Fatalf("established at 201: %+v", ev)
	}

	if _, err := s.MakeCall(ctx, plugins.MakeCallRequest{Calling: "202", Called: "203", AccountCode: "4711"}); err != nil {
		t.Fatal(err)
	}
	drivertest.WaitFor(t, "the account code at the PBX", func() bool {
		got := sim.AccountCodes()
		return len(got) == 1 && got[0] == "202:4711"
	})
}
