package cisco_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestSequenceGapResyncs loses the event that releases 202's call on the
// way (its sequenceNumber is skipped): the next event of 202's
// subscription shows the gap, which is counted and makes the driver ask
// the server for 202's calls again, so 202 does not show a call that
// ended.
func TestSequenceGapResyncs(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	c := connect(t, e, "201", "202")
	e.sim.SkipEvents("202", 1) // 202's CallReleasedEvent (remoteRelease)
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	if st := e.sim.Stats(); st.EventsSkipped != 1 {
		t.Fatalf("sim stats %+v: the release at 202 was not lost", st)
	}
	// 203 calls 202: its CallReceivedEvent comes one sequenceNumber late.
	c2, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "203", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	for ev := e.Next(); ev.Type != plugins.EventDelivered || ev.Device != "202"; ev = e.Next() {
	}
	drivertest.WaitFor(t, "202 resynced: only 203's call, alerting", func() bool {
		got := drivertest.CallStates(e.snapshot("202"))
		t.Logf("202: %s", got)
		return got == c2.CallID+":alerting"
	})
	if st := e.d.Stats(); st.SeqGaps != 1 || st.Resyncs < 1 {
		t.Fatalf("driver stats %+v: want one gap and a resync", st)
	}
	checkRefused(t, e.sim)
}

// TestHeartbeatsDuringSlowRefresh makes every refresh answer slowly: the
// heartbeats, on their own goroutine, keep reaching the server meanwhile.
func TestHeartbeatsDuringSlowRefresh(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, map[string]any{"channel_expires": "2s", "subscription_expires": "2s",
		"heartbeat_interval": "50ms"})
	e.monitor("201", "202")
	e.sim.SetRefreshDelay(2 * time.Second)
	drivertest.WaitFor(t, "a slow refresh under way", func() bool { return e.sim.Stats().SlowRefreshes >= 1 })
	h0 := e.sim.Stats().Heartbeats
	time.Sleep(2 * time.Second) // 40 heartbeat intervals, all within slow refreshes
	h1 := e.sim.Stats().Heartbeats
	t.Logf("heartbeats during 2s of slow refreshes: %d", h1-h0)
	if h1-h0 < 5 {
		t.Fatalf("%d heartbeats reached the server during 2s of slow refreshes (50ms interval)", h1-h0)
	}
	e.sim.SetRefreshDelay(0)
	// The channel stayed up (subscriptions may have expired meanwhile, as
	// on a server that answers refreshes too late; they are added again).
	if st, dst := e.sim.Stats(), e.d.Stats(); st.ChannelsOpened != 1 || dst.Reconnects != 0 {
		t.Fatalf("sim stats %+v, driver stats %+v: the channel was reopened", st, dst)
	}
}

// TestAckDropsUnhealthy has the server refuse every event response: each
// is counted as dropped, and after five in a row the channel is given up
// and reopened, long before the server would end it for not answering.
func TestAckDropsUnhealthy(t *testing.T) {
	e := newEnv(t, labcisco.Config{AckTimeout: time.Minute}, nil)
	e.monitor("201")
	e.sim.RefuseAcks(1)
	if err := e.d.SetDND(bg, "201", true); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventDoNotDisturb, "201", plugins.StateUnspecified)
	drivertest.WaitFor(t, "the refused response counted", func() bool { return e.d.Stats().AckDrops == 1 })
	// One success clears the count: four more refusals are not enough.
	acks := e.sim.Stats().Acks
	if err := e.d.SetDND(bg, "201", false); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventDoNotDisturb, "201", plugins.StateUnspecified)
	drivertest.WaitFor(t, "the next response taken", func() bool { return e.sim.Stats().Acks > acks })
	e.sim.RefuseAcks(100)
	for i := range 5 {
		if i == 4 && e.d.Stats().Unhealthy != 0 {
			t.Fatal("channel unhealthy after four dropped responses in a row")
		}
		if err := e.d.SetDND(bg, "201", i%2 == 0); err != nil {
			t.Fatal(err)
		}
		e.Want(plugins.EventDoNotDisturb, "201", plugins.StateUnspecified)
		if i < 4 {
			drivertest.WaitFor(t, "the refusal counted", func() bool { return e.d.Stats().AckDrops >= uint64(2+i) })
		}
	}
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if !strings.Contains(ev.RawCause, "event responses in a row") {
		t.Fatalf("link down %+v", ev)
	}
	e.sim.RefuseAcks(0)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if st := e.d.Stats(); st.AckDrops < 6 || st.Unhealthy != 1 {
		t.Fatalf("driver stats %+v", st)
	}
	if st := e.sim.Stats(); st.AcksRefused < 6 || st.ChannelsOpened != 2 {
		t.Fatalf("sim stats %+v", st)
	}
}
