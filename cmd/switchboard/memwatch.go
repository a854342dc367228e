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
// The watchdog reads three runtime metrics every memWatchInterval (no
// stop-the-world, no allocation on the request path) and, once the live
// heap after a collection has dropped to half its peak or less, by at
// least memWatchMinDrop, while at least memWatchMinSpare bytes of heap are
// held beyond the live heap, calls debug.FreeOSMemory once: one collection
// and the free heap returned. The peak then restarts from the live heap.
// In steady state the live heap does not halve, so it never fires: it
// costs nothing on the hot path and at most one collection per burst.
// The live heap is known only after a collection; traffic or the
// runtime's own two-minute forced collection brings one.

const (
	memWatchInterval = 5 * time.Second
	memWatchMinDrop  = 16 << 20
	memWatchMinSpare = 64 << 20
)

// memSample is what the watchdog reads of the runtime.
type memSample struct {
	live     uint64 // live heap after the last collection (/gc/heap/live)
	retained uint64 // heap memory mapped and not released to the kernel
}

// memWatch is the watchdog's state: the peak live heap since it last
// released memory.
type memWatch struct {
	peak uint64
}

// step takes one sample and reports whether memory should be released
// now; it then restarts the peak from the current live heap.
func (w *memWatch) step(s memSample) bool {
	if s.live > w.peak {
		w.peak = s.live
	}
	dropped := s.live <= w.peak/2 && w.peak-s.live >= memWatchMinDrop
	spare := s.retained > s.live && s.retained-s.live >= memWatchMinSpare
	if !dropped || !spare {
		return false
	}
	w.peak = s.live
	return true
}

// memMetrics are the runtime/metrics names read each period; the
// retained heap is the first two (objects, and spans free or unused but
// not released) summed with the third.
var memMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/heap/live:bytes",
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
		if !w.step(s) {
			continue
		}
		start := time.Now()
		debug.FreeOSMemory()
		after := readMem(samples)
		log.Info("memory returned to the kernel after a burst", "live_heap_mb", s.live>>20, "peak_live_heap_mb", peak>>20,
			"heap_before_mb", s.retained>>20, "heap_after_mb", after.retained>>20, "took", time.Since(start).Round(time.Millisecond))
	}
}
