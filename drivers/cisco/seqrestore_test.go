package cisco_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestSequenceGapAfterChannelRestore: the channel set (and 202's
// subscription) outlive a lost channel, and so does its sequenceNumber
// count: 202's CallReleasedEvent lost just after the restore shows as a
// gap at 202's next event (a new call), the device is read again and
// shows only the new call ringing. Before, the count started afresh at
// link_up: that next event was taken as the subscription's first, the
// loss went unseen, and 202 kept showing the released call connected.
func TestSequenceGapAfterChannelRestore(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	c := connect(t, e, "201", "202")
	e.sim.DropChannels()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	drivertest.WaitFor(t, "202's call in the restored snapshot", func() bool {
		return drivertest.CallStates(e.snapshot("202")) == c.CallID+":connected"
	})
	e.sim.SkipEvents("202", 1) // 202's CallReleasedEvent
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	next(e, plugins.EventConnectionCleared, "201")
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "203", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	drivertest.WaitFor(t, "202 showing only the new call ringing", func() bool {
		return drivertest.CallStates(e.snapshot("202")) == ref.CallID+":alerting"
	})
	if st := e.d.Stats(); st.SeqGaps != 1 {
		t.Errorf("%d sequence gaps counted, want 1", st.SeqGaps)
	}
}
