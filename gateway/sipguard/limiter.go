package sipguard

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// limiterShards spreads the buckets over independent locks, so the UDP
// readers and stream connections of different sources do not contend.
const limiterShards = 64

// DefaultMaxBuckets bounds the token buckets held at once, over all
// shards: beyond it the oldest generation of a shard is dropped early.
const DefaultMaxBuckets = 1 << 20

// limiter is a token bucket per source (an IPv4 address, an IPv6 /64: one
// subscriber's prefix). It is O(1) per packet and bounded: each shard keeps
// two generations of buckets and swaps them once a bucket would have
// refilled to its burst, so a bucket untouched for a whole generation is
// dropped without a sweep (it would be full again anyway). A shard at its
// share of maxBuckets swaps early; the buckets it drops early come back
// full, which only lets their sources burst once more.
type limiter struct {
	rate   float64
	burst  float64
	period time.Duration // time to refill from empty to burst
	cap    int           // buckets per shard, over both generations
	seed   maphash.Seed
	shards [limiterShards]limiterShard
}

type limiterShard struct {
	mu       sync.Mutex
	cur, old map[netip.Addr]*bucket
	swapped  time.Time
	_        [24]byte // keep hot shards off each other's cache line
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, maxBuckets int) *limiter {
	b := float64(burst)
	if b < 1 {
		b = max(1, rate)
	}
	if maxBuckets <= 0 {
		maxBuckets = DefaultMaxBuckets
	}
	l := &limiter{
		rate: rate, burst: b, seed: maphash.MakeSeed(),
		period: max(time.Second, time.Duration(b/rate*float64(time.Second))),
		cap:    max(2, maxBuckets/limiterShards),
	}
	for i := range l.shards {
		l.shards[i].cur = make(map[netip.Addr]*bucket)
		l.shards[i].old = make(map[netip.Addr]*bucket)
	}
	return l
}

// sourceKey is what a bucket is kept for: the address, or for IPv6 its /64.
func sourceKey(ip netip.Addr) netip.Addr {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// allow takes one token from ip's bucket.
func (l *limiter) allow(ip netip.Addr, now time.Time) bool {
	key := sourceKey(ip)
	s := &l.shards[maphash.Comparable(l.seed, key)%limiterShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.swapped) >= l.period {
		s.swap(now)
	}
	b := s.cur[key]
	if b == nil {
		if b = s.old[key]; b != nil {
			delete(s.old, key)
		} else {
			if len(s.cur)+len(s.old) >= l.cap {
				s.swap(now)
			}
			b = &bucket{tokens: l.burst, last: now}
		}
		s.cur[key] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (s *limiterShard) swap(now time.Time) {
	s.old, s.cur, s.swapped = s.cur, make(map[netip.Addr]*bucket, min(len(s.cur), 1024)), now
}

// size is the number of buckets held.
func (l *limiter) size() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.old)
		s.mu.Unlock()
	}
	return n
}
