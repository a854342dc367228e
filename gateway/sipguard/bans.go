package sipguard

import (
	"net/netip"
	"slices"
	"time"
)

type failRecord struct {
	start time.Time
	count int
}

// AuthFailed records a failed digest authentication from ip (reported by
// the registrar). BanFailures failures within BanWindow ban ip for
// BanDuration. Trusted sources are never banned.
func (g *Guard) AuthFailed(ip netip.Addr) {
	ip = ip.Unmap()
	if g.o.BanFailures <= 0 || !ip.IsValid() || g.Trusted(ip) {
		return
	}
	now := g.now()
	g.mu.Lock()
	r := g.fails[ip]
	if r.count == 0 || (g.o.BanWindow > 0 && now.Sub(r.start) > g.o.BanWindow) {
		r = failRecord{start: now}
	}
	r.count++
	ban := r.count >= g.o.BanFailures
	if ban {
		delete(g.fails, ip)
	} else {
		g.fails[ip] = r
	}
	// Keep the failure table bounded: drop stale records when it grows.
	if len(g.fails) > 100000 {
		for k, v := range g.fails {
			if g.o.BanWindow <= 0 || now.Sub(v.start) > g.o.BanWindow {
				delete(g.fails, k)
			}
		}
	}
	g.mu.Unlock()
	if ban {
		g.Ban(ip, g.o.BanDuration, "auth failures")
	}
}

// AuthSucceeded resets the failure counter of ip.
func (g *Guard) AuthSucceeded(ip netip.Addr) {
	ip = ip.Unmap()
	g.mu.Lock()
	delete(g.fails, ip)
	g.mu.Unlock()
}

// Ban bans ip for d (d <= 0: 24 hours) and closes its open stream
// connections. It logs at warn and calls Options.OnBan. Trusted sources
// are not banned.
func (g *Guard) Ban(ip netip.Addr, d time.Duration, reason string) {
	ip = ip.Unmap()
	if !ip.IsValid() || g.Trusted(ip) {
		return
	}
	if d <= 0 {
		d = 24 * time.Hour
	}
	b := Ban{IP: ip, Reason: reason, Until: g.now().Add(d)}
	g.mu.Lock()
	g.bans[ip] = b
	g.nbans.Store(int32(len(g.bans)))
	g.mu.Unlock()
	victims := g.conns.of(ip)
	g.c.bans.Add(1)
	g.log.Warn("banned source", "ip", ip, "reason", reason, "until", b.Until)
	for _, c := range victims {
		_ = c.Close()
	}
	if g.o.OnBan != nil {
		g.o.OnBan(b)
	}
}

// Unban lifts a ban and reports whether there was one.
func (g *Guard) Unban(ip netip.Addr) bool {
	ip = ip.Unmap()
	g.mu.Lock()
	_, ok := g.bans[ip]
	delete(g.bans, ip)
	delete(g.fails, ip)
	g.nbans.Store(int32(len(g.bans)))
	g.mu.Unlock()
	return ok
}

// Banned reports whether ip is banned now.
func (g *Guard) Banned(ip netip.Addr) bool {
	if g.nbans.Load() == 0 {
		return false
	}
	ip = ip.Unmap()
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.bans[ip]
	if !ok {
		return false
	}
	if !g.now().Before(b.Until) {
		delete(g.bans, ip)
		g.nbans.Store(int32(len(g.bans)))
		return false
	}
	return true
}

// Bans lists the bans in force, ordered by IP.
func (g *Guard) Bans() []Ban {
	now := g.now()
	g.mu.Lock()
	out := make([]Ban, 0, len(g.bans))
	for ip, b := range g.bans {
		if !now.Before(b.Until) {
			delete(g.bans, ip)
			continue
		}
		out = append(out, b)
	}
	g.nbans.Store(int32(len(g.bans)))
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b Ban) int { return a.IP.Compare(b.IP) })
	return out
}
