package avaya_test

import (
	"testing"
	"time"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestUnansweredSnapshotAskedAgain: AES loses the events of an answer,
// says SystemStatus messagesLost, then answers nothing within the request
// timeout for a while, so the fresh snapshots go unanswered. Once it
// answers again the driver asks again, takes the snapshot (the call
// connected) and tells the host (RESYNC of the device). Before, the
// snapshot was given up on: the lamp showed ringing until the device's
// next event (ctibench's chaos run left lamps wrong for good this way).
func TestUnansweredSnapshotAskedAgain(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202")
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventDelivered && ev.Device == "202" })
	e.sim.LoseEvents(2) // Established to 201 and 202
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "202", CallID: ref.CallID}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); e.sim.Lost() < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if snap := e.snapshot("202"); len(snap.Calls) != 1 || snap.Calls[0].State != plugins.StateAlerting {
		t.Fatalf("before messagesLost the driver should not know of the answer: %+v", snap)
	}
	e.sim.SetDelay(5 * time.Second)
	e.sim.SendSystemStatus(cstaxml.SystemStatusMessagesLost)
	// The snapshots time out; the driver still tells the host it is done.
	waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventResync && ev.Device == "" })
	e.sim.SetDelay(0)
	start := time.Now()
	waitFor(e, func(ev plugins.Event) bool { return ev.Type == plugins.EventResync && ev.Device == "202" })
	t.Logf("AES answering again → RESYNC of 202 in %s", time.Since(start).Round(time.Millisecond))
	if snap := e.snapshot("202"); len(snap.Calls) != 1 || snap.Calls[0].State != plugins.StateConnected || snap.Stale {
		t.Errorf("202 after AES answered again: %+v", snap)
	}
	if st := e.d.Stats(); st.Resnaps == 0 || st.LinkUps != 1 {
		t.Errorf("stats %+v: want resnaps and no reconnect", st)
	}
}

// waitFor reads events until one matches.
func waitFor(e *env, match func(plugins.Event) bool) plugins.Event {
	e.t.Helper()
	for {
		if ev := e.Next(); match(ev) {
			return ev
		}
	}
}
