package cti_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/drivers/mitel"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/cti"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// driverEnv makes this test binary serve the Mitel driver when the host
// re-executes it, standing in for `switchboard driver mitel`.
const driverEnv = "SWITCHBOARD_CTI_TEST_DRIVER"

// holdEnv names a file: a driver process started with it waits, before
// its handshake, until the file exists (a start held up).
const holdEnv = "SWITCHBOARD_CTI_TEST_HOLD"

func TestMain(m *testing.M) {
	if os.Getenv(driverEnv) == "mitel" {
		if f := os.Getenv(holdEnv); f != "" {
			for { // held before the handshake until the test releases it
				if _, err := os.Stat(f); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		sdk.Serve(mitel.New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testCommand re-executes this test binary as the bundled driver.
func testCommand(t *testing.T) func(string) *exec.Cmd {
	return func(name string) *exec.Cmd {
		if name != "mitel" {
			t.Errorf("bundled driver %q asked for", name)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), driverEnv+"="+name)
		return cmd
	}
}

func mitelConfig(t *testing.T, addr string) config.DriverConfig {
	b, err := json.Marshal(map[string]any{"address": addr, "user": "csta", "password": "secret",
		"reconnect_min": "20ms", "reconnect_max": "200ms"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls the status of driver 0 until ok accepts it.
func waitFor(t *testing.T, m *cti.Manager, what string, ok func(cti.Status) bool) cti.Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := m.Status()[0]
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never %s: %+v", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestManagerMitel runs the Mitel driver as a child process against the
// simulator: configured monitors start, the status and metrics show the
// link, a kill -9 is survived with the monitors restored, and stopping
// leaves no process.
func TestManagerMitel(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	var mu sync.Mutex
	var types []plugins.EventType
	m, err := cti.New(cti.Options{
		Drivers: []config.CTIDriver{{Name: "pbx1", Driver: "mitel", Config: mitelConfig(t, sim.Addr()),
			Monitor: []string{"201", "202"}}},
		Command: testCommand(t),
		OnEvent: func(ev plugins.Event) {
			mu.Lock()
			types = append(types, ev.Type)
			mu.Unlock()
		},
		Tune: func(c *plugins.Config) { c.BackoffMin, c.HealthInterval = 20*time.Millisecond, 200*time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Status()[0]; s.State != "down" || s.Process != "stopped" {
		t.Fatalf("status before Run %+v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	s := waitFor(t, m, "up", func(s cti.Status) bool { return s.State == "up" })
	if s.Monitors != 2 || s.Vendor == "" || !slices.Contains(s.Capabilities, plugins.ServiceMakeCall) || s.PID == 0 {
		t.Fatalf("status %+v", s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(sim.Monitors(), []string{"201", "202"}) {
		if time.Now().After(deadline) {
			t.Fatalf("sim monitors %v", sim.Monitors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := metric(t, m, "switchboard_cti_driver_up"); got != 1 {
		t.Fatalf("driver_up %v", got)
	}

	// Call control goes through the supervisor; events reach OnEvent.
	sup, _ := m.Driver("pbx1")
	if _, err := sup.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := slices.Contains(types, plugins.EventDelivered)
		mu.Unlock()
		if n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivered event")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// kill -9: down, then up again with both monitors.
	pid := s.PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s = waitFor(t, m, "up after kill -9", func(s cti.Status) bool {
		return s.State == "up" && s.PID != pid && s.Restarts >= 1
	})
	if s.Monitors != 2 || s.LastRestoreMS <= 0 {
		t.Fatalf("status after restart %+v", s)
	}
	deadline = time.Now().Add(5 * time.Second)
	for !slices.Equal(sim.Monitors(), []string{"201", "202"}) || sim.Sessions() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("sim monitors %v sessions %d", sim.Monitors(), sim.Sessions())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A PBX link drop shows as down, then up.
	dropped := time.Now()
	sim.DropLinks()
	waitFor(t, m, "up after link drop", func(s cti.Status) bool {
		return s.State == "up" && s.LinkSince.After(dropped)
	})

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stopped = true
	if s := m.Status()[0]; s.Process != "stopped" || s.State != "down" {
		t.Fatalf("status after stop %+v", s)
	}
	if err := syscall.Kill(s.PID, 0); err == nil {
		t.Fatalf("driver process %d still alive", s.PID)
	}
}

// metric returns the value of the collector's metric name.
func metric(t *testing.T, m *cti.Manager, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			mt := mf.GetMetric()[0]
			if mt.GetGauge() != nil {
				return mt.GetGauge().GetValue()
			}
			return mt.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestManagerChecksum: a third-party driver whose checksum differs is
// refused and not restarted; Run returns the error.
func TestManagerChecksum(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m, err := cti.New(cti.Options{Drivers: []config.CTIDriver{{Name: "acme", Path: exe,
		SHA256: strings.Repeat("ab", 32)}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Run(ctx); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("run: %v", err)
	}
	if s := m.Status()[0]; s.State != "down" || s.Restarts != 0 || s.Path != exe {
		t.Fatalf("status %+v", s)
	}
}

// TestManagerBadDriverConfig: a driver whose config it refuses stays down;
// its status says why.
func TestManagerBadDriverConfig(t *testing.T) {
	m, err := cti.New(cti.Options{
		Drivers: []config.CTIDriver{{Name: "pbx1", Driver: "mitel", Config: config.DriverConfig(`{"adress":"x"}`)}},
		Command: testCommand(t),
		Tune:    func(c *plugins.Config) { c.BackoffMin = 20 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s := waitFor(t, m, "failing with a reason", func(s cti.Status) bool {
		return strings.Contains(s.LastProblem, "unknown field") && s.Restarts >= 1
	})
	if s.State != "down" || s.LastProblemAt.IsZero() {
		t.Fatalf("status %+v", s)
	}
	t.Logf("last problem: %s", s.LastProblem)
}

// TestManagerIncompatiblePBX: a Mitel PBX that answers otherwise than the
// driver's guesses (no ECMA-354 sessions) stops the driver for good, and
// the status says what the driver expected. Before, the driver looped
// through link_down forever with a generic reason.
func TestManagerIncompatiblePBX(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", NoSession: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	m, err := cti.New(cti.Options{
		Drivers: []config.CTIDriver{{Name: "pbx1", Driver: "mitel", Config: mitelConfig(t, sim.Addr()), Monitor: []string{"201"}}},
		Command: testCommand(t),
		Tune:    func(c *plugins.Config) { c.BackoffMin = 20 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Run(ctx); !errors.Is(err, plugins.ErrIncompatible) {
		t.Fatalf("run: %v", err)
	}
	s := m.Status()[0]
	if s.Process != "refused" || s.Restarts != 0 || !strings.Contains(s.LastProblem, "expected a StartApplicationSessionPosResponse") ||
		!strings.Contains(s.LastProblem, "session none") {
		t.Fatalf("status %+v", s)
	}
	if len(s.Unmonitored) != 1 || s.Unmonitored[0].Device != "201" || s.Unmonitored[0].State != plugins.MonitorPending {
		t.Fatalf("unmonitored %+v", s.Unmonitored)
	}
	t.Logf("last problem: %s", s.LastProblem)
}

// TestManagerLicenceShortage: with one "CSTA Sessions" licence for two
// configured devices, the status shows one monitored and the other
// retrying with the PBX's reason; when a licence frees up (the simulator
// is given more) the second is monitored without anyone asking.
func TestManagerLicenceShortage(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", MonitorLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	m, err := cti.New(cti.Options{
		Drivers: []config.CTIDriver{{Name: "pbx1", Driver: "mitel", Config: mitelConfig(t, sim.Addr()), Monitor: []string{"201", "202"}}},
		Command: testCommand(t),
		Tune: func(c *plugins.Config) {
			c.BackoffMin, c.MonitorRetryMin, c.MonitorRetryMax = 20*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s := waitFor(t, m, "one monitored, one retrying", func(s cti.Status) bool {
		return s.State == "up" && s.Monitored == 1 && len(s.Unmonitored) == 1 && s.Unmonitored[0].State == plugins.MonitorRetrying
	})
	if !strings.Contains(s.Unmonitored[0].Reason, "overallMonitorLimitExceeded") {
		t.Fatalf("reason %+v", s.Unmonitored[0])
	}
	t.Logf("unmonitored: %+v", s.Unmonitored[0])
	sim.SetMonitorLimit(2)
	s = waitFor(t, m, "both monitored", func(s cti.Status) bool { return s.Monitored == 2 && len(s.Unmonitored) == 0 })
	if s.MonitorRetries == 0 {
		t.Errorf("status %+v", s)
	}
}
