package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

// TestMemWatchStep: the watchdog fires once per burst: when the live
// heap halved from its peak (by 16 MiB or more), or when it is still twice
// its low point but no collection ran for 30 s; and only with 64 MiB or
// more held beyond the live heap. Never in steady state, busy or idle,
// never for a small heap, never when there is nothing to give back.
func TestMemWatchStep(t *testing.T) {
	type sample struct{ live, retained, cycles, at uint64 } // MiB, MiB, count, seconds
	for _, tt := range []struct {
		name    string
		samples []sample
		fire    []int // indexes of the samples that fire
	}{
		{"steady state at GOGC=400", []sample{{27, 40, 1, 0}, {28, 135, 2, 5}, {26, 140, 3, 10}, {30, 150, 4, 15}, {25, 150, 5, 20}, {29, 148, 6, 25}, {27, 60, 7, 30}}, nil},
		{"idle", []sample{{27, 140, 3, 0}, {27, 140, 3, 60}, {27, 140, 3, 120}, {28, 140, 4, 125}, {28, 140, 4, 600}}, nil},
		{"flood, then a collection", []sample{{27, 128, 1, 0}, {51, 250, 2, 5}, {73, 357, 3, 10}, {73, 357, 3, 15}, {27, 357, 4, 20}, {27, 80, 5, 25}, {26, 140, 6, 30}, {28, 150, 7, 35}}, []int{4}},
		{"flood, then no collection", []sample{{27, 128, 1, 0}, {51, 250, 2, 5}, {73, 357, 3, 10}, {73, 357, 3, 20}, {73, 357, 3, 35}, {73, 357, 3, 40}, {21, 80, 4, 45}, {21, 80, 4, 200}}, []int{5}},
		{"two floods", []sample{{27, 128, 1, 0}, {80, 350, 2, 5}, {27, 350, 3, 10}, {27, 60, 4, 15}, {90, 400, 5, 20}, {40, 400, 6, 25}, {30, 400, 7, 30}}, []int{2, 5}},
		{"slow growth under load", []sample{{10, 50, 1, 0}, {20, 100, 2, 5}, {40, 200, 3, 10}, {80, 400, 4, 15}, {160, 800, 5, 20}}, nil},
		{"growth, then idle: once", []sample{{10, 50, 1, 0}, {40, 200, 2, 5}, {40, 200, 2, 40}, {40, 200, 2, 80}, {40, 200, 2, 400}}, []int{2}},
		{"small heap", []sample{{10, 50, 1, 0}, {24, 200, 2, 5}, {10, 200, 3, 10}, {10, 200, 3, 100}}, nil},
		{"nothing to give back", []sample{{27, 128, 1, 0}, {73, 357, 2, 5}, {27, 80, 3, 10}, {27, 80, 3, 100}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var w memWatch
			var fired []int
			t0 := time.Unix(0, 0)
			for i, s := range tt.samples {
				at := t0.Add(time.Duration(s.at) * time.Second)
				if w.step(memSample{live: s.live * mib, retained: s.retained * mib, cycles: s.cycles}, at) {
					fired = append(fired, i)
					w.released(memSample{live: s.live * mib, retained: s.live * mib, cycles: s.cycles + 1}, at)
				}
			}
			if !equal(fired, tt.fire) {
				t.Errorf("fired at %v, want %v", fired, tt.fire)
			}
		})
	}
}

func equal(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

var sink [][]byte

// TestMemWatchOnTheRuntime: the watchdog's metrics read the real runtime.
// A burst of 160 MiB live, then dropped and collected: step fires, and
// FreeOSMemory gives at least 100 MiB of retained heap back.
func TestMemWatchOnTheRuntime(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	samples := make([]metrics.Sample, len(memMetrics))
	for i, name := range memMetrics {
		samples[i].Name = name
	}
	var w memWatch
	runtime.GC()
	if w.step(readMem(samples), time.Now()) {
		t.Fatal("fired before any burst")
	}
	for range 160 {
		sink = append(sink, make([]byte, mib))
	}
	runtime.GC()
	burst := readMem(samples)
	if burst.live < 150*mib || burst.retained < burst.live {
		t.Fatalf("during the burst: %+v, want 150 MiB or more live", burst)
	}
	if w.step(burst, time.Now()) {
		t.Fatal("fired during the burst")
	}
	sink = nil
	runtime.GC()
	after := readMem(samples)
	t.Logf("live %d MiB, retained %d MiB after the burst", after.live/mib, after.retained/mib)
	if !w.step(after, time.Now()) {
		t.Fatalf("did not fire after the burst: peak %d MiB, %+v", w.peak/mib, after)
	}
	debug.FreeOSMemory()
	released := readMem(samples)
	t.Logf("retained %d MiB after FreeOSMemory", released.retained/mib)
	if after.retained-released.retained < 100*mib {
		t.Errorf("retained %d MiB before, %d MiB after FreeOSMemory: want 100 MiB or more back", after.retained/mib, released.retained/mib)
	}
}

// BenchmarkReadMem is the watchdog's cost per period: one read of its
// runtime metrics (every 5 s).
func BenchmarkReadMem(b *testing.B) {
	samples := make([]metrics.Sample, len(memMetrics))
	for i, name := range memMetrics {
		samples[i].Name = name
	}
	var w memWatch
	for b.Loop() {
		w.step(readMem(samples), time.Now())
	}
}
