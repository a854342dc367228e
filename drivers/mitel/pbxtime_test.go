package mitel_test

import (
	"testing"
	"time"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestPBXTime: the simulator's event timestamps (extensions/security/
// timestamp) arrive as Event.PBXTime; without them PBXTime stays zero.
func TestPBXTime(t *testing.T) {
	e := newEnv(t, labmitel.Config{Timestamps: true}, nil)
	e.monitor("201", "202")
	before := time.Now()
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	ev := e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	if ev.PBXTime.Before(before) || ev.PBXTime.After(ev.Time) {
		t.Fatalf("pbx time %v, want between %v and the driver's %v", ev.PBXTime, before, ev.Time)
	}

	e2 := newEnv(t, labmitel.Config{}, nil)
	e2.monitor("201", "202")
	if _, err := e2.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	if ev := e2.Want(plugins.EventOriginated, "201", plugins.StateConnected); !ev.PBXTime.IsZero() {
		t.Fatalf("pbx time without timestamps %v", ev.PBXTime)
	}
}
