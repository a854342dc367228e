package cisco_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// waitResync skips events until the driver's RESYNC for every device
// (a wide subscription's gap).
func waitResync(e *env) {
	e.t.Helper()
	for {
		if ev := e.Next(); ev.Type == plugins.EventResync && ev.Device == "" {
			return
		}
	}
}

// TestGroupCallGapReadsCallsOnly: a gap in the group's call subscription
// (202's CallReleasedEvent lost) can only have lost call events, so every
// device's calls are read again (GET calls) and none of its services
// (DND, forwarding, call center: their events come in packages of their
// own, with their own sequence numbers). 202's lamp is right after the
// RESYNC. Before, each device was snapshotted whole: five service queries
// per device besides its calls.
func TestGroupCallGapReadsCallsOnly(t *testing.T) {
	e := newEnv(t, labcisco.Config{WideSubscriptions: true}, groupScope)
	e.monitor("201", "202", "203")
	c := connect(t, e, "201", "202")
	e.sim.SkipEvents("202", 1) // 202's CallReleasedEvent
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	next(e, plugins.EventConnectionCleared, "201")
	before := e.sim.Stats()
	// The next event of the group's call subscription shows the gap.
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "203", Called: "204"}); err != nil {
		t.Fatal(err)
	}
	waitResync(e)
	after := e.sim.Stats()
	if q := after.ServiceQueries - before.ServiceQueries; q != 0 {
		t.Errorf("the call gap's resync made %d service queries, want 0 (calls only)", q)
	}
	if q := after.CallQueries - before.CallQueries; q < 3 {
		t.Errorf("the call gap's resync made %d call queries, want every device's (>= 3)", q)
	}
	if got := drivertest.CallStates(e.snapshot("202")); got != "" {
		t.Errorf("202 after the resync shows %q, want no call", got)
	}
	if st := e.d.Stats(); st.SeqGaps == 0 {
		t.Errorf("no gap counted: %+v", st)
	}
}

// TestGroupDNDGapReadsDNDOnly: a gap in the group's Do Not Disturb
// subscription (202's DoNotDisturbEvent lost) reads every device's DND
// again and nothing else; 202 shows DND on. Before, each device's calls
// and five services were read.
func TestGroupDNDGapReadsDNDOnly(t *testing.T) {
	e := newEnv(t, labcisco.Config{WideSubscriptions: true}, groupScope)
	e.monitor("201", "202", "203")
	// The subscription's first event starts its count.
	if err := e.d.SetDND(bg, "201", true); err != nil {
		t.Fatal(err)
	}
	next(e, plugins.EventDoNotDisturb, "201")
	e.sim.SkipEvents("202", 1) // 202's DoNotDisturbEvent
	if err := e.d.SetDND(bg, "202", true); err != nil {
		t.Fatal(err)
	}
	drivertest.WaitFor(t, "the event skipped", func() bool { return e.sim.Stats().EventsSkipped == 1 })
	before := e.sim.Stats()
	if err := e.d.SetDND(bg, "203", true); err != nil { // its event shows the gap
		t.Fatal(err)
	}
	waitResync(e)
	after := e.sim.Stats()
	if q := after.ServiceQueries - before.ServiceQueries; q != 3 {
		t.Errorf("the DND gap's resync made %d service queries, want 3 (DND of each device)", q)
	}
	if q := after.CallQueries - before.CallQueries; q != 0 {
		t.Errorf("the DND gap's resync made %d call queries, want 0", q)
	}
	if !e.snapshot("202").DND {
		t.Errorf("202 after the resync: DND off, want on")
	}
}
