package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// record returns a full record set up at setup.
func record(id, caller, callee string, setup time.Time) cdr.Record {
	return cdr.Record{
		ID:         id,
		CallID:     "cid-" + id,
		Direction:  cdr.Outbound,
		Caller:     caller,
		Callee:     callee,
		Target:     "+41" + callee,
		Trunk:      "pbx",
		AnsweredBy: "",
		DivertedTo: "",
		// A transfer, so the round trip covers those columns.
		TransferredTo: "2001",
		Attended:      true,
		Setup:         setup,
		Answer:        setup.Add(2 * time.Second),
		End:           setup.Add(62 * time.Second),
		Status:        200,
		Cause:         "normal",
		EndedBy:       "caller",
		MediaA:        cdr.Media{Packets: 3000, Bytes: 516000, Lost: 2, Jitter: 1.25, Ignored: 1},
		MediaB:        cdr.Media{Packets: 2999, Bytes: 515828},
	}
}

func mustAddRecords(t *testing.T, s store.Store, rs ...cdr.Record) {
	t.Helper()
	if err := s.AddRecords(ctx(t), rs); err != nil {
		t.Fatalf("AddRecords: %v", err)
	}
}

func mustHistory(t *testing.T, s store.Store, q store.CallQuery) []cdr.Record {
	t.Helper()
	rs, err := s.CallHistory(ctx(t), q)
	if err != nil {
		t.Fatalf("CallHistory(%+v): %v", q, err)
	}
	return rs
}

func ids(rs []cdr.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// sameRecord compares records field by field, times with Equal.
func sameRecord(a, b cdr.Record) bool {
	ta, tb := a, b
	ta.Setup, ta.Answer, ta.End = time.Time{}, time.Time{}, time.Time{}
	tb.Setup, tb.Answer, tb.End = time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(ta, tb) && a.Setup.Equal(b.Setup) && a.Answer.Equal(b.Answer) && a.End.Equal(b.End)
}

func testRecordsRoundTrip(t *testing.T, open Opener) {
	s := open(t)
	if rs := mustHistory(t, s, store.CallQuery{}); len(rs) != 0 {
		t.Fatalf("CallHistory on empty store = %v", ids(rs))
	}
	n := now()
	full := record("r1", "alice", "0441234567", n.Add(-time.Hour))
	unanswered := cdr.Record{ // zero answer time, empty optional fields
		ID: "r2", CallID: "c2", Direction: cdr.Inbound, Caller: "+41441234567", Callee: "1001",
		Setup: n.Add(-time.Minute), End: n, Status: 486, Cause: "busy",
	}
	mustAddRecords(t, s, full, unanswered)
	got := mustHistory(t, s, store.CallQuery{})
	if len(got) != 2 {
		t.Fatalf("CallHistory = %v, want [r2 r1]", ids(got))
	}
	if !sameRecord(got[0], unanswered) {
		t.Errorf("record r2\n got %+v\nwant %+v", got[0], unanswered)
	}
	if !got[0].Answer.IsZero() {
		t.Errorf("unanswered record Answer = %v, want zero", got[0].Answer)
	}
	if !sameRecord(got[1], full) {
		t.Errorf("record r1\n got %+v\nwant %+v", got[1], full)
	}
	if got[1].Setup.Location() != time.UTC {
		t.Errorf("Setup location %v, want UTC", got[1].Setup.Location())
	}

	// Adding is idempotent: the same ID again keeps the first version.
	changed := full
	changed.Cause = "other"
	mustAddRecords(t, s, changed)
	got = mustHistory(t, s, store.CallQuery{})
	if len(got) != 2 || got[1].Cause != "normal" {
		t.Errorf("after re-adding r1: %v, cause %q; want 2 records, cause normal", ids(got), got[len(got)-1].Cause)
	}

	// Records survive a restart.
	s = reopen(t, s, open)
	if got := mustHistory(t, s, store.CallQuery{}); len(got) != 2 || !sameRecord(got[1], full) {
		t.Errorf("after reopen: %v", ids(got))
	}
}

// testRecordsBatches: batches of every size a store may split into
// statements (SQLite inserts 16 records per statement) round-trip field
// by field; an ID already stored, or repeated in the batch, keeps its
// first version.
func testRecordsBatches(t *testing.T, open Opener) {
	s := open(t)
	n := now()
	mustAddRecords(t, s, record("b-old", "carol", "0440000000", n.Add(-2*time.Hour)))
	want := map[string]cdr.Record{}
	seq := 0
	for _, size := range []int{1, 15, 16, 17, 33, 50} {
		var batch []cdr.Record
		for range size {
			seq++
			r := record(fmt.Sprintf("b%03d", seq), fmt.Sprintf("u%d", seq%7), fmt.Sprint(1000+seq), n.Add(-time.Duration(seq)*time.Second))
			r.MediaA.Packets = uint64(seq)
			batch = append(batch, r)
			want[r.ID] = r
		}
		// A stored ID and one repeated in the batch: the first versions stay.
		stale := record("b-old", "mallory", "0", n)
		again := batch[0]
		again.Cause = "other"
		batch = append(batch, stale, again)
		mustAddRecords(t, s, batch...)
	}
	got := mustHistory(t, s, store.CallQuery{Limit: 1000})
	if len(got) != len(want)+1 {
		t.Fatalf("%d records, want %d", len(got), len(want)+1)
	}
	for _, r := range got {
		if r.ID == "b-old" {
			if r.Caller != "carol" {
				t.Errorf("b-old replaced: caller %q", r.Caller)
			}
			continue
		}
		if !sameRecord(r, want[r.ID]) {
			t.Errorf("record %s\n got %+v\nwant %+v", r.ID, r, want[r.ID])
		}
	}
}

func testRecordsInvalid(t *testing.T, open Opener) {
	s := open(t)
	good := record("ok", "alice", "1", now())
	bad := record("", "alice", "2", now())
	if err := s.AddRecords(ctx(t), []cdr.Record{good, bad}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("AddRecords with an empty id = %v, want ErrInvalid", err)
	}
	if rs := mustHistory(t, s, store.CallQuery{}); len(rs) != 0 {
		t.Errorf("a failed AddRecords stored %v", ids(rs))
	}
	if err := s.AddRecords(ctx(t), nil); err != nil {
		t.Errorf("AddRecords(nil) = %v", err)
	}
	for _, q := range []store.CallQuery{
		{Limit: -1},
		{Limit: store.MaxCallLimit + 1},
		{BeforeID: "x"},
	} {
		if _, err := s.CallHistory(ctx(t), q); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CallHistory(%+v) = %v, want ErrInvalid", q, err)
		}
	}
}

