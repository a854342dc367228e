package mitel_test

import (
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/mitel"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestQueueOverflowResyncs: while the driver's processor is stalled, a
// call is made and answered; its events overflow the (here tiny) queue.
// The drops are counted, the driver snapshots its devices again from the
// PBX and tells the host (RESYNC), and the tracked state shows the call
// connected at both ends, as the PBX has it. Before, the queue grew
// without bound and a driver that could not keep up was never noticed.
func TestQueueOverflowResyncs(t *testing.T) {
	defer mitel.SetQueueLimit(2)()
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201", "202")
	release := mitel.StallProcessor(e.d)
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		release()
		t.Fatal(err)
	}
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "202", CallID: ref.CallID, ConnectionID: ref.CallID + "@202"}); err != nil {
		release()
		t.Fatal(err)
	}
	// The sim has sent originated, 2 delivered and 2 established: wait
	// until they are read (and dropped past the limit).
	for i := 0; e.d.Stats().QueueDrops < 3 && i < 500; i++ {
		waitTick()
	}
	release()
	if n := e.d.Stats().QueueDrops; n < 3 {
		t.Fatalf("queue drops %d, want >= 3", n)
	}
	waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventResync })
	for _, dev := range []string{"201", "202"} {
		s := e.snapshot(dev)
		if len(s.Calls) != 1 || s.Calls[0].State != plugins.StateConnected || s.Calls[0].CallID != ref.CallID {
			t.Errorf("%s after the resync: %+v", dev, s)
		}
	}
	t.Logf("stats %+v", e.d.Stats())
}

func waitTick() { time.Sleep(10 * time.Millisecond) }
