package avaya_test

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestBundledDriverUnderSupervisor runs `switchboard driver avaya` (the
// real binary) under the plugins supervisor against the simulator: the
// capabilities are declared honestly, events flow through go-plugin, and
// after kill -9 the monitors are restored (the killed process's session
// is resumed or replaced by the new process).
func TestBundledDriverUnderSupervisor(t *testing.T) {
	sim, err := labavaya.New(simConfig(labavaya.Config{Devices: []string{"201", "202"}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	s := drivertest.Supervise(t, "avaya", driverConfig(sim.Addr(), nil))
	ctx := s.Ctx
	s.Next(plugins.EventLinkUp, "")

	caps, err := s.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []plugins.Service{plugins.ServiceMakeCall, plugins.ServiceAnswer, plugins.ServiceClear,
		plugins.ServiceHold, plugins.ServiceRetrieve, plugins.ServiceConsultation, plugins.ServiceTransfer,
		plugins.ServiceSingleStepTransfer, plugins.ServiceConference, plugins.ServiceDeflect,
		plugins.ServiceGenerateDigits, plugins.ServiceSetDND, plugins.ServiceSetForwarding, plugins.ServiceSetAgentState} {
		if !caps.Supports(svc) {
			t.Errorf("%s not declared", svc)
		}
	}
	for _, svc := range []plugins.Service{plugins.ServicePark, plugins.ServicePickup} {
		if caps.Supports(svc) {
			t.Errorf("%s declared but not implemented", svc)
		}
	}
	if !strings.Contains(caps.Vendor, "Avaya") {
		t.Errorf("vendor %q", caps.Vendor)
	}
	if _, err := s.Park(ctx, plugins.ConnectionRef{Device: "201", CallID: "1"}, "1"); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("park: %v", err)
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
	ev := s.Next(plugins.EventOriginated, "")
	if ev.Device != "201" || ev.CallID != ref.CallID || ev.Driver != "avaya" || ev.Seq == 0 || ev.Called != "202" {
		t.Fatalf("originated through go-plugin: %+v", ev)
	}
	for {
		ev = s.Next(plugins.EventDelivered, "")
		if ev.Device == "202" {
			break
		}
	}
	if ev.State != plugins.StateAlerting {
		t.Fatalf("delivered %+v", ev)
	}

	// kill -9: the host restarts the driver and restores both monitors.
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
	for !slices.Equal(sim.Monitors(), []string{"201", "202"}) {
		// The killed process's session lingers for its cleanup delay with
		// its monitors; the new process has its own.
		if got := sim.Monitors(); len(got) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sim monitors after restart %v", sim.Monitors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Answer(ctx, plugins.ConnectionRef{Device: "202", CallID: ref.CallID}); err != nil {
		t.Fatal(err)
	}
	if ev := s.Next(plugins.EventEstablished, ""); ev.CallID != ref.CallID {
		t.Fatalf("established after restart %+v", ev)
	}
}
