package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

func TestMain(m *testing.M) {
	if d := driverOf(os.Getenv(driverEnv)); d != nil { // re-executed as a driver
		sdk.Serve(d)
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
		Rates: []int{100, 0}, Restore: 100, Out: &out, CallTimeout: 30 * time.Second, HealthTimeout: 10 * time.Second})
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

// TestShortLamps runs the lamps phase small for Mitel and Avaya (kill -9,
// PBX link drop, a forced sequence gap: events lost, then SystemStatus
// messagesLost), then each driver's short chaos run (its simulator's
// link drops, licence shortages, slow answers, lost events, outages,
// Avaya's AES restarts, and kill -9s): every lamp must match the
// simulator after each disruption, and no device may end up silently
// unmonitored. It asserts no times.
func TestShortLamps(t *testing.T) {
	var out strings.Builder
	o := Options{Lamps: 200, Chaos: 8 * time.Second, Workers: 10, Out: &out, Command: selfCommand, Drivers: []string{"mitel", "avaya"},
		HealthTimeout: 10 * time.Second, CallTimeout: 30 * time.Second}
	err := runLamps(context.Background(), o)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range o.Drivers {
		if !strings.Contains(out.String(), "cti lamps, "+d+", 200 devices") {
			t.Errorf("no lamps phase for %s", d)
		}
	}
	if n := strings.Count(out.String(), "lamps differing from the simulator after the phases: 0; devices silently unmonitored: 0"); n != len(o.Drivers) {
		t.Errorf("%d of %d drivers had every lamp right", n, len(o.Drivers))
	}
	if n := strings.Count(out.String(), "devices silently unmonitored 0, reported 0, wrong lamps 0"); n != len(o.Drivers) {
		t.Errorf("%d of %d drivers' chaos runs ended with every device monitored and every lamp right", n, len(o.Drivers))
	}
	for _, want := range []string{"devices silently unmonitored 0, reported 0, wrong lamps 0", "cti lamps side by side",
		"(events lost, then SystemStatus messagesLost), 50 devices affected → every affected lamp right"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestShortLampsCisco runs the lamps phase of the Cisco driver, with per-user
// and with group subscriptions: after kill -9 and the channels dropping
// every lamp matches the simulator, and after the forced sequenceNumber
// gap the affected devices (the callees whose answers were lost) each get
// a fresh snapshot and the right lamp; with group subscriptions a short
// chaos run follows (0 silently unmonitored, 0 wrong lamps). Fewer devices than the CSTA
// drivers': under -race each Xsi request's TLS costs the driver process
// so much CPU on a loaded machine that the host's health checks time out.
func TestShortLampsCisco(t *testing.T) {
	for _, scope := range []string{"user", "group"} {
		t.Run(scope, func(t *testing.T) {
			var out strings.Builder
			o := Options{Lamps: 60, Workers: 4, Out: &out, Command: selfCommand, Drivers: []string{"cisco"}, CiscoScope: scope,
				HealthTimeout: 10 * time.Second, CallTimeout: 30 * time.Second}
			want := []string{"sequenceNumber gap), " + scope + " subscriptions), 15 devices affected → every affected lamp right",
				"lamps differing from the simulator after the phases: 0; devices silently unmonitored: 0"}
			if scope == "group" { // and a short chaos run: channel drops, 503s, slow answers, gaps, stalls, kill -9
				o.Chaos = 8 * time.Second
				want = append(want, "cti chaos cisco", "devices silently unmonitored 0, reported 0, wrong lamps 0")
			}
			err := runLamps(context.Background(), o)
			t.Log("\n" + out.String())
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q", want)
				}
			}
		})
	}
}
