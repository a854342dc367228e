package dnssrv

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestCacheZeroTTLStoredAfterNow: a TTL-0 answer stored by a fetch that
// ended just after a reader took its clock reading expires "after" that
// reading; the reader must still see TTL 0, never the microseconds
// between the two readings (CI saw one of 50 concurrent lookups of a
// TTL-0 name get a TTL above 0). Answers with a TTL get what is left of
// it, never more than the TTL.
func TestCacheZeroTTLStoredAfterNow(t *testing.T) {
	base := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := base
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	set := func(d time.Duration) { mu.Lock(); clock = base.Add(d); mu.Unlock() }
	c := newCache(16, time.Minute, now)
	t.Cleanup(c.close)

	for _, tc := range []struct {
		name string
		ttl  uint32
		want time.Duration
	}{
		{"zero", 0, 0},
		{"sixty", 60, 60 * time.Second},
	} {
		k := cacheKey{name: tc.name + ".test.", qtype: 1}
		// the fetch is stored 1 ms after the reader's clock reading
		set(0)
		c.put(k, rrset{ttl: tc.ttl})
		c.mu.Lock()
		c.m[k].expires = base.Add(time.Millisecond + time.Duration(tc.ttl)*time.Second)
		c.mu.Unlock()
		_, left := c.get(context.Background(), k, func(context.Context) rrset {
			t.Fatalf("%s: fetched again", tc.name)
			return rrset{}
		})
		if left != tc.want {
			t.Errorf("%s: TTL left %s, want %s", tc.name, left, tc.want)
		}
	}
}
