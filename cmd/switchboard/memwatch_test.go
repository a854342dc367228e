package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

const mib = 1 << 20

// TestMemWatchStep: the watchdog fires once per burst (the live heap
// halved from its peak, by 16 MiB or more, with 64 MiB or more held beyond
// it), never in steady state, never for a small heap, never when there is
// nothing to give back.
func TestMemWatchStep(t *testing.T) {
	for _, tt := range []struct {
		name    string
		samples [][2]uint64 // live, retained (MiB)
		fire    []int       // indexes of the samples that fire
	}{
		{"steady state at GOGC=400", [][2]uint64{{27, 40}, {28, 135}, {26, 140}, {30, 150}, {25, 150}, {29, 148}, {27, 60}}, nil},
		{"flood and back", [][2]uint64{{27, 128}, {51, 250}, {73, 357}, {73, 357}, {27, 357}, {27, 80}, {26, 140}, {28, 150}}, []int{4}},
		{"two floods", [][2]uint64{{27, 128}, {80, 350}, {27, 350}, {27, 60}, {90, 400}, {40, 400}, {30, 400}}, []int{2, 5}},
		{"slow growth never fires", [][2]uint64{{10, 50}, {20, 100}, {40, 200}, {80, 400}, {160, 800}}, nil},
		{"small heap", [][2]uint64{{10, 50}, {24, 200}, {10, 200}}, nil},
		{"nothing to give back", [][2]uint64{{27, 128}, {73, 357}, {27, 80}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var w memWatch
			var fired []int
			for i, s := range tt.samples {
				if w.step(memSample{live: s[0] * mib, retained: s[1] * mib}) {
					fired = append(fired, i)
				}
			}
			if len(fired) != len(tt.fire) || (len(fired) > 0 && !equal(fired, tt.fire)) {
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
	if w.step(readMem(samples)) {
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
	if w.step(burst) {
		t.Fatal("fired during the burst")
	}
	sink = nil
	runtime.GC()
	after := readMem(samples)
	t.Logf("live %d MiB, retained %d MiB after the burst", after.live/mib, after.retained/mib)
	if !w.step(after) {
		t.Fatalf("did not fire after the burst: peak %d MiB, %+v", w.peak/mib, after)
	}
	debug.FreeOSMemory()
	released := readMem(samples)
	t.Logf("retained %d MiB after FreeOSMemory", released.retained/mib)
	if after.retained-released.retained < 100*mib {
		t.Errorf("retained %d MiB before, %d MiB after FreeOSMemory: want 100 MiB or more back", after.retained/mib, released.retained/mib)
	}
}
