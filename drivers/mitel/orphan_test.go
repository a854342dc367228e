package mitel_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
)

// TestOrphanedMonitorStopped: the PBX is slow; a MonitorStart times out
// at the driver but the PBX carries it out later and answers late. The
// monitor it made (which holds a CSTA licence and sends events no one
// maps) is stopped by the driver, so the PBX is left with exactly the
// monitors the driver knows. Before, the orphan stayed at the PBX for the
// life of the link.
func TestOrphanedMonitorStopped(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, map[string]any{"request_timeout": "1s"})
	e.monitor("201")
	e.sim.SetDelay(2500 * time.Millisecond)
	if _, err := e.d.MonitorStart(bg, "202"); err == nil {
		t.Fatal("MonitorStart answered despite the delay")
	}
	e.sim.SetDelay(0)
	// The sim made the monitor after the driver gave up, answered late,
	// and the driver stopped it.
	drivertest.WaitFor(t, "the orphan stopped", func() bool {
		return slices.Equal(e.sim.Monitors(), []string{"201"}) && e.d.Stats().Orphans == 1
	})
	// The device itself can still be monitored (as the host retries it).
	e.monitor("202")
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("sim monitors %v", got)
	}
	t.Logf("stats %+v", e.d.Stats())
}
