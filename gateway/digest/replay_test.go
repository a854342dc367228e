package digest

import (
	"encoding/binary"
	"testing"
)

func TestWindow(t *testing.T) {
	w := ncWindowState{max: 1, seen: 1}
	for _, s := range []struct {
		nc uint32
		ok bool
	}{
		{1, false}, {2, true}, {2, false}, {66, true}, {3, true}, {2, false},
		{200, true}, {137, true}, {137, false}, {136, false}, {199, true}, {201, true}, {138, true},
	} {
		if got := w.accept(s.nc); got != s.ok {
			t.Fatalf("accept(%d) = %v, want %v (max %d seen %b)", s.nc, got, s.ok, w.max, w.seen)
		}
	}
}

// tag returns a key that lands in shard 0.
func tag(i int) []byte {
	b := make([]byte, nonceTagLen)
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	return b
}

func TestReplayTableBoundedAndSafe(t *testing.T) {
	var rt replayTable
	const ttl = 1000
	rt.init(replayShards*100, ttl) // 100 per shard
	now := int64(10_000)
	for i := range 1000 {
		if r := rt.check(tag(i), now+int64(i), 1, now+int64(i)); r != replayOK {
			t.Fatalf("insert %d: %v", i, r)
		}
		if n := len(rt.shards[0].m); n > 100 {
			t.Fatalf("shard holds %d > 100", n)
		}
	}
	// The oldest were evicted; they come back stale, never fresh.
	if r := rt.check(tag(0), now, 2, now+1000); r != replayEvicted {
		t.Fatalf("evicted nonce: %v, want replayEvicted", r)
	}
	// The newest are still tracked.
	if r := rt.check(tag(999), now+999, 1, now+1000); r != replaySeen {
		t.Fatalf("newest nonce repeat: %v, want replaySeen", r)
	}
	// Once everything has expired a sweep empties the shard and shrinks it.
	later := now + 10*ttl
	rt.check(tag(5000), later, 1, later)
	if n := rt.size(); n != 1 {
		t.Fatalf("after expiry size %d, want 1", n)
	}
}

func TestReplayTableShrinks(t *testing.T) {
	var rt replayTable
	rt.init(1<<20, 1000)
	for i := range 5000 {
		rt.check(tag(i), 0, 1, 0)
	}
	if rt.shards[0].peak != 5000 {
		t.Fatalf("peak %d", rt.shards[0].peak)
	}
	rt.check(tag(9999), 5000, 1, 5000)
	if sh := &rt.shards[0]; len(sh.m) != 1 || sh.peak != 1 {
		t.Fatalf("after sweep len %d peak %d", len(sh.m), sh.peak)
	}
}

// TestReplayFloorAfterSweep: a Verify that read the clock before a sweep
// must not find an empty window for a nonce the sweep may have removed.
func TestReplayFloorAfterSweep(t *testing.T) {
	var rt replayTable
	rt.init(1<<20, 1000)
	rt.check(tag(1), 0, 1, 0)
	rt.check(tag(2), 2000, 1, 2000) // sweeps tag(1); floor now 999
	if r := rt.check(tag(1), 0, 1, 999); r != replayEvicted {
		t.Fatalf("swept nonce with a late clock: %v, want replayEvicted", r)
	}
	if r := rt.check(tag(3), 1000, 1, 1999); r != replayOK {
		t.Fatalf("fresh nonce: %v", r)
	}
}
