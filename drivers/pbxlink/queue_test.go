package pbxlink

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestQueueBounded: with the processor stalled, a flood of events stops
// at the limit; the rest are dropped and counted; control items (odd
// numbers here) are never dropped; the processor sees every kept item in
// order, the closures queued with Do in their place, and one gap with the
// number lost where the drops were. Before, the queue grew without bound
// and nothing told the driver (or the host) that it could not keep up.
func TestQueueBounded(t *testing.T) {
	var trace []string
	q := NewQueue(Bound[int]{
		Limit:     10,
		Droppable: func(i int) bool { return i%2 == 0 },
		Gap:       func(n uint64) { trace = append(trace, fmt.Sprintf("gap%d", n)) },
	})
	kept := 0
	for i := range 100 {
		if q.Push(2 * i) {
			kept++
		}
	}
	if kept != 10 || q.Dropped() != 90 {
		t.Fatalf("kept %d dropped %d, want 10 and 90", kept, q.Dropped())
	}
	if !q.Push(1) {
		t.Fatal("a control item was dropped")
	}
	q.Do(func() { trace = append(trace, "resync") })
	if q.Push(200) {
		t.Fatal("still full, yet an event was queued")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Process(ctx, func(i int) {
			trace = append(trace, fmt.Sprint(i))
			if i == 1 {
				// Applied items no longer count: there is room again.
				if !q.Push(300) {
					t.Error("no room after the backlog was applied")
				}
				q.Do(cancel)
			}
		})
	}()
	<-done
	want := "0 2 4 6 8 10 12 14 16 18 gap90 1 resync gap1 300"
	if got := strings.Join(trace, " "); got != want {
		t.Fatalf("processed\n %s\nwant\n %s", got, want)
	}
}

// TestQueueUnboundedControl: items that may not be dropped are queued
// past the limit (5,000 snapshots of a restore with a limit of 10).
func TestQueueUnboundedControl(t *testing.T) {
	q := NewQueue(Bound[int]{Limit: 10, Droppable: func(int) bool { return false }})
	for i := range 5000 {
		if !q.Push(i) {
			t.Fatalf("item %d dropped", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var got []int
	q.Do(cancel)
	q.Process(ctx, func(i int) { got = append(got, i) })
	if len(got) != 5000 || !slices.IsSorted(got) {
		t.Fatalf("%d items, sorted %v", len(got), slices.IsSorted(got))
	}
}
