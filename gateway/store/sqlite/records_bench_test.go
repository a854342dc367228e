package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// BenchmarkRecordQueue measures call records written through cdr.Queue
// (group commit) to a SQLite store: ns/op is per record, flushed.
func BenchmarkRecordQueue(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "r.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q := cdr.NewQueue(s, cdr.QueueOptions{Size: b.N + 1})
	now := time.Now()
	b.ResetTimer()
	for i := range b.N {
		q.Record(cdr.Record{ID: fmt.Sprint(i), CallID: fmt.Sprint(i), Caller: "alice", Callee: "0441234567",
			Setup: now, Answer: now, End: now, Status: 200, Cause: "normal"})
	}
	q.Close()
	b.StopTimer()
	if st := q.Stats(); st.Written != uint64(b.N) {
		b.Fatalf("written %d of %d", st.Written, b.N)
	}
}

// BenchmarkCallHistory measures one page of a user's history from 100,000
// records of 100 users.
func BenchmarkCallHistory(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "h.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	var batch []cdr.Record
	for i := range 100000 {
		batch = append(batch, cdr.Record{ID: fmt.Sprint(i), Caller: fmt.Sprintf("u%d", i%100), Callee: "2000",
			Setup: now.Add(time.Duration(i) * time.Second), End: now})
		if len(batch) == 1000 {
			if err := s.AddRecords(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	for range b.N {
		rs, err := s.CallHistory(b.Context(), store.CallQuery{Parties: []string{"u42"}, Limit: 50})
		if err != nil || len(rs) != 50 {
			b.Fatalf("%d records, %v", len(rs), err)
		}
	}
}
