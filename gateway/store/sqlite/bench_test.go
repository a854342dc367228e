//go:build unix

package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

// countingStore counts ApplyBindings transactions.
type countingStore struct {
	store.Store
	commits atomic.Int64
}

func (c *countingStore) ApplyBindings(ctx context.Context, changes []store.BindingChange) error {
	c.commits.Add(1)
	return c.Store.ApplyBindings(ctx, changes)
}

var writerCases = []struct {
	name string
	opts store.WriterOptions
}{
	{"default", store.WriterOptions{}},
	{"nodelay", store.WriterOptions{MaxDelay: -1}},
}

// BenchmarkWriterApply measures REGISTER-shaped binding writes through the
// group-commit Writer on a SQLite store.
//
// The closed-loop cases run many goroutines that each wait for their Apply
// (the registrar with that many REGISTERs in flight): applies/s is the
// throughput. The rate cases offer a steady 10,000 applies/s, as the
// registrar sees at its rated load, and show what that costs: CPU
// microseconds per apply (process user+sys), changes per commit and the
// 99th percentile wait.
func BenchmarkWriterApply(b *testing.B) {
	for _, wc := range writerCases {
		for _, par := range []int{64, 4} {
			b.Run(fmt.Sprintf("%s/goroutines=%dxP", wc.name, par), func(b *testing.B) {
				benchClosedLoop(b, wc.opts, par)
			})
		}
		b.Run(wc.name+"/rate=10000", func(b *testing.B) {
			benchOpenLoop(b, wc.opts, 10000)
		})
	}
}

func newBenchWriter(b *testing.B, opts store.WriterOptions) (*store.Writer, *countingStore) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	cs := &countingStore{Store: s}
	w := store.NewWriter(cs, opts)
	b.Cleanup(func() {
		_ = w.Close()
		_ = s.Close()
	})
	return w, cs
}

var expires = time.Now().Add(time.Hour)

// benchBinding is a REGISTER-shaped binding; 50,000 distinct AORs, so in
// steady state most writes replace a row, as re-registrations do.
func benchBinding(seq int64) store.BindingChange {
	n := seq % 50000
	return store.PutBinding(store.Binding{
		AOR:        fmt.Sprintf("u%d@example.com", n),
		ContactURI: fmt.Sprintf("sip:u%d@192.0.2.%d:5060;transport=udp", n, n%250),
		Params:     ";+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\"",
		Q:          store.QAbsent,
		Expires:    expires,
		CallID:     "a84b4c76e66710@192.0.2.4",
		CSeq:       uint32(seq),
		Path:       []string{"<sip:edge.example.com;lr>"},
		Source:     "192.0.2.1:5060",
		Transport:  "udp",
		LocalAddr:  "198.51.100.1:5060",
		UserAgent:  "Bench/1.0",
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchClosedLoop(b *testing.B, opts store.WriterOptions, parallelism int) {
	w, cs := newBenchWriter(b, opts)
	var seq atomic.Int64
	b.SetParallelism(parallelism)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := w.Apply(ctx, benchBinding(seq.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applies/s")
	b.ReportMetric(float64(b.N)/float64(max(cs.commits.Load(), 1)), "changes/commit")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/apply")
}

func benchOpenLoop(b *testing.B, opts store.WriterOptions, rate int) {
	w, cs := newBenchWriter(b, opts)
	const tick = time.Millisecond
	perTick := rate * int(tick) / int(time.Second)
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	var errs atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	ticker := time.NewTicker(tick)
	start := time.Now()
	for i := 0; i < b.N; {
		<-ticker.C
		// Catch up on ticks lost to scheduling, so the offered rate holds.
		due := min(int(time.Since(start)/tick)*perTick, b.N)
		for ; i < due; i++ {
			i := i
			wg.Go(func() {
				t0 := time.Now()
				if err := w.Apply(context.Background(), benchBinding(int64(i))); err != nil {
					errs.Add(1)
				}
				lat[i] = time.Since(t0)
			})
		}
	}
	ticker.Stop()
	wg.Wait()
	b.StopTimer()
	if errs.Load() > 0 {
		b.Fatalf("%d applies failed", errs.Load())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applies/s")
	b.ReportMetric(float64(b.N)/float64(max(cs.commits.Load(), 1)), "changes/commit")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/apply")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
