package mitel_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// The PBX link faults of issue 6 not covered in driver_test.go: an entity
// expansion bomb, a wrong frame length and a slow-loris link. The driver
// goes on (or reconnects and restores its monitors); no call hangs.

func TestXMLBombOnLink(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201", "202")
	dropped := e.d.Stats().Dropped
	start := time.Now()
	e.sim.SendMalformed(labmitel.XMLBomb)
	connect(t, e, "201", "202") // the link stays and events flow
	if st := e.d.Stats(); st.Dropped != dropped+1 || st.LinkUps != 1 {
		t.Fatalf("stats after the bomb %+v (dropped before %d)", st, dropped)
	}
	t.Logf("bomb refused and a call made in %s", time.Since(start))
}

func TestWrongFrameLength(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	ids := e.monitor("201", "202")
	e.sim.SendMalformed(labmitel.WrongLength)
	if ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified); ev.Cause != plugins.CauseLinkFailure {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors after reconnect %v", got)
	}
	c := connect(t, e, "201", "202")
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull); ev.MonitorID != ids["201"] {
		t.Fatalf("monitor id changed %+v", ev)
	}
}

// TestSlowLorisLink: the PBX sends the start of a frame and then nothing.
// Calls fail at their deadline instead of hanging; the driver finds the
// link dead at its next session timer reset (half the session duration
// plus the request timeout), reconnects and restores the monitors.
func TestSlowLorisLink(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a session timer reset (~5s)")
	}
	e := newEnv(t, labmitel.Config{}, map[string]any{"keepalive": "2s", "request_timeout": "500ms"})
	e.monitor("201", "202")
	stuck := time.Now()
	e.sim.SendMalformed(labmitel.SlowLoris)
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := e.d.SetDND(ctx, "201", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call on a stuck link: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("call on a stuck link took %s", el)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-e.Events():
			if ev.Type != plugins.EventLinkDown {
				continue
			}
			t.Logf("stuck link found after %s: %s", time.Since(stuck), ev.RawCause)
		case <-deadline:
			t.Fatal("stuck link never detected")
		}
		break
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors after reconnect %v", got)
	}
	connect(t, e, "201", "202")
}
