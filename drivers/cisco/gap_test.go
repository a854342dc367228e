package cisco_test

import (
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
