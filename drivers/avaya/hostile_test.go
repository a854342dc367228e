package avaya_test

import (
	"slices"
	"testing"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestHostileFrames: frames AES (or whatever sits on its port) must never
// be able to crash or hang the driver with. A well-framed document that
// does not parse (bad XML, entity bomb, nesting bomb) is dropped and
// counted, and the link stays; a frame that loses the stream (bad header,
// bad invoke ID) ends the link, and the driver reconnects and restores.
func TestHostileFrames(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202")
	for _, k := range []labavaya.Malformed{labavaya.BadXML, labavaya.XMLBomb, labavaya.TooDeep, labavaya.Oversize} {
		before := e.d.Stats()
		e.sim.SendMalformed(k)
		t.Logf("kind %d sent", k)
		c := connect(t, e, "201", "202")
		if err := e.d.Clear(bg, c); err != nil {
			t.Fatal(err)
		}
		for range 6 { // ConnectionCleared ×4, CallCleared ×2
			e.Next()
		}
		after := e.d.Stats()
		if after.Dropped+after.Unknown == before.Dropped+before.Unknown || after.LinkUps != 1 {
			t.Fatalf("kind %d: not dropped, or the link was lost: %+v → %+v", k, before, after)
		}
	}
	for _, k := range []labavaya.Malformed{labavaya.BadHeader, labavaya.BadInvokeID} {
		e.sim.SendMalformed(k)
		e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
		e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
		if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
			t.Fatalf("monitors %v", got)
		}
	}
	connect(t, e, "201", "202")
}

// TestSlowLoris: AES starts a frame and trickles it a byte a second. No
// response can arrive behind it, so the session timer reset times out;
// the driver drops the link, reconnects and resumes the session.
func TestSlowLoris(t *testing.T) {
	e := newEnv(t, labavaya.Config{MaxSessionDuration: 1}, map[string]any{"request_timeout": "300ms"})
	e.monitor("201", "202")
	e.sim.SendMalformed(labavaya.SlowLoris)
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	t.Logf("link down: %s", ev.RawCause)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors %v", got)
	}
	connect(t, e, "201", "202")
}
