package cti_test

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/cti"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
)

// TestManagerRestart: restarting one driver gives it a new process that
// monitors what the old one did (the configured device and one started
// through the API); the other driver keeps its process; an unknown name
// is ErrUnknownDriver.
func TestManagerRestart(t *testing.T) {
	sims := make([]*labmitel.Sim, 2)
	for i := range sims {
		s, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sims[i] = s
	}
	drv := func(name string, sim int, mon ...string) config.CTIDriver {
		return config.CTIDriver{Name: name, Driver: "mitel", Config: mitelConfig(t, sims[sim].Addr()), Monitor: mon}
	}
	m, err := cti.New(cti.Options{
		Drivers: []config.CTIDriver{drv("pbx1", 0, "201"), drv("pbx2", 1, "301")},
		Command: testCommand(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	up := func(s cti.Status) bool { return s.State == "up" }
	p1 := statusOf(t, m, "pbx1", "up", up)
	p2 := statusOf(t, m, "pbx2", "up", up)
	sup1, _ := m.Driver("pbx1")
	if _, err := sup1.MonitorStart(ctx, "205"); err != nil {
		t.Fatal(err)
	}

	if err := m.Restart(ctx, "pbx1"); err != nil {
		t.Fatal(err)
	}
	n1 := statusOf(t, m, "pbx1", "up again with its monitors", func(s cti.Status) bool { return s.State == "up" && s.Monitors == 2 })
	if n1.PID == p1.PID {
		t.Fatalf("restarted driver kept PID %d", p1.PID)
	}
	if err := syscall.Kill(p1.PID, 0); err == nil {
		t.Errorf("the old process %d still runs", p1.PID)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(sims[0].Monitors(), []string{"201", "205"}) {
		if time.Now().After(deadline) {
			t.Fatalf("pbx1 sim monitors %v, want 201 205", sims[0].Monitors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := statusOf(t, m, "pbx2", "up", up); s.PID != p2.PID {
		t.Errorf("the other driver restarted: %d → %d", p2.PID, s.PID)
	}
	if err := m.Restart(ctx, "nope"); !errors.Is(err, cti.ErrUnknownDriver) {
		t.Fatalf("unknown driver: %v", err)
	}
}
