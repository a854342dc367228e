package plugins_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// TestBusyDriverNotRestarted: every health probe fails (a 1 ns bound: the
// probe of a driver busy with its own work, answered late) while the
// driver keeps answering the host's calls; it is busy, not hung, and is
// not restarted. Before, HealthFailures late probes in a row killed it
// (ctibench: a Cisco driver restoring 5,000 devices under load), which
// restarted the restore. TestHungDriverRestarted holds that a frozen
// driver is still replaced.
func TestBusyDriverNotRestarted(t *testing.T) {
	cfg := exampleConfig(t)
	// 1 s probes: the sign-of-life window (2 s) holds a call even on a
	// loaded machine (at 250 ms, CI at load 30 saw none in 500 ms)
	cfg.HealthInterval, cfg.HealthTimeout, cfg.HealthFailures = time.Second, time.Nanosecond, 2
	s, err := plugins.NewSupervisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	if ev := next(t, s, 20*time.Second); ev.Type != plugins.EventLinkUp {
		t.Fatalf("first event: %+v", ev)
	}
	pid := s.PID()
	ctx, cancel := context.WithTimeout(t.Context(), 4500*time.Millisecond) // four probes
	defer cancel()
	var wg sync.WaitGroup
	for range 2 { // the host's work: calls answered back to back
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _ = s.MonitorStart(ctx, "1001")
				_ = s.MonitorStop(ctx, "1001")
			}
		})
	}
	// Drain the consumer meanwhile: a link_down would be the restart.
	for ctx.Err() == nil {
		select {
		case ev := <-s.Events():
			if ev.Type == plugins.EventLinkDown {
				t.Fatalf("busy driver restarted: %+v", ev)
			}
		case <-ctx.Done():
		}
	}
	wg.Wait()
	if got := s.PID(); got != pid {
		t.Fatalf("driver process %d replaced by %d", pid, got)
	}
	if st := s.Stats(); st.Restarts != 0 {
		t.Fatalf("restarts %d, want 0", st.Restarts)
	}
}
