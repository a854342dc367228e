package sipguard

import (
	"net/netip"
	"testing"
	"time"
)

// TestLimiterBounded sprays 200,000 distinct sources at the limiter:
// the table stays within its bound, and a known source's bucket still
// limits it.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(10, 20, 64*100)
	now := time.Unix(1000, 0)
	victim := netip.MustParseAddr("192.0.2.1")
	for range 20 {
		if !l.allow(victim, now) {
			t.Fatal("burst refused")
		}
	}
	for i := range 200_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(ip, now)
		if i%20_000 == 0 {
			if n := l.size(); n > 64*100 {
				t.Fatalf("after %d sources the limiter holds %d buckets, bound %d", i, n, 64*100)
			}
		}
	}
	if n := l.size(); n > 64*100 {
		t.Fatalf("limiter holds %d buckets, bound %d", n, 64*100)
	}
}

func TestLimiterRefillAndGenerations(t *testing.T) {
	l := newLimiter(10, 20, 0) // period 2s
	now := time.Unix(1000, 0)
	ip := netip.MustParseAddr("192.0.2.7")
	for range 20 {
		if !l.allow(ip, now) {
			t.Fatal("burst refused")
		}
	}
	if l.allow(ip, now) {
		t.Fatal("21st request in the same instant allowed")
	}
	// Across a generation swap the drained bucket is kept, not reset.
	now = now.Add(2100 * time.Millisecond) // refills 20 (capped at burst)
	n := 0
	for l.allow(ip, now) {
		n++
	}
	if n != 20 {
		t.Fatalf("after refilling %d allowed, want 20", n)
	}
	now = now.Add(100 * time.Millisecond) // one token
	if !l.allow(ip, now) || l.allow(ip, now) {
		t.Fatal("want exactly one token after 100ms")
	}
	// Untouched for a whole generation: dropped from the table, without
	// a sweep, when its shard next swaps.
	l.allow(netip.MustParseAddr("192.0.2.8"), now)
	for range 2 {
		now = now.Add(3 * time.Second)
		for i := range 256 {
			l.allow(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), now)
		}
	}
	if n := l.size(); n != 256 {
		t.Fatalf("limiter holds %d buckets, want the 256 active sources only", n)
	}
}

// TestLimiterIPv6Prefix: one subscriber's /64 shares one bucket, so
// rotating the interface identifier does not buy a fresh burst.
func TestLimiterIPv6Prefix(t *testing.T) {
	l := newLimiter(1, 5, 0)
	now := time.Unix(1000, 0)
	allowed := 0
	for i := range 100 {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
		if l.allow(ip, now) {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("a /64 got %d requests through, want its burst of 5", allowed)
	}
	if !l.allow(netip.MustParseAddr("2001:db8:0:2::1"), now) {
		t.Fatal("another /64 is limited too")
	}
}
