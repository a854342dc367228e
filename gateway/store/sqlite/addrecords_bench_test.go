package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// BenchmarkAddRecords measures AddRecords with batch sizes the record
// queue writes: one record (a write per call, as before the linger), 25
// and 200 (what 100 ms of linger gathers at 250 and 2,000 calls a
// second). ns/record is per record.
func BenchmarkAddRecords(b *testing.B) {
	for _, size := range []int{1, 25, 200} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "r.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			batch := make([]cdr.Record, size)
			n := 0
			for b.Loop() {
				for j := range batch {
					n++
					batch[j] = cdr.Record{ID: fmt.Sprint(n), CallID: fmt.Sprint(n), Caller: fmt.Sprintf("u%d", 1000+n%20000),
						Callee: "2000", Target: "2000", Trunk: "pbx", Setup: now, Answer: now, End: now, Status: 200, Cause: "normal"}
				}
				if err := s.AddRecords(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}
