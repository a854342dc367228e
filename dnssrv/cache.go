package dnssrv

import (
	"context"
	"sync"
	"time"
)

// failTTL is how long a failed lookup (timeout, SERVFAIL, malformed) is
// kept before it is tried again; RFC 2308 §7 allows up to 5 minutes.
const failTTL = 5 * time.Second

// cache keeps lookups for their TTL (RFC 1035 §3.2.1), negative answers for
// their RFC 2308 TTL, and serves an expired entry for up to maxStale while
// one refresh runs in the background (RFC 8767). A refresh that fails
// leaves the stale entry in place (RFC 8767 §4). Lookups of one key share
// one query in flight.
type cache struct {
	now      func() time.Time
	maxStale time.Duration
	size     int

	ctx    context.Context // ends at close: stops queries in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.RWMutex
	m        map[cacheKey]*entry
	inflight map[cacheKey]*call
	closed   bool
}

type cacheKey struct {
	name  string // lower case, fully qualified
	qtype uint16
}

type entry struct {
	set     rrset
	expires time.Time
	retryAt time.Time // no background refresh before this (after a failure)
	lastErr error     // the last refresh failure while serving stale
}

// call is a lookup in flight.
type call struct {
	done chan struct{}
	set  rrset
}

func newCache(size int, maxStale time.Duration, now func() time.Time) *cache {
	ctx, cancel := context.WithCancel(context.Background())
	return &cache{
		now: now, maxStale: maxStale, size: size,
		ctx: ctx, cancel: cancel,
		m: map[cacheKey]*entry{}, inflight: map[cacheKey]*call{},
	}
}

// get returns the entry for k, fetching it when missing or too old. The
// returned TTL is what is left of it (0 when served stale). fetch runs
// detached from ctx (so that a caller giving up does not fail the others
// waiting on it) but ends when the cache is closed.
func (c *cache) get(ctx context.Context, k cacheKey, fetch func(context.Context) rrset) (rrset, time.Duration) {
	now := c.now()
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e != nil {
		// Never more than the record's own TTL: an entry stored after
		// now was read (a fetch that ended a moment ago) expires after
		// now even with TTL 0, and a TTL-0 answer is for this use only
		// (RFC 1035 §3.2.1, RFC 2181 §8).
		if left := min(e.expires.Sub(now), time.Duration(e.set.ttl)*time.Second); left > 0 {
			return e.set, left
		}
		if c.maxStale > 0 && now.Sub(e.expires) < c.maxStale {
			if now.After(e.retryAt) || now.Equal(e.retryAt) {
				c.start(k, fetch) // refresh in the background
			}
			return e.set, 0
		}
	}
	cl := c.start(k, fetch)
	select {
	case <-cl.done:
		return cl.set, time.Duration(cl.set.ttl) * time.Second
	case <-ctx.Done():
		return rrset{err: ctx.Err()}, 0
	}
}

// start begins fetching k, or joins the fetch already in flight.
func (c *cache) start(k cacheKey, fetch func(context.Context) rrset) *call {
	c.mu.Lock()
	if cl := c.inflight[k]; cl != nil {
		c.mu.Unlock()
		return cl
	}
	cl := &call{done: make(chan struct{})}
	if e := c.m[k]; e != nil && e.expires.After(c.now()) {
		// A fetch ended between the caller's look at the cache and now.
		c.mu.Unlock()
		cl.set = e.set
		close(cl.done)
		return cl
	}
	if c.closed {
		c.mu.Unlock()
		cl.set = rrset{err: ErrClosed}
		close(cl.done)
		return cl
	}
	c.inflight[k] = cl
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		set := fetch(c.ctx)
		c.put(k, set)
		cl.set = set
		close(cl.done)
	}()
	return cl
}

// put stores the outcome of a fetch. A failure (not a negative answer)
// does not replace data that may still be served stale.
func (c *cache) put(k cacheKey, set rrset) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, k)
	if c.closed {
		return
	}
	old := c.m[k]
	if transient(set.err) {
		if old != nil && old.set.err == nil && now.Sub(old.expires) < c.maxStale {
			old.retryAt = now.Add(failTTL)
			old.lastErr = set.err
			return
		}
		set.ttl = uint32(failTTL / time.Second)
	}
	if old == nil && len(c.m) >= c.size {
		c.evict(now)
	}
	c.m[k] = &entry{set: set, expires: now.Add(time.Duration(set.ttl) * time.Second)}
}

// evict makes room: first entries too old to serve stale, then any one.
// Called with mu held.
func (c *cache) evict(now time.Time) {
	for k, e := range c.m {
		if now.Sub(e.expires) >= c.maxStale {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.size {
			break
		}
		delete(c.m, k)
	}
}

// lastErr returns the last background refresh failure for k, if the entry
// is being served stale because of it.
func (c *cache) lastErr(k cacheKey) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e := c.m[k]; e != nil {
		return e.lastErr
	}
	return nil
}

// flush forgets everything (not the lookups in flight).
func (c *cache) flush() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// len returns the number of entries.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// close cancels the lookups in flight and waits for them.
func (c *cache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}
