package avaya_test

import (
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestQueueOverflowResyncs: while the processor is stalled, a call's
// events overflow the (here tiny) queue; the drops are counted, every
// device is snapshotted again from AES, RESYNC tells the host, and the
// driver's state shows the call at both ends. Before, the queue grew
// without bound.
func TestQueueOverflowResyncs(t *testing.T) {
	defer avaya.SetQueueLimit(1)()
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202")
	release := avaya.StallProcessor(e.d)
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
	for {
		if ev := e.Next(); ev.Type == plugins.EventResync {
			break
		}
	}
	for _, dev := range []string{"201", "202"} {
		if s := e.snapshot(dev); len(s.Calls) != 1 || s.Calls[0].CallID != ref.CallID {
			t.Errorf("%s after the resync: %+v", dev, s)
		}
	}
}

// TestMessagesLostResyncs: AES loses the events of an answer, then says
// SystemStatus messagesLost: the driver snapshots every device again,
// tells the host (RESYNC), and its state shows the call connected at the
// answering end. Before, messagesLost got the default answer only and the
// lamp stayed alerting.
func TestMessagesLostResyncs(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202")
	ref := makeCall(t, e, "201", "202")
	e.sim.LoseEvents(1 << 20)
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "202", CallID: ref.CallID}); err != nil {
		t.Fatal(err)
	}
	e.sim.LoseEvents(0)
	if e.sim.Lost() == 0 {
		t.Fatal("no event lost")
	}
	if s := e.snapshot("202"); len(s.Calls) != 1 || s.Calls[0].State != plugins.StateAlerting {
		t.Fatalf("before messagesLost the driver should still show alerting: %+v", s)
	}
	e.sim.SendSystemStatus("messagesLost")
	for {
		if ev := e.Next(); ev.Type == plugins.EventResync {
			break
		}
	}
	if s := e.snapshot("202"); len(s.Calls) != 1 || s.Calls[0].State != plugins.StateConnected {
		t.Errorf("202 after the resync: %+v", s)
	}
	if n := e.d.Stats().MessagesLost; n != 1 {
		t.Errorf("messagesLost counted %d, want 1", n)
	}
}

// TestMonitorStartWaitsForSnapshot: MonitorStart returns once the
// device's snapshot is applied, so the Snapshot the host takes right
// after it shows AES's calls. Before, it returned with the snapshot still
// queued: after kill -9, ctibench found 13 of 5,000 lamps empty.
func TestMonitorStartWaitsForSnapshot(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201")
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	drivertest.WaitFor(t, "the call alerting at 202", func() bool { return len(e.sim.CallsAt("202")) == 1 })
	release := avaya.StallProcessor(e.d)
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
