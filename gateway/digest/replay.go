package digest

import (
	"encoding/binary"
	"sync"
)

// Nonce-count replay protection (RFC 7616 §3.4 nc, §5.12; RFC 2617 §3.2.2).
//
// For every nonce used with qop=auth we remember the highest nonce count seen
// and a 64-bit bitmap of the counts just below it, so requests that overtake
// each other (several UDP transactions in flight) are still accepted once,
// while any repeat, or a count more than 63 below the highest, is a replay.
//
// Entries are keyed by the nonce's HMAC tag (uniformly distributed, chosen by
// us, not the peer) and spread over shards, each with its own lock. An entry
// is dropped once its nonce has expired: after that Verify answers ErrStale
// before looking here, so forgetting it cannot let a replay through. Expired
// entries are swept lazily from the shard being written; no goroutine runs.
//
// Entries are created only after the response has been verified, so a peer
// without a password cannot fill the table or burn counts of someone else's
// nonce. If a shard is full nevertheless, its oldest entries are evicted and
// the shard's floor is raised to their issue time: a nonce issued at or
// before the floor with no entry is answered ErrStale, never accepted fresh.
// Sweeping raises the floor past what it removed in the same way.

const (
	replayShards = 64 // power of two
	ncWindow     = 64 // bits in window
)

type replayKey [nonceTagLen]byte

type ncWindowState struct {
	issued int64  // nonce issue time, Unix ns
	max    uint32 // highest nonce count seen
	seen   uint64 // bit i set: count max-i seen
}

type replayShard struct {
	mu        sync.Mutex
	m         map[replayKey]ncWindowState
	peak      int   // largest len(m) since the map was last rebuilt
	floor     int64 // nonces issued at or before this may have been dropped
	nextSweep int64
	_         [32]byte // keep neighbouring shards' locks off one cache line
}

type replayTable struct {
	shards   [replayShards]replayShard
	perShard int
	ttl      int64
}

func (t *replayTable) init(maxNonces int, ttl int64) {
	t.perShard = max(maxNonces/replayShards, 1)
	t.ttl = ttl
	for i := range t.shards {
		t.shards[i].m = make(map[replayKey]ncWindowState)
		t.shards[i].floor = -1 << 63
	}
}

// replayResult is the outcome of check.
type replayResult uint8

const (
	replayOK replayResult = iota
	replaySeen
	replayEvicted
)

// check records nonce count nc for the nonce with the given tag and issue
// time, at time now (Unix ns). The nonce must be fresh.
func (t *replayTable) check(tag []byte, issued int64, nc uint32, now int64) replayResult {
	var k replayKey
	copy(k[:], tag)
	sh := &t.shards[binary.BigEndian.Uint16(k[:2])&(replayShards-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()

	w, ok := sh.m[k]
	if !ok {
		if issued <= sh.floor {
			return replayEvicted
		}
		sh.makeRoom(now, t.ttl, t.perShard)
		sh.m[k] = ncWindowState{issued: issued, max: nc, seen: 1}
		sh.peak = max(sh.peak, len(sh.m))
		return replayOK
	}
	if !w.accept(nc) {
		return replaySeen
	}
	sh.m[k] = w
	return replayOK
}

// accept applies the sliding window to nc and reports whether it is new.
func (w *ncWindowState) accept(nc uint32) bool {
	if nc > w.max {
		if d := nc - w.max; d >= ncWindow {
			w.seen = 1
		} else {
			w.seen = w.seen<<d | 1
		}
		w.max = nc
		return true
	}
	d := w.max - nc
	if d >= ncWindow || w.seen&(1<<d) != 0 {
		return false
	}
	w.seen |= 1 << d
	return true
}

// makeRoom sweeps expired entries when due or when the shard is full, and
// evicts the oldest entries if it is still full. Called with mu held.
func (sh *replayShard) makeRoom(now, ttl int64, limit int) {
	if now < sh.nextSweep && len(sh.m) < limit {
		return
	}
	sh.nextSweep = now + ttl/8
	for k, w := range sh.m {
		if now-w.issued > ttl { // same test as Verify's staleness
			delete(sh.m, k)
		}
	}
	// A concurrent Verify that read the clock just before this sweep may
	// still hold such a nonce as fresh: the floor makes it stale instead of
	// letting it find an empty window.
	sh.floor = max(sh.floor, now-ttl-1)
	if len(sh.m) >= limit {
		// Evict the oldest quarter (by issue time) and raise the floor.
		lo, hi := int64(1<<63-1), int64(-1<<63)
		for _, w := range sh.m {
			lo, hi = min(lo, w.issued), max(hi, w.issued)
		}
		cut := lo + int64(uint64(hi-lo)/4) // unsigned: no overflow
		for k, w := range sh.m {
			if w.issued <= cut {
				delete(sh.m, k)
			}
		}
		sh.floor = max(sh.floor, cut)
	}
	// Go maps do not shrink; rebuild one that has emptied out so a burst
	// does not pin its memory.
	if sh.peak > 1024 && len(sh.m) < sh.peak/4 {
		m := make(map[replayKey]ncWindowState, len(sh.m)*2)
		for k, w := range sh.m {
			m[k] = w
		}
		sh.m = m
		sh.peak = len(m)
	}
}

// size returns the number of remembered nonces (for tests).
func (t *replayTable) size() int {
	n := 0
	for i := range t.shards {
		t.shards[i].mu.Lock()
		n += len(t.shards[i].m)
		t.shards[i].mu.Unlock()
	}
	return n
}
