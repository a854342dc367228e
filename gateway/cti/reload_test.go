package cti_test

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/cti"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// statusOf polls the named driver's status until ok accepts it.
func statusOf(t *testing.T, m *cti.Manager, name, what string, ok func(cti.Status) bool) cti.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var s cti.Status
		found := false
		for _, st := range m.Status() {
			if st.Name == name {
				s, found = st, true
			}
		}
		if found && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never %s: %+v (found %v)", name, what, s, found)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestManagerUpdate: a reload restarts a changed driver with its monitors
// (including one started through the API), starts an added one and stops
// a removed one, while an unchanged driver keeps its process; consumers
// see link_down for the drivers stopped; a bad list changes nothing.
func TestManagerUpdate(t *testing.T) {
	sims := make([]*labmitel.Sim, 3)
	for i := range sims {
		s, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sims[i] = s
	}
	var mu sync.Mutex
	downs := map[string]string{}
	drv := func(name string, sim int, mon ...string) config.CTIDriver {
		return config.CTIDriver{Name: name, Driver: "mitel", Config: mitelConfig(t, sims[sim].Addr()), Monitor: mon}
	}
	m, err := cti.New(cti.Options{
		Drivers: []config.CTIDriver{drv("pbx1", 0, "201"), drv("pbx2", 1, "301")},
		Command: testCommand(t),
		OnEvent: func(ev plugins.Event) {
			if ev.Type == plugins.EventLinkDown && ev.Seq == 0 {
				mu.Lock()
				downs[ev.Driver] = ev.RawCause
				mu.Unlock()
			}
		},
		Tune: func(c *plugins.Config) { c.BackoffMin, c.HealthInterval = 20*time.Millisecond, 200*time.Millisecond },
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
	if _, err := sup1.MonitorStart(ctx, "205"); err != nil { // as a console would
		t.Fatal(err)
	}

	ch, err := m.Update(ctx, []config.CTIDriver{drv("pbx1", 0, "201", "203"), drv("pbx2", 1, "301"), drv("pbx3", 2, "401")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Changed, []string{"pbx1"}) || !slices.Equal(ch.Added, []string{"pbx3"}) || len(ch.Removed) != 0 {
		t.Fatalf("changes %+v", ch)
	}
	n1 := statusOf(t, m, "pbx1", "up again", func(s cti.Status) bool { return s.State == "up" && s.Monitors == 3 })
	if n1.PID == p1.PID {
		t.Errorf("changed driver kept PID %d", p1.PID)
	}
	if err := syscall.Kill(p1.PID, 0); err == nil {
		t.Errorf("the changed driver's old process %d still runs", p1.PID)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(sims[0].Monitors(), []string{"201", "203", "205"}) {
		if time.Now().After(deadline) {
			t.Fatalf("pbx1 sim monitors %v, want 201 203 205", sims[0].Monitors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p3 := statusOf(t, m, "pbx3", "up", up)
	if s := statusOf(t, m, "pbx2", "up", up); s.PID != p2.PID || s.Restarts != 0 {
		t.Errorf("unchanged driver restarted: pid %d → %d, restarts %d", p2.PID, s.PID, s.Restarts)
	}
	mu.Lock()
	if downs["pbx1"] == "" || downs["pbx2"] != "" {
		t.Errorf("link_down seen for %v", downs)
	}
	mu.Unlock()

	if _, err := m.Update(ctx, []config.CTIDriver{drv("pbx1", 0), drv("pbx1", 1)}); err == nil {
		t.Fatal("a duplicate name was taken")
	}
	if _, err := m.Update(ctx, []config.CTIDriver{{Name: "pbx9", Path: "/nonexistent", SHA256: "zz"}}); err == nil {
		t.Fatal("a bad checksum was taken")
	}
	if got := len(m.Status()); got != 3 {
		t.Fatalf("a refused update changed the drivers: %d", got)
	}

	ch, err = m.Update(ctx, []config.CTIDriver{drv("pbx1", 0, "201", "203"), drv("pbx2", 1, "301")})
	if err != nil || !slices.Equal(ch.Removed, []string{"pbx3"}) {
		t.Fatalf("remove: %+v %v", ch, err)
	}
	if err := syscall.Kill(p3.PID, 0); err == nil {
		t.Errorf("removed driver's process %d still runs", p3.PID)
	}
	if _, ok := m.Driver("pbx3"); ok {
		t.Error("removed driver still found")
	}
	mu.Lock()
	if downs["pbx3"] == "" {
		t.Error("no link_down for the removed driver")
	}
	mu.Unlock()
	if s := statusOf(t, m, "pbx2", "up", up); s.PID != p2.PID {
		t.Errorf("unchanged driver restarted by the removal: %d → %d", p2.PID, s.PID)
	}
}

// TestManagerUpdateBeforeRun: drivers added before Run start with it.
func TestManagerUpdateBeforeRun(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	m, err := cti.New(cti.Options{Command: testCommand(t),
		Tune: func(c *plugins.Config) { c.BackoffMin = 20 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := m.Update(ctx, []config.CTIDriver{{Name: "pbx1", Driver: "mitel", Config: mitelConfig(t, sim.Addr()), Monitor: []string{"201"}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	statusOf(t, m, "pbx1", "up with its monitor", func(s cti.Status) bool { return s.State == "up" && s.Monitors == 1 })
}
