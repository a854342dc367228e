package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The memory watchdog gives memory back to the kernel after a burst.
//
// The gateway collects garbage at GOGC=400 (serve.go): the heap may grow
// to five times its live size between collections, and the runtime keeps
// what it freed for reuse, returning it to the kernel only slowly and only
// down to about the next heap goal. After a flood (issue 10: thousands of
// server transactions alive at once) the live heap falls back within a
// minute, but the heap the flood grew stays mapped: RSS stayed at ~300 MiB
// for a 10 MB live heap.
//
// The watchdog reads a few runtime metrics every memWatchInterval (no
// stop-the-world, no allocation on the request path) and calls
// debug.FreeOSMemory (one collection, the free heap returned) when a burst
// is over, while at least memWatchMinSpare bytes of heap are held beyond
// the live heap:
//   - the live heap after a collection has dropped to half its peak or
//     less, by at least memWatchMinDrop; or
//   - the last collection's live heap is still twice its low point or
//     more (by memWatchMinDrop) but no collection has run for
//     memWatchQuiet: the flood's allocation has stopped and the runtime
//     would wait for its two-minute forced collection to notice.
//
// Peak and low point then restart from the live heap. In steady state the
// live heap neither halves nor doubles, so it does not fire: nothing on
// the hot path, one collection per burst.

const (
	memWatchInterval = 5 * time.Second
	memWatchQuiet    = 30 * time.Second
	memWatchMinDrop  = 16 << 20
	memWatchMinSpare = 64 << 20
)

// memSample is what the watchdog reads of the runtime.
type memSample struct {
	live     uint64 // live heap after the last collection (/gc/heap/live)
	retained uint64 // heap memory mapped and not released to the kernel
	cycles   uint64 // collections so far (/gc/cycles/total)
}

// memWatch is the watchdog's state: the peak and the low point of the live
// heap since it last released memory, and when a collection last ran.
type memWatch struct {
	peak, low uint64
	cycles    uint64
	lastGC    time.Time
}

// step takes the sample s read at now and reports whether memory should
// be released now; it then restarts peak and low point from the current
// live heap (release updates them with the live heap after it).
func (w *memWatch) step(s memSample, now time.Time) bool {
	if w.lastGC.IsZero() || s.cycles != w.cycles {
		w.cycles, w.lastGC = s.cycles, now
	}
	if w.low == 0 || s.live < w.low {
		w.low = s.live
	}
	w.peak = max(w.peak, s.live)
	dropped := s.live <= w.peak/2 && w.peak-s.live >= memWatchMinDrop
	stale := s.live >= 2*w.low && s.live-w.low >= memWatchMinDrop && now.Sub(w.lastGC) >= memWatchQuiet
	spare := s.retained > s.live && s.retained-s.live >= memWatchMinSpare
	if !(dropped || stale) || !spare {
		return false
	}
	w.peak, w.low = s.live, s.live
	return true
}

// released restarts peak and low point from the live heap after a
// release, and counts the release's collection.
func (w *memWatch) released(s memSample, now time.Time) {
	w.peak, w.low, w.cycles, w.lastGC = s.live, s.live, s.cycles, now
}

// memMetrics are the runtime/metrics names read each period; the
// retained heap is the first two (objects, and spans free or unused but
// not released) summed with the third.
var memMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/heap/live:bytes",
	"/gc/cycles/total:gc-cycles",
}

// readMem reads a memSample into samples (len(memMetrics), reused).
func readMem(samples []metrics.Sample) memSample {
	metrics.Read(samples)
	var s memSample
	for i, m := range samples[:3] {
		if m.Value.Kind() == metrics.KindUint64 {
			s.retained += samples[i].Value.Uint64()
		}
	}
	if v := samples[3].Value; v.Kind() == metrics.KindUint64 {
		s.live = v.Uint64()
	}
	if v := samples[4].Value; v.Kind() == metrics.KindUint64 {
		s.cycles = v.Uint64()
	}
	return s
}

// watchMemory runs the watchdog until ctx ends.
func watchMemory(ctx context.Context, log *slog.Logger) {
	samples := make([]metrics.Sample, len(memMetrics))
	for i, name := range memMetrics {
		samples[i].Name = name
	}
	var w memWatch
	t := time.NewTicker(memWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := readMem(samples)
		peak := w.peak
		if !w.step(s, time.Now()) {
			continue
		}
		start := time.Now()
		debug.FreeOSMemory()
		after := readMem(samples)
		w.released(after, time.Now())
		log.Info("memory returned to the kernel after a burst", "live_heap_mb", after.live>>20, "peak_live_heap_mb", peak>>20,
			"heap_before_mb", s.retained>>20, "heap_after_mb", after.retained>>20, "took", time.Since(start).Round(time.Millisecond))
	}
}
