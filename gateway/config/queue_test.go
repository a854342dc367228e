package config

import (
	"strings"
	"testing"
	"time"
)

// TestQueues: defaults fill an entry's unset keys; every bad value is
// reported on its key.
func TestQueues(t *testing.T) {
	c, err := Parse("q.yaml", []byte(`attendant:
  queues:
    - {number: "9000", group: operators}
    - {number: "9001", group: night, ring: 5s, overflow_after: 2m, overflow_to: "2000", strategy: longest_idle}
`))
	if err != nil {
		t.Fatal(err)
	}
	q := c.Attendant.Queues
	if len(q) != 2 || q[0].Ring.D() != 20*time.Second || q[0].OverflowAfter.D() != time.Minute || q[0].Strategy != QueueAll ||
		q[1].Ring.D() != 5*time.Second || q[1].Strategy != QueueLongestIdle || q[1].OverflowTo != "2000" {
		t.Fatalf("queues %+v", q)
	}
	for _, tc := range []struct{ entry, key string }{
		{`{group: g}`, "attendant.queues[0].number"},
		{`{number: "90a0", group: g}`, "attendant.queues[0].number"},
		{`{number: "9000"}`, "attendant.queues[0].group"},
		{`{number: "9000", group: g, ring: 500ms}`, "attendant.queues[0].ring"},
		{`{number: "9000", group: g, ring: 11m}`, "attendant.queues[0].ring"},
		{`{number: "9000", group: g, overflow_after: 2h}`, "attendant.queues[0].overflow_after"},
		{`{number: "9000", group: g, overflow_to: "9000"}`, "attendant.queues[0].overflow_to"},
		{`{number: "9000", group: g, overflow_to: "sip:x@y"}`, "attendant.queues[0].overflow_to"},
		{`{number: "9000", group: g, strategy: random}`, "attendant.queues[0].strategy"},
		{`{number: "` + strings.Repeat("1", 33) + `", group: g}`, "attendant.queues[0].number"},
	} {
		_, err := Parse("q.yaml", []byte("attendant:\n  queues:\n    - "+tc.entry+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: error %v, want one on %s", tc.entry, err, tc.key)
		}
	}
	_, err = Parse("q.yaml", []byte("attendant:\n  queues:\n    - {number: \"9000\", group: a}\n    - {number: \"9000\", group: b}\n"))
	if err == nil || !strings.Contains(err.Error(), "attendant.queues[1].number") {
		t.Errorf("duplicate number: %v", err)
	}
}
