package mitel_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestBundledDriverUnderSupervisor runs `switchboard driver mitel` (the
// real binary) under the plugins supervisor against the simulator: the
// capabilities are declared honestly, events flow through go-plugin, and
// after kill -9 the monitors are restored.
func TestBundledDriverUnderSupervisor(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: []string{"201", "202"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	s := drivertest.Supervise(t, "mitel", driverConfig(sim.Addr(), nil))
	ctx := s.Ctx
	s.Next(plugins.EventLinkUp, "")

	caps, err := s.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []plugins.Service{plugins.ServiceMakeCall, plugins.ServiceAnswer, plugins.ServiceClear,
		plugins.ServiceHold, plugins.ServiceRetrieve, plugins.ServiceConsultation, plugins.ServiceTransfer,
		plugins.ServiceConference, plugins.ServiceSetDND, plugins.ServiceSetForwarding} {
		if !caps.Supports(svc) {
			t.Errorf("%s not declared", svc)
		}
	}
	for _, svc := range []plugins.Service{plugins.ServiceGenerateDigits, plugins.ServicePark} {
		if caps.Supports(svc) {
			t.Errorf("%s declared but not implemented", svc)
		}
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
	if ev.Device != "201" || ev.CallID != ref.CallID || ev.Driver != "mitel" || ev.Seq == 0 {
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
	snap := s.Next(plugins.EventSnapshot, "")
	if snap.Snapshot == nil {
		t.Fatalf("snapshot event %+v", snap)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(sim.Monitors(), []string{"201", "202"}) {
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

// TestDriverCommand checks `switchboard driver NAME` by hand: an unknown
// name is an error on stderr with exit 2, and stdout (go-plugin's
// handshake channel) stays empty.
func TestDriverCommand(t *testing.T) {
	for _, args := range [][]string{{"driver", "nope"}, {"driver"}} {
		cmd := exec.Command(drivertest.Switchboard(t), args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || stdout.Len() != 0 || stderr.Len() == 0 {
			t.Errorf("%v: err %v, stdout %q, stderr %q", args, err, stdout.String(), stderr.String())
		}
	}
}
