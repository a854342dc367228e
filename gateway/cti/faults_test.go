package cti_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/cti"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestHungDriverOthersGoOn: one of two drivers is frozen (SIGSTOP, as a
// driver stuck in a call would be): calls to it fail at their deadline,
// the other driver's calls and events go on meanwhile, and the frozen one
// is found hung, killed and replaced with its monitors.
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
			c.BackoffMin, c.CallTimeout = 20*time.Millisecond, 300*time.Millisecond
			c.HealthInterval, c.HealthTimeout, c.HealthFailures = 100*time.Millisecond, 100*time.Millisecond, 3
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(15 * time.Second)
	for m.Status()[0].State != "up" || m.Status()[1].State != "up" {
		if time.Now().After(deadline) {
			t.Fatalf("drivers not up: %+v", m.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("call to the frozen driver took %s", el)
	}
	for i := range 10 { // the other driver goes on
		if _, err := pbx2.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
			t.Fatalf("call %d to the other driver: %v", i, err)
		}
	}
	s := waitFor(t, m, "replaced", func(s cti.Status) bool { return s.State == "up" && s.PID != frozen && s.Restarts >= 1 })
	if s.Monitors != 2 {
		t.Fatalf("replaced driver %+v", s)
	}
	if other := m.Status()[1]; other.Restarts != 0 || other.State != "up" {
		t.Fatalf("the other driver was disturbed: %+v", other)
	}
	mu.Lock()
	n := delivered["pbx2"]
	mu.Unlock()
	if n < 10 {
		t.Fatalf("the other driver's events: %d delivered, want at least 10", n)
	}
	// The replacement answers calls.
	if _, err := pbx1.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatalf("call to the replaced driver: %v", err)
	}
}
