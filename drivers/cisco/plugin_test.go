package cisco_test

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestBundledDriverUnderSupervisor runs `switchboard driver cisco` (the
// real binary) under the plugins supervisor against the simulator: the
// capabilities are declared honestly, events flow through go-plugin, and
// after kill -9 the subscriptions are restored on a new channel.
func TestBundledDriverUnderSupervisor(t *testing.T) {
	sim, ca := newSim(t, labcisco.Config{})
	s := drivertest.Supervise(t, "cisco", driverConfig(sim, ca, nil))
	ctx := s.Ctx
	s.Next(plugins.EventLinkUp, "")

	caps, err := s.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if caps.Vendor != "Cisco BroadWorks Xsi" {
		t.Errorf("vendor %q", caps.Vendor)
	}
	// The attendant services BroadWorks has but this driver does not
	// implement yet (README, "What it supports") must not be declared;
	// every other service must be.
	undeclared := []plugins.Service{plugins.ServiceQueueMonitor, plugins.ServiceGroupPickup,
		plugins.ServiceCampOn, plugins.ServiceCallBack, plugins.ServiceIntrude, plugins.ServiceAccountCode}
	for _, svc := range plugins.AllServices() {
		switch {
		case svc == plugins.ServiceMessageWaiting: // only with config message_waiting
		case slices.Contains(undeclared, svc):
			if caps.Supports(svc) {
				t.Errorf("%s declared but not implemented", svc)
			}
		case !caps.Supports(svc):
			t.Errorf("%s not declared", svc)
		}
	}
	err = s.SetAgentState(ctx, plugins.AgentStateRequest{Device: "201", State: plugins.AgentReady})
	if err != nil {
		t.Errorf("set agent state: %v", err)
	}

	for _, d := range []string{"201", "202"} {
		if _, err := s.MonitorStart(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := s.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	ev := s.Next(plugins.EventOriginated, "201")
	if ev.CallID != ref.CallID || ev.Driver != "cisco" || ev.Seq == 0 {
		t.Fatalf("originated through go-plugin: %+v", ev)
	}
	if ev := s.Next(plugins.EventDelivered, "202"); ev.State != plugins.StateAlerting {
		t.Fatalf("delivered %+v", ev)
	}

	// kill -9: the host restarts the driver, which opens a new channel and
	// subscribes both users again.
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ev := s.Next(plugins.EventLinkDown, ""); ev.Cause != plugins.CauseDriverFailure {
		t.Fatalf("link down %+v", ev)
	}
	s.Next(plugins.EventLinkUp, "")
	if snap := s.Next(plugins.EventSnapshot, ""); snap.Snapshot == nil {
		t.Fatalf("snapshot event %+v", snap)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(sim.Subscribed(), []string{"201", "202"}) || sim.Channels() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after restart: subscribed %v, channels %d", sim.Subscribed(), sim.Channels())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Answer(ctx, plugins.ConnectionRef{Device: "202", CallID: ref.CallID}); err != nil {
		t.Fatal(err)
	}
	if ev := s.Next(plugins.EventEstablished, "202"); ev.CallID != ref.CallID {
		t.Fatalf("established after restart %+v", ev)
	}
}
