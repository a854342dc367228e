package sipguard

import "time"

// Limits are the guard's plain-number settings, which a configuration
// reload changes on the running guard (SetLimits); Options documents each.
type Limits struct {
	RatePerSecond float64
	Burst         int
	BanFailures   int
	BanWindow     time.Duration
	BanDuration   time.Duration
	ScanUsers     int
}

// banLimits are the ban thresholds in force.
type banLimits struct {
	failures, scanUsers int
	window, duration    time.Duration
}

// Limits returns the settings in force.
func (g *Guard) Limits() Limits {
	b := g.ban.Load()
	l := Limits{BanFailures: b.failures, BanWindow: b.window, BanDuration: b.duration, ScanUsers: b.scanUsers}
	if lim := g.lim.Load(); lim != nil {
		l.RatePerSecond, l.Burst = lim.rate, int(lim.burst)
	}
	return l
}

// SetLimits replaces the rate limit and the ban thresholds. A changed
// rate limit starts every source with a full bucket; bans in force and
// the failures counted so far stay (counted against the new thresholds).
func (g *Guard) SetLimits(l Limits) {
	g.ban.Store(&banLimits{failures: l.BanFailures, scanUsers: l.ScanUsers, window: l.BanWindow, duration: l.BanDuration})
	cur := g.lim.Load()
	switch {
	case l.RatePerSecond <= 0:
		g.lim.Store(nil)
	case cur == nil || cur.rate != l.RatePerSecond || int(cur.burst) != l.Burst:
		g.lim.Store(newLimiter(l.RatePerSecond, l.Burst, g.o.MaxBuckets))
	}
}
