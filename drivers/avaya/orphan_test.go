package avaya_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
)

// TestOrphanedMonitorStopped: AES is slow; a MonitorStart times out at
// the driver but AES carries it out later and answers late. The monitor
// it made (a TSAPI licence, events no one maps) is stopped by the driver,
// and the device can be monitored again. Before, the orphan stayed for
// the session, and the host's retry got back the id of a monitor AES
// never had.
func TestOrphanedMonitorStopped(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, map[string]any{"request_timeout": "1s"})
	e.monitor("201", "202")
	if err := e.d.MonitorStop(bg, "202"); err != nil { // its device ID stays known for the session
		t.Fatal(err)
	}
	e.sim.SetDelay(2500 * time.Millisecond)
	if _, err := e.d.MonitorStart(bg, "202"); err == nil {
		t.Fatal("MonitorStart answered despite the delay")
	}
	e.sim.SetDelay(0)
	drivertest.WaitFor(t, "the orphan stopped", func() bool {
		return slices.Equal(e.sim.Monitors(), []string{"201"}) && e.d.Stats().Orphans == 1
	})
	e.monitor("202")
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("sim monitors %v", got)
	}
}
