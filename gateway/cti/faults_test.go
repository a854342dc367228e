package cti_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/cti"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestHungDriverOthersGoOn: one of two drivers is frozen (SIGSTOP, as a
// driver stuck in a call would be): calls to it fail at their deadline;
// it is found hung and killed, and its replacement's start is held up
// before the handshake (a driver slow to start on a loaded machine)
// while the other driver's calls and events go on: nothing the two share
// (the host, the spawn thread, go-plugin's client start) blocks the
// healthy one. Released, the replacement comes up with its monitors.
//
// The healthy driver keeps the default call timeout: the test asks
// whether its calls are blocked (they would fail only after the held
// start is released), not how fast a loaded machine answers them.
func TestHungDriverOthersGoOn(t *testing.T) {
	var drivers []config.CTIDriver
	for _, name := range []string{"pbx1", "pbx2"} {
		sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		drivers = append(drivers, config.CTIDriver{Name: name, Driver: "mitel", Config: mitelConfig(t, sim.Addr()),
			Monitor: []string{"201", "202"}})
	}
	release := filepath.Join(t.TempDir(), "release")
	var starts, held atomic.Int32 // pbx1's processes, those started held
	var mu sync.Mutex
	delivered := map[string]int{}
	m, err := cti.New(cti.Options{
		Drivers: drivers,
		Command: testCommand(t),
		OnEvent: func(ev plugins.Event) {
			if ev.Type == plugins.EventDelivered {
				mu.Lock()
				delivered[ev.Driver]++
				mu.Unlock()
			}
		},
		Tune: func(c *plugins.Config) {
			c.BackoffMin, c.StartTimeout = 20*time.Millisecond, 2*time.Minute
			if c.Name != "pbx1" {
				return
			}
			c.CallTimeout = 2 * time.Second
			c.HealthInterval, c.HealthTimeout, c.HealthFailures = 200*time.Millisecond, 500*time.Millisecond, 3
			build := c.Command
			c.Command = func(name string) *exec.Cmd {
				cmd := build(name)
				if starts.Add(1) > 1 { // every replacement
					cmd.Env = append(cmd.Env, holdEnv+"="+release)
					held.Add(1)
				}
				return cmd
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	defer func() { _ = os.WriteFile(release, nil, 0o600) }()
	poll(t, "both drivers up", func() bool { return m.Status()[0].State == "up" && m.Status()[1].State == "up" })
	frozen := m.Status()[0].PID
	if err := syscall.Kill(frozen, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(frozen, syscall.SIGCONT) }()

	pbx1, _ := m.Driver("pbx1")
	pbx2, _ := m.Driver("pbx2")
	start := time.Now()
	_, err = pbx1.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("call to the frozen driver: %v", err)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("call to the frozen driver took %s", el)
	}
	// The frozen driver is killed and its replacement's start is held.
	poll(t, "the frozen driver's replacement started (held)", func() bool { return held.Load() >= 1 })
	calls := make(chan error, 1)
	go func() { // the other driver goes on meanwhile
		for i := range 10 {
			if _, err := pbx2.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
				calls <- fmt.Errorf("call %d: %w", i, err)
				return
			}
		}
		calls <- nil
	}()
	select { // a call blocked behind the held start would wait for ever
	case err := <-calls:
		if err != nil {
			t.Fatalf("the other driver while the replacement's start is held: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the other driver's calls blocked while the replacement's start is held")
	}
	if s := m.Status()[0]; s.Process == "running" {
		t.Fatalf("the held replacement runs: %+v", s)
	}
	poll(t, "the other driver's events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return delivered["pbx2"] >= 10
	})
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var s cti.Status
	poll(t, "the frozen driver replaced", func() bool {
		s = m.Status()[0]
		return s.State == "up" && s.PID != frozen && s.Restarts >= 1
	})
	if s.Monitors != 2 {
		t.Fatalf("replaced driver %+v", s)
	}
	if other := m.Status()[1]; other.Restarts != 0 || other.State != "up" {
		t.Fatalf("the other driver was disturbed: %+v", other)
	}
	// The replacement answers calls.
	if _, err := pbx1.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatalf("call to the replaced driver: %v", err)
	}
}

// poll waits for cond, failing after a minute (a loaded machine starts a
// race-built driver in seconds).
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartNotBehindHeldStart: while one driver's replacement is slow
// to start (held before its handshake), another driver that dies is
// replaced at once: starts do not queue behind each other (they shared
// one spawn thread, held for each start's whole handshake, up to
// StartTimeout).
func TestRestartNotBehindHeldStart(t *testing.T) {
	var drivers []config.CTIDriver
	for _, name := range []string{"pbx1", "pbx2"} {
		sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		drivers = append(drivers, config.CTIDriver{Name: name, Driver: "mitel", Config: mitelConfig(t, sim.Addr()),
			Monitor: []string{"201"}})
	}
	release := filepath.Join(t.TempDir(), "release")
	var starts, held atomic.Int32
	m, err := cti.New(cti.Options{
		Drivers: drivers,
		Command: testCommand(t),
		Tune: func(c *plugins.Config) {
			c.BackoffMin, c.StartTimeout = 20*time.Millisecond, 2*time.Minute
			if c.Name != "pbx1" {
				return
			}
			build := c.Command
			c.Command = func(name string) *exec.Cmd {
				cmd := build(name)
				if starts.Add(1) > 1 {
					cmd.Env = append(cmd.Env, holdEnv+"="+release)
					held.Add(1)
				}
				return cmd
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	defer func() { _ = os.WriteFile(release, nil, 0o600) }()
	poll(t, "both drivers up", func() bool { return m.Status()[0].State == "up" && m.Status()[1].State == "up" })
	if err := syscall.Kill(m.Status()[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, "pbx1's replacement started (held)", func() bool { return held.Load() >= 1 })
	lost := m.Status()[1].PID
	if err := syscall.Kill(lost, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	poll(t, "pbx2 replaced while pbx1's start is held", func() bool {
		s := m.Status()[1]
		return s.State == "up" && s.PID != lost && s.Restarts >= 1
	})
	if s := m.Status()[0]; s.Process == "running" {
		t.Fatalf("the held replacement runs: %+v", s)
	}
	pbx2, _ := m.Driver("pbx2")
	if _, err := pbx2.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatalf("call to the replaced pbx2: %v", err)
	}
}
