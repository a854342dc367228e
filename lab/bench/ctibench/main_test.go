package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/mitel"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

func TestMain(m *testing.M) {
	if os.Getenv(driverEnv) == "mitel" { // re-executed as the driver
		sdk.Serve(mitel.New())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestShortBench runs the bench small: the path works end to end, every
// event is timestamped and measured, and the kill -9 phase restores every
// monitor. It asserts no times (the machine is shared).
func TestShortBench(t *testing.T) {
	var out strings.Builder
	storms, rs, err := Run(context.Background(), Options{Devices: 200, Workers: 10, Duration: 500 * time.Millisecond,
		Rates: []int{100, 0}, Restore: 100, Out: &out})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range storms {
		if st.Calls == 0 || st.Events < 9*st.Calls || st.Stamped != int(st.Events) || st.CallErrors != 0 || st.Gaps != 0 {
			t.Errorf("storm %+v", st)
		}
	}
	if rs.Monitors != 100 || rs.Snapshots != 100 || rs.LinkUp <= 0 || rs.Flowing < rs.LinkUp {
		t.Errorf("restore %+v", rs)
	}
	for _, want := range []string{"p99", "goal: p99 < 20 ms", "LINK_UP after"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestShortLamps runs the lamps phase small, then a short chaos run (link
// drops, kill -9s, licence shortages, slow answers, lost events): every
// lamp must match the simulator after each disruption, and no device may
// end up silently unmonitored. It asserts no times.
func TestShortLamps(t *testing.T) {
	var out strings.Builder
	o := Options{Lamps: 200, Chaos: 8 * time.Second, Workers: 10, Out: &out, Command: selfCommand}
	err := runLamps(context.Background(), o)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lamps differing from the simulator after the phases: 0; devices silently unmonitored: 0",
		"devices silently unmonitored 0, reported 0, wrong lamps 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