func testRecordsParties(t *testing.T, open Opener) {
	s := open(t)
	n := now()
	a := record("a", "alice", "1002", n.Add(-4*time.Minute)) // alice calls bob's extension
	a.Direction, a.Target, a.Trunk, a.AnsweredBy = cdr.Local, "bob", "", "bob"
	b := record("b", "carol", "0791112233", n.Add(-3*time.Minute)) // carol out
	c := record("c", "+41791112233", "1001", n.Add(-2*time.Minute))
	c.Direction, c.Target, c.Trunk = cdr.Inbound, "alice", "pbx" // inbound to alice
	d := record("d", "bob", "0800", n.Add(-time.Minute))
	mustAddRecords(t, s, a, b, c, d)

	tests := []struct {
		parties []string
		want    []string
	}{
		{[]string{"alice"}, []string{"c", "a"}},
		{[]string{"bob"}, []string{"d", "a"}},
		{[]string{"bob", "1002"}, []string{"d", "a"}}, // name and extension
		{[]string{"1001"}, []string{"c"}},
		{[]string{"carol"}, []string{"b"}},
		{[]string{"nobody"}, nil},
		{nil, []string{"d", "c", "b", "a"}},
	}
	for _, tc := range tests {
		got := ids(mustHistory(t, s, store.CallQuery{Parties: tc.parties}))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parties %v: got %v, want %v", tc.parties, got, tc.want)
		}
	}
}

