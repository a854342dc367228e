package plugins_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// TestHostKeepsRunningWhileADriverIsReplaced: a driver added while the
// host runs and not yet started (a restart from the admin UI, a reload
// between Add and Start) is not a driver that gave up. The host used to
// end Run when the last running driver was removed while another was only
// added, and the next Start failed with ErrHostStopped: under load an
// admin-UI restart left the driver stopped for good (lab/e2e
// TestAdminUICTIRestart failed in CI that way).
func TestHostKeepsRunningWhileADriverIsReplaced(t *testing.T) {
	a := exampleConfig(t)
	h, err := plugins.NewHost(a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	s, _ := h.Driver(a.Name)
	if ev := next(t, s, 20*time.Second); ev.Type != plugins.EventLinkUp {
		t.Fatalf("first start: %+v", ev)
	}

	b := exampleConfig(t)
	b.Name = "replacement"
	if _, err := h.Add(b); err != nil {
		t.Fatal(err)
	}
	if err := h.Remove(a.Name); err != nil { // the last running driver goes
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned with a driver added and not yet started: %v", err)
	case <-time.After(300 * time.Millisecond): // Run has seen the removal
	}
	if err := h.Start(b.Name); err != nil {
		t.Fatalf("Start after the replacement: %v", err)
	}
	s2, _ := h.Driver(b.Name)
	if ev := next(t, s2, 20*time.Second); ev.Type != plugins.EventLinkUp {
		t.Fatalf("replacement: %+v", ev)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("host did not stop")
	}
}
