package cisco_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestChannelLostKeepsChannelSet: the event channel drops (network
// failure); the driver adds a new channel to the same channel set and
// keeps the subscriptions the server still holds, instead of subscribing
// every device again in a new set; the fresh snapshots show the call that
// outlived the channel, and its events flow on the new channel. Before,
// every channel was a new channel set and all six subscriptions of every
// device were added again (18 more here).
func TestChannelLostKeepsChannelSet(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	c := connect(t, e, "201", "202")
	before := e.sim.Stats()
	e.sim.DropChannels()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	st := e.sim.Stats()
	if st.ChannelsOpened != 2 || st.ChannelSets != 1 {
		t.Fatalf("channels %d in %d channel sets, want 2 in 1", st.ChannelsOpened, st.ChannelSets)
	}
	if st.SubscriptionsAdded != before.SubscriptionsAdded || st.Subscriptions != 18 {
		t.Fatalf("subscriptions added %d → %d (%d live), want none added", before.SubscriptionsAdded, st.SubscriptionsAdded, st.Subscriptions)
	}
	if ds := e.d.Stats(); ds.Resumed != 3 {
		t.Fatalf("resumed %d devices, want 3", ds.Resumed)
	}
	drivertest.WaitFor(t, "201's call in the snapshot", func() bool { return drivertest.CallStates(e.snapshot("201")) == c.CallID+":connected" })
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	e.Want(plugins.EventConnectionCleared, "202", plugins.StateNull)
}

// TestChannelSetLostSubscriptionsAgain: the server lost the subscriptions
// with the channel (they expired, or it restarted): the refresh on the
// new channel gets 404 and the devices are subscribed again.
func TestChannelSetLostSubscriptionsAgain(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202")
	e.sim.TerminateChannels("Expired") // the sim ends a terminated set's subscriptions
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if st := e.sim.Stats(); st.Subscriptions != 12 || st.SubscriptionsAdded != 24 {
		t.Fatalf("sim stats %+v", st)
	}
	if ds := e.d.Stats(); ds.Resumed != 0 {
		t.Fatalf("resumed %d", ds.Resumed)
	}
}
