package mitel

import (
	"context"
	"encoding/json"
	"flag"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

var update = flag.Bool("update", false, "rewrite testdata/events/*.golden")

// TestEventGolden maps MiVO400-format events (ed5, csta: prefix, device
// IDs as N<123!98>) seen by the monitor of N<123!98> and compares the model
// event, and the device's tracked calls after it, with the golden file.
// Each event is applied to a device that already has calls 26 (connected)
// and 28 (connected), as in the middle of a consultation.
func TestEventGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/events/*.xml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	const dev = "N<123!98>"
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := csta.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			d := New()
			d.link = pbxlink.Up // events arrive on a link that is up
			mon := &monitor{device: dev, id: "mitel-1", xref: "3"}
			d.monitors[dev], d.byXref["3"] = mon, mon
			st := d.dev(dev)
			st.Calls["26"] = plugins.CallSnapshot{CallID: "26", ConnectionID: "26@" + dev, State: plugins.StateConnected, Other: "N<121!98>"}
			st.Calls["28"] = plugins.CallSnapshot{CallID: "28", ConnectionID: "28@" + dev, State: plugins.StateConnected}
			d.q.Push(item{msg: m})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go d.process(ctx)
			var ev plugins.Event
			_ = d.ev.Serve(ctx, func(e plugins.Event) error { ev = e; cancel(); return nil })
			d.mu.Lock()
			snap := d.snapshotLocked(dev)
			d.mu.Unlock()
			ev.Time, snap.Seq = ev.Time.UTC().Truncate(0), 0
			got, _ := json.MarshalIndent(struct {
				Event    plugins.Event          `json:"event"`
				Snapshot plugins.DeviceSnapshot `json:"snapshot_after"`
			}{ev, snap}, "", "  ")
			got = append(got, '\n')
			// The driver's clock is not part of the mapping.
			got = []byte(strings.Join(dropTime(strings.Split(string(got), "\n")), "\n"))
			golden := strings.TrimSuffix(f, ".xml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func dropTime(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), `"time":`) {
			out = append(out, l)
		}
	}
	return out
}
