package sipserver

import (
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the answer cache bounds.
const (
	// DefaultCacheEntries bounds the stateless answer cache in entries:
	// 64k answers in 32 s (Timer J) is 2,000 successful registrations a
	// second, well above what the store commits.
	DefaultCacheEntries = 65536
	// DefaultCacheBytes bounds the cache's answers and keys in bytes.
	DefaultCacheBytes = 32 << 20
)

// entryOverhead is what one entry costs besides its key and answer (map
// slot, string and slice headers), counted so that many tiny entries still
// reach the byte bound.
const entryOverhead = 64

// answerCache remembers answers per transaction key for at least ttl, in
// two generations swapped every ttl (so nothing needs a timer per entry).
// It holds at most maxEntries entries and maxBytes bytes over both
// generations: past either bound a new entry is not remembered (counted in
// skipped), so a flood of distinct transactions costs bounded memory and
// only loses the absorption of its own retransmissions.
type answerCache struct {
	mu         sync.Mutex
	ttl        time.Duration
	maxEntries int
	maxBytes   int
	swapped    time.Time
	cur, old   generation
	now        func() time.Time

	entries atomic.Int64 // over both generations, for Stats without the lock
	bytes   atomic.Int64
	skipped atomic.Uint64
}

// generation is one map of the cache with its totals.
type generation struct {
	m     map[string][]byte // nil value: in flight
	bytes int
}

func (g *generation) del(key string) {
	if v, ok := g.m[key]; ok {
		g.bytes -= entrySize(key, v)
		delete(g.m, key)
	}
}

func entrySize(key string, v []byte) int { return len(key) + len(v) + entryOverhead }

type cacheState int

const (
	fresh cacheState = iota
	inFlight
	answered
)

func newAnswerCache(ttl time.Duration, maxEntries, maxBytes int) *answerCache {
	return &answerCache{
		ttl: ttl, maxEntries: maxEntries, maxBytes: maxBytes,
		cur: generation{m: map[string][]byte{}}, old: generation{m: map[string][]byte{}},
		now: time.Now, swapped: time.Now(),
	}
}

// begin looks key up; when it is unknown it is marked in flight, room
// permitting.
func (c *answerCache) begin(key string) ([]byte, cacheState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.swapped) >= c.ttl {
		c.old, c.cur, c.swapped = c.cur, generation{m: make(map[string][]byte, min(len(c.cur.m), 1024))}, now
		c.publish()
	}
	v, ok := c.cur.m[key]
	if !ok {
		v, ok = c.old.m[key]
	}
	switch {
	case !ok:
		c.put(key, nil)
		return nil, fresh
	case v == nil:
		return nil, inFlight
	}
	return v, answered
}

// finish stores the answer of key (which need not be in flight any more).
func (c *answerCache) finish(key string, answer []byte) {
	c.mu.Lock()
	c.cur.del(key)
	c.old.del(key)
	c.put(key, answer)
	c.mu.Unlock()
}

// forget drops key: its answer is not worth remembering.
func (c *answerCache) forget(key string) {
	c.mu.Lock()
	c.cur.del(key)
	c.old.del(key)
	c.publish()
	c.mu.Unlock()
}

// put adds key to the current generation if the bounds allow; c.mu held.
func (c *answerCache) put(key string, v []byte) {
	size := entrySize(key, v)
	if len(c.cur.m)+len(c.old.m) >= c.maxEntries || c.cur.bytes+c.old.bytes+size > c.maxBytes {
		c.skipped.Add(1)
		c.publish()
		return
	}
	c.cur.m[key] = v
	c.cur.bytes += size
	c.publish()
}

func (c *answerCache) publish() {
	c.entries.Store(int64(len(c.cur.m) + len(c.old.m)))
	c.bytes.Store(int64(c.cur.bytes + c.old.bytes))
}
