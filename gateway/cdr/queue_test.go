package cdr_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// memSink stores records in memory; block, when set, holds every write
// until it is closed.
type memSink struct {
	mu      sync.Mutex
	recs    []cdr.Record
	batches []int
	block   chan struct{}
	fail    error
}

func (m *memSink) AddRecords(_ context.Context, rs []cdr.Record) error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.recs = append(m.recs, rs...)
	m.batches = append(m.batches, len(rs))
	return nil
}

func TestQueueWritesAll(t *testing.T) {
	sink := &memSink{}
	q := cdr.NewQueue(sink, cdr.QueueOptions{MaxBatch: 10})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				q.Record(cdr.Record{ID: fmt.Sprintf("%d-%d", g, i)})
			}
		})
	}
	wg.Wait()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != 400 {
		t.Fatalf("stored %d records, want 400", len(sink.recs))
	}
	for _, b := range sink.batches {
		if b > 10 {
			t.Errorf("batch of %d, MaxBatch 10", b)
		}
	}
	if st := q.Stats(); st.Written != 400 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("Stats = %+v", st)
	}
	q.Record(cdr.Record{ID: "late"}) // after Close: dropped, no panic
	if st := q.Stats(); st.Dropped != 1 {
		t.Errorf("record after Close not counted as dropped: %+v", st)
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestQueueNeverBlocks fills the queue while the sink is stuck: Record
// returns at once and counts the overflow.
func TestQueueNeverBlocks(t *testing.T) {
	sink := &memSink{block: make(chan struct{})}
	var dropped []string
	var mu sync.Mutex
	q := cdr.NewQueue(sink, cdr.QueueOptions{Size: 5, MaxBatch: 1, OnDrop: func(r cdr.Record) {
		mu.Lock()
		dropped = append(dropped, r.ID)
		mu.Unlock()
	}})
	for i := range 20 {
		q.Record(cdr.Record{ID: fmt.Sprint(i)})
	}
	st := q.Stats()
	// One record may be in the stuck write, five queued, the rest dropped.
	if st.Dropped < 14 || st.Dropped > 15 {
		t.Errorf("Dropped = %d, want 14 or 15", st.Dropped)
	}
	close(sink.block)
	q.Close()
	st = q.Stats()
	if st.Written+st.Dropped != 20 {
		t.Errorf("written %d + dropped %d != 20", st.Written, st.Dropped)
	}
	if uint64(len(dropped)) != st.Dropped {
		t.Errorf("OnDrop called %d times, Dropped %d", len(dropped), st.Dropped)
	}
}

func TestQueueWriteError(t *testing.T) {
	sink := &memSink{fail: errors.New("disk full")}
	var gotErr error
	var gotN int
	done := make(chan struct{})
	q := cdr.NewQueue(sink, cdr.QueueOptions{OnError: func(err error, n int) {
		gotErr, gotN = err, n
		close(done)
	}})
	q.Record(cdr.Record{ID: "x"})
	<-done
	q.Close()
	if gotErr == nil || gotN != 1 {
		t.Errorf("OnError(%v, %d), want disk full, 1", gotErr, gotN)
	}
	if st := q.Stats(); st.Failed != 1 || st.Written != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestQueueLingerBatches: records that arrive while a batch lingers go
// into one write (one transaction per batch, not per call); a full batch
// is written without waiting out the linger, and Close writes what
// lingers at once.
func TestQueueLingerBatches(t *testing.T) {
	sink := &memSink{}
	q := cdr.NewQueue(sink, cdr.QueueOptions{MaxBatch: 5, Linger: time.Hour})
	for i := range 7 {
		q.Record(cdr.Record{ID: fmt.Sprint(i)})
	}
	// The first five fill a batch: written without waiting the hour.
	deadline := time.Now().Add(10 * time.Second)
	for q.Stats().Written < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := q.Stats(); st.Written != 5 {
		t.Fatalf("a full batch was not written: %+v", st)
	}
	// The other two linger (for the hour) instead of a write each.
	time.Sleep(50 * time.Millisecond)
	if st := q.Stats(); st.Written != 5 {
		t.Fatalf("records written while their batch lingers: %+v", st)
	}
	start := time.Now()
	q.Close()
	t.Logf("Close with a lingering batch took %v", time.Since(start))
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if !slices.Equal(sink.batches, []int{5, 2}) {
		t.Errorf("batches %v, want [5 2]", sink.batches)
	}
}

// TestQueueLingerOff: a negative Linger writes each record as soon as
// the writer is free (the old behaviour), so one record alone is stored
// without Close.
func TestQueueLingerOff(t *testing.T) {
	sink := &memSink{}
	q := cdr.NewQueue(sink, cdr.QueueOptions{Linger: -1})
	defer q.Close()
	q.Record(cdr.Record{ID: "x"})
	deadline := time.Now().Add(10 * time.Second)
	for q.Stats().Written < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := q.Stats(); st.Written != 1 {
		t.Errorf("record not written: %+v", st)
	}
}
