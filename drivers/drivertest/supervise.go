package drivertest

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Supervised is the real binary's driver run by a plugins.Supervisor, as
// the gateway runs it.
type Supervised struct {
	*plugins.Supervisor
	t testing.TB
	// Ctx is the supervisor's context, for its calls.
	Ctx context.Context
}

// Supervise runs `switchboard driver name` (the binary [Main] built)
// under a supervisor with config, health checks every 200ms and a short
// restart backoff. Cleanup stops it.
func Supervise(t testing.TB, name string, config []byte) *Supervised {
	t.Helper()
	bin := Switchboard(t)
	s, err := plugins.NewSupervisor(plugins.Config{
		Name:           name,
		Command:        func(name string) *exec.Cmd { return exec.Command(bin, "driver", name) },
		DriverConfig:   config,
		HealthInterval: 200 * time.Millisecond,
		BackoffMin:     20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range s.Events() {
		}
		<-done
	})
	return &Supervised{Supervisor: s, t: t, Ctx: ctx}
}

// Next skips events until one of type want at dev ("" = any device),
// failing the test after 10s.
func (s *Supervised) Next(want plugins.EventType, dev string) plugins.Event {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.Events():
			if ev.Type == want && (dev == "" || ev.Device == dev) {
				return ev
			}
		case <-timeout:
			s.t.Fatalf("no %s event at %q", want, dev)
		}
	}
}
