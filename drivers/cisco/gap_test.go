package cisco_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestQueueOverflowResyncs: while the processor is stalled, a call's
// events overflow the (here tiny) queue; they were acknowledged, so the
// server does not send them again. The drops are counted, every device
// is snapshotted again from the server, RESYNC tells the host, and the
// driver's state shows the call ringing at 202. Before, the queue grew
// without bound.
func TestQueueOverflowResyncs(t *testing.T) {
	defer cisco.SetQueueLimit(1)()
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202")
	release := cisco.StallProcessor(e.d)
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		release()
		t.Fatal(err)
	}
	for i := 0; e.d.Stats().QueueDrops < 2 && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	release()
	if n := e.d.Stats().QueueDrops; n < 2 {
		t.Fatalf("queue drops %d, want >= 2", n)
	}
	next(e, plugins.EventResync, "")
	drivertest.WaitFor(t, "202 ringing", func() bool {
		return drivertest.CallStates(e.snapshot("202")) == ref.CallID+":alerting"
	})
}

// TestSequenceGapTellsHost: after a sequenceNumber gap the device's fresh
// snapshot is applied and the host told (RESYNC for that device), so it
// takes the device's snapshot and the console's lamp is right too. Before,
// only the driver's own state was corrected: the host kept showing a call
// that had ended.
func TestSequenceGapTellsHost(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	c := connect(t, e, "201", "202")
	e.sim.SkipEvents("202", 1) // 202's CallReleasedEvent
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "203", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	for {
		ev := e.Next()
		if ev.Type == plugins.EventResync {
			if ev.Device != "202" {
				t.Fatalf("resync for %q, want 202", ev.Device)
			}
			break
		}
	}
	if got := drivertest.CallStates(e.snapshot("202")); strings.Contains(got, c.CallID) {
		t.Errorf("202 after the RESYNC still shows the ended call: %s", got)
	}
}

// TestOvertakenResyncTellsHostOnce: a gap's fresh snapshot whose calls a
// call event overtook is asked again, and only the snapshot taken tells
// the host (RESYNC): nothing before it. Before, the overtaken one told the
// host too, which took the device's snapshot with its calls not yet
// right, then again after the re-snapshot (the Cisco chaos run's resync
// snapshots tripled).
func TestOvertakenResyncTellsHostOnce(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201")
	e.Quiet()
	cisco.PushOvertakenResync(e.d, "201")
	for ev := e.Next(); ev.Device != "mark"; ev = e.Next() {
		if ev.Type == plugins.EventResync {
			t.Fatalf("RESYNC %q for the overtaken snapshot, before its re-snapshot", ev.Device)
		}
	}
	for ev := e.Next(); ev.Type != plugins.EventResync || ev.Device != "201"; ev = e.Next() {
	}
}

// TestMonitorStartWaitsForSnapshot: MonitorStart returns once the
// device's snapshot is applied, so the Snapshot the host takes right
// after it shows the server's calls (the Avaya driver lost lamps after
// kill -9 with the same order).
func TestMonitorStartWaitsForSnapshot(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201")
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	drivertest.WaitFor(t, "the call alerting at 202", func() bool { return len(e.sim.CallsAt("202")) == 1 })
	release := cisco.StallProcessor(e.d)
	done := make(chan error, 1)
	go func() { _, err := e.d.MonitorStart(bg, "202"); done <- err }()
	select {
	case err := <-done: // returned while nothing is applied: the snapshot must be in anyway
		if s := e.snapshot("202"); err != nil || len(s.Calls) != 1 {
			release()
			t.Fatalf("MonitorStart returned (%v) before its snapshot was applied: %+v", err, s)
		}
	case <-time.After(500 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := e.snapshot("202"); len(s.Calls) != 1 || s.Calls[0].State != plugins.StateAlerting {
		t.Errorf("202 after MonitorStart: %+v", s)
	}
}
