package sipguard

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestSetLimitsBanThreshold: a reload lowering ban failures bans on the
// next failure; raising it lets more through.
func TestSetLimitsBanThreshold(t *testing.T) {
	g, _, _ := banGuard(t, nil)
	ip := netip.MustParseAddr("192.0.2.7")
	g.AuthFailed(ip, "boss")
	if g.Banned(ip) {
		t.Fatal("banned after 1 failure of 3")
	}
	l := g.Limits()
	l.BanFailures = 2
	l.BanDuration = 10 * time.Minute
	g.SetLimits(l)
	g.AuthFailed(ip, "boss")
	if !g.Banned(ip) {
		t.Fatal("not banned at the lowered threshold")
	}
	if b := g.Bans(); len(b) != 1 || time.Unix(1000, 0).Add(10*time.Minute) != b[0].Until {
		t.Fatalf("ban %+v, want the new duration", b)
	}
	l.BanFailures = 0 // off
	g.SetLimits(l)
	other := netip.MustParseAddr("192.0.2.8")
	for range 10 {
		g.AuthFailed(other, "boss")
	}
	if g.Banned(other) {
		t.Fatal("banned with bans turned off")
	}
}

// TestSetLimitsRate: the rate limit follows SetLimits, off and on, while
// messages are screened (-race).
func TestSetLimitsRate(t *testing.T) {
	g, _, _ := banGuard(t, func(o *Options) { o.RatePerSecond, o.Burst = 1, 1 })
	ip := netip.MustParseAddr("192.0.2.9")
	if !g.admit(ip) || g.admit(ip) {
		t.Fatal("burst 1: want one message through, the next dropped")
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 1000 {
			g.admit(netip.MustParseAddr("192.0.2.10"))
		}
	})
	g.SetLimits(Limits{RatePerSecond: 0})
	for range 50 {
		if !g.admit(ip) {
			t.Fatal("dropped with the rate limit off")
		}
	}
	g.SetLimits(Limits{RatePerSecond: 1, Burst: 5})
	wg.Wait()
	n := 0
	for range 10 {
		if g.admit(ip) {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("%d of 10 through with burst 5", n)
	}
	if l := g.Limits(); l.RatePerSecond != 1 || l.Burst != 5 {
		t.Fatalf("limits %+v", l)
	}
}