func testRecordsPaging(t *testing.T, open Opener) {
	s := open(t)
	n := now()
	var all []cdr.Record
	// 25 records, setup times with ties: three records per microsecond
	// step, so paging must break ties by ID.
	for i := range 25 {
		all = append(all, record(fmt.Sprintf("r%02d", i), "alice", "1", n.Add(time.Duration(i/3)*time.Microsecond)))
	}
	mustAddRecords(t, s, all...)

	var got []string
	q := store.CallQuery{Parties: []string{"alice"}, Limit: 7}
	for page := 0; page < 10; page++ {
		rs := mustHistory(t, s, q)
		if len(rs) > 7 {
			t.Fatalf("page of %d records, limit 7", len(rs))
		}
		got = append(got, ids(rs)...)
		if len(rs) < 7 {
			break
		}
		last := rs[len(rs)-1]
		q.Before, q.BeforeID = last.Setup, last.ID
	}
	var want []string
	for i := 24; i >= 0; i-- {
		want = append(want, fmt.Sprintf("r%02d", i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paged history\n got %v\nwant %v", got, want)
	}
	// Before alone (no ID) excludes every record at that instant.
	rs := mustHistory(t, s, store.CallQuery{Before: n.Add(time.Microsecond)})
	if fmt.Sprint(ids(rs)) != "[r02 r01 r00]" {
		t.Errorf("Before = first+1µs: %v, want [r02 r01 r00]", ids(rs))
	}
	if rs := mustHistory(t, s, store.CallQuery{}); len(rs) != store.DefaultCallLimit && len(rs) != 25 {
		t.Errorf("default limit returned %d", len(rs))
	}
}

func testRecordsRetention(t *testing.T, open Opener) {
	s := open(t)
	n := now()
	day := 24 * time.Hour
	mustAddRecords(t, s,
		record("old", "alice", "1", n.Add(-91*day)),
		record("edge", "alice", "1", n.Add(-90*day)),
		record("new", "alice", "1", n.Add(-day)),
	)
	cut := n.Add(-90 * day)
	got, err := s.DeleteRecordsBefore(ctx(t), cut)
	if err != nil || got != 1 {
		t.Fatalf("DeleteRecordsBefore = %d, %v; want 1, nil", got, err)
	}
	if rs := mustHistory(t, s, store.CallQuery{}); fmt.Sprint(ids(rs)) != "[new edge]" {
		t.Errorf("after retention: %v, want [new edge]", ids(rs))
	}
	if got, err := s.DeleteRecordsBefore(ctx(t), cut); err != nil || got != 0 {
		t.Errorf("second DeleteRecordsBefore = %d, %v; want 0, nil", got, err)
	}
}

// testRecordsCanceled: a canceled context stores nothing and says so.
func testRecordsCanceled(t *testing.T, open Opener) {
	s := open(t)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := s.AddRecords(c, []cdr.Record{record("x", "alice", "1", now())}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddRecords with canceled ctx: %v, want context.Canceled", err)
	}
	if _, err := s.CallHistory(c, store.CallQuery{}); !errors.Is(err, context.Canceled) {
		t.Errorf("CallHistory with canceled ctx: %v, want context.Canceled", err)
	}
	if _, err := s.DeleteRecordsBefore(c, now()); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteRecordsBefore with canceled ctx: %v, want context.Canceled", err)
	}
	if rs := mustHistory(t, s, store.CallQuery{}); len(rs) != 0 {
		t.Errorf("canceled AddRecords stored %v", ids(rs))
	}
}

// testRecordsQueue: records from many goroutines through cdr.Queue (the
// B2BUA's path) all arrive, with history read alongside.
func testRecordsQueue(t *testing.T, open Opener) {
	s := open(t)
	q := cdr.NewQueue(s, cdr.QueueOptions{Size: 1000, MaxBatch: 50})
	const goroutines, each = 8, 50
	n := now()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				q.Record(record(fmt.Sprintf("g%d-%d", g, i), fmt.Sprintf("u%d", g), "1", n.Add(time.Duration(i)*time.Millisecond)))
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, err := s.CallHistory(ctx(t), store.CallQuery{Parties: []string{"u1"}}); err != nil {
				t.Errorf("CallHistory during writes: %v", err)
			}
		}
	})
	wg.Wait()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Written != goroutines*each || st.Dropped != 0 || st.Failed != 0 {
		t.Fatalf("queue stats %+v, want %d written", st, goroutines*each)
	}
	for g := range goroutines {
		rs := mustHistory(t, s, store.CallQuery{Parties: []string{fmt.Sprintf("u%d", g)}, Limit: store.MaxCallLimit})
		if len(rs) != each {
			t.Errorf("u%d has %d records, want %d", g, len(rs), each)
		}
	}
}
