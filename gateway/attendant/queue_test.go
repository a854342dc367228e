package attendant

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

var update = flag.Bool("update", false, "rewrite golden files")

// queued is a QUEUED event at a group device as the CSTA drivers emit it
// (QueuedEvent numberQueued, callsInFront+1).
func queued(dev string, seq uint64, call, calling string, length, pos int) plugins.Event {
	e := ev("acd", dev, seq, plugins.EventQueued, call, plugins.StateQueued)
	e.Calling, e.Called, e.QueueLength, e.QueuePosition = calling, dev, length, pos
	return e
}

// TestQueueLengthAndPositions: calls that wait at an ACD/hunt group
// device are its queue, in the order they joined; a call delivered to an
// agent (diverted from the queue) or abandoned (cleared) leaves it and
// the ones behind move up; the PBX's own count (4 with the last QUEUED)
// goes down with each call that left. The last state is held to
// testdata/queue_device.golden (the device as GET /api/v1/devices/{id}
// shows it).
func TestQueueLengthAndPositions(t *testing.T) {
	clock := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	f := newFake("acd", "600", "201")
	m := newModel(t, Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }}, f)
	m.Apply(plugins.Event{Driver: "acd", Incarnation: 1, Device: "600", Type: plugins.EventSnapshot,
		Snapshot: &plugins.DeviceSnapshot{Device: "600", Calls: []plugins.CallSnapshot{}, Category: plugins.CategoryACD}})
	m.Apply(snapEv("acd", "201"))

	if d, _ := m.Device("acd:600"); d.Queue == nil || d.Queue.Length != 0 || d.Category != "acd" {
		t.Fatalf("empty ACD device: queue %+v category %q", d.Queue, d.Category)
	}
	if d, _ := m.Device("acd:201"); d.Queue != nil {
		t.Fatalf("a station shows a queue: %+v", d.Queue)
	}
	diverted := ev("acd", "600", 5, plugins.EventDiverted, "c1", plugins.StateNull)
	diverted.Other = "201"
	abandoned := ev("acd", "600", 7, plugins.EventConnectionCleared, "c3", plugins.StateNull)
	steps := []struct {
		ev    plugins.Event
		order string // the waiting calls, next first
	}{
		{queued("600", 1, "c1", "0301111", 1, 1), "c1"},
		{queued("600", 2, "c2", "0302222", 2, 2), "c1 c2"},
		{queued("600", 3, "c3", "0303333", 3, 3), "c1 c2 c3"},
		{queued("600", 4, "c4", "0304444", 4, 4), "c1 c2 c3 c4"},
		{diverted, "c2 c3 c4"},
		{ev("acd", "201", 6, plugins.EventDelivered, "c1", plugins.StateAlerting), "c2 c3 c4"},
		{abandoned, "c2 c4"},
	}
	for i, s := range steps {
		m.Apply(s.ev)
		d, _ := m.Device("acd:600")
		if d.Queue == nil {
			t.Fatalf("step %d: no queue", i)
		}
		var got []string
		for j, c := range d.Queue.Calls {
			got = append(got, strings.TrimPrefix(c.CallID, "acd:"))
			if c.Position != j+1 {
				t.Errorf("step %d: %s at position %d, want %d", i, c.CallID, c.Position, j+1)
			}
		}
		if strings.Join(got, " ") != s.order || d.Queue.Length != len(got) {
			t.Fatalf("step %d (%s %s): queue %v (length %d), want %s", i, s.ev.Type, s.ev.CallID, got, d.Queue.Length, s.order)
		}
		if d.Line != LineRinging {
			t.Errorf("step %d: a queue with waiting calls shows %s", i, d.Line)
		}
	}
	qs := m.Queues(nil)
	if len(qs) != 1 || qs[0].ID != "acd:600" || qs[0].Queue.Length != 2 || qs[0].Queue.PBXLength != 2 {
		t.Fatalf("queues: %+v", qs)
	}
	d, _ := m.Device("acd:600")
	golden(t, "testdata/queue_device.golden", d)
}

// TestQueueAfterResync: a snapshot (after a link drop) carries every
// waiting call at once; the PBX's positions order them, and a later
// QUEUED call goes behind them.
func TestQueueAfterResync(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	f := newFake("acd", "600")
	m := newModel(t, Options{Now: func() time.Time { return now }}, f)
	m.Apply(plugins.Event{Driver: "acd", Incarnation: 1, Device: "600", Type: plugins.EventSnapshot,
		Snapshot: &plugins.DeviceSnapshot{Device: "600", Category: plugins.CategoryGroup, Calls: []plugins.CallSnapshot{
			{CallID: "c9", State: plugins.StateQueued, Calling: "0309", QueuePosition: 3},
			{CallID: "c7", State: plugins.StateQueued, Calling: "0307", QueuePosition: 1},
			{CallID: "c8", State: plugins.StateQueued, Calling: "0308", QueuePosition: 2},
		}}})
	now = now.Add(time.Second)
	m.Apply(queued("600", 1, "c10", "0310", 4, 4))
	d, _ := m.Device("acd:600")
	var got []string
	for _, c := range d.Queue.Calls {
		got = append(got, c.CallID+"@"+c.Calling)
	}
	if want := "acd:c7@0307 acd:c8@0308 acd:c9@0309 acd:c10@0310"; strings.Join(got, " ") != want {
		t.Fatalf("queue after resync: %v, want %s", got, want)
	}
	if d.Category != "group" {
		t.Errorf("category %q", d.Category)
	}
}

// TestQueueCategoryFromDirectory: a directory entry that names a group
// device makes it a queue before its first call.
func TestQueueCategoryFromDirectory(t *testing.T) {
	f := newFake("acd", "600")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("acd", "600"))
	if d, _ := m.Device("acd:600"); d.Queue != nil {
		t.Fatalf("queue before the directory said so: %+v", d.Queue)
	}
	m.applyDirectory("acd", []plugins.DirectoryEntry{{Device: "600", Name: "Reception", Category: plugins.CategoryGroup}})
	d, _ := m.Device("acd:600")
	if d.Queue == nil || d.Queue.Length != 0 || d.Name != "Reception" || d.Category != "group" {
		t.Fatalf("after the directory: %+v", d)
	}
}

func golden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n%s", path, got)
	}
}
