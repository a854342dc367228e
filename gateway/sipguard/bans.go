package sipguard

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Bans and the failure counts that lead to them (fail2ban practice).
//
// What counts: sipauth reports a failure only when the source cannot have
// spoofed it (a nonce issued to that address, or a TCP/TLS/WS flow), so a
// forged UDP source address can neither be banned nor make a victim's
// failures count. Sources in Options.Trusted and the addresses the
// Protected function names (trunk targets) are never counted or banned.
//
// Counted per network: an IPv4 address, or the /64 of an IPv6 address (one
// host owns a whole /64 and can pick any address in it). Per network and
// username a failure count bans at BanFailures; a success of that username
// from that network resets only that count, so a phone that registers
// fine behind the same NAT as an attacker does not shield the attacker.
// Per username, failures from all networks are counted too: a username
// with 2×BanFailures failures in the window is under a distributed attack,
// and each network failing on it twice is banned. Per network, the
// distinct usernames that failed (or were probed, Probe) are counted:
// ScanUsers of them ban it as a scanner.
//
// The tables are sharded by a keyed hash, each shard with its own lock and
// a fixed capacity: one packet costs one shard lock and O(1) map work.
// A full shard first drops records older than BanWindow; if it is still
// full, it drops records at random (map order), which can only delay a
// ban, never cause one.

const (
	tableShards = 64 // power of two
	// DefaultMaxTracked bounds the failure records (network, username,
	// pair) kept at once.
	DefaultMaxTracked = 1 << 16
	// DefaultMaxBans bounds the bans held at once.
	DefaultMaxBans = 1 << 16
	// scanMemory is how many distinct usernames a network's record
	// remembers; ScanUsers is capped to it.
	scanMemory = 16
)

// netKey is the unit counted and banned: an IPv4 address or an IPv6 /64.
func netKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// failKey names one failure record: a pair (net and user set), a network
// (user zero, kind netRecord) or a username (net invalid). Usernames are
// chosen by the peer and may be long: they are kept as a keyed 64-bit hash,
// so a record costs the same whatever was sent.
type failKey struct {
	net  netip.Addr
	user uint64
	kind uint8
}

// userHash is the key of a username in the failure table.
func (t *failTable) userHash(user string) uint64 { return maphash.String(t.seed, user) }

const (
	pairRecord uint8 = iota
	netRecord
	userRecord
)

type failRecord struct {
	start int64 // window start, Unix ns
	count int32
	nseen uint8
	seen  [scanMemory]uint32 // hashes of distinct usernames (netRecord)
}

type failShard struct {
	mu sync.Mutex
	m  map[failKey]*failRecord
	_  [40]byte // keep neighbouring locks off one cache line
}

type failTable struct {
	seed     maphash.Seed
	perShard int
	shards   [tableShards]failShard
}

func (t *failTable) init(max int) {
	t.seed = maphash.MakeSeed()
	t.perShard = (max + tableShards - 1) / tableShards
	for i := range t.shards {
		t.shards[i].m = make(map[failKey]*failRecord)
	}
}

func (t *failTable) shard(k failKey) *failShard {
	return &t.shards[maphash.Comparable(t.seed, k)&(tableShards-1)]
}

// add counts one event for k at now within window and returns the count;
// for a network record, user joins the distinct usernames and the number
// of them is returned as distinct.
func (t *failTable) add(k failKey, user string, now, window int64) (count, distinct int) {
	sh := t.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.m[k]
	if r == nil {
		if len(sh.m) >= t.perShard {
			sh.makeRoom(now, window, t.perShard)
		}
		r = &failRecord{start: now}
		sh.m[k] = r
	} else if window > 0 && now-r.start > window {
		*r = failRecord{start: now}
	}
	r.count++
	if k.kind == netRecord {
		h := uint32(t.userHash(user))
		if !slices.Contains(r.seen[:r.nseen], h) && int(r.nseen) < scanMemory {
			r.seen[r.nseen] = h
			r.nseen++
		}
	}
	return int(r.count), int(r.nseen)
}

func (t *failTable) remove(k failKey) {
	sh := t.shard(k)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// removeNet drops every record of network n (Unban). It visits every
// shard: an operator action, not a per-packet one.
func (t *failTable) removeNet(n netip.Addr) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k := range sh.m {
			if k.net == n {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// makeRoom drops expired records, then, if still full, a quarter of the
// shard. Called with mu held.
func (sh *failShard) makeRoom(now, window int64, limit int) {
	for k, r := range sh.m {
		if window <= 0 || now-r.start > window {
			delete(sh.m, k)
		}
	}
	if len(sh.m) < limit {
		return
	}
	n := max(limit/4, 1)
	for k := range sh.m {
		delete(sh.m, k)
		if n--; n == 0 {
			break
		}
	}
}

// size returns the number of failure records (for tests).
func (t *failTable) size() int {
	n := 0
	for i := range t.shards {
		t.shards[i].mu.Lock()
		n += len(t.shards[i].m)
		t.shards[i].mu.Unlock()
	}
	return n
}

type banShard struct {
	mu sync.Mutex
	m  map[netip.Addr]Ban
	_  [48]byte
}

// banTable holds the bans by network, sharded like failTable; n is the
// total, read without a lock on every packet.
type banTable struct {
	seed     maphash.Seed
	perShard int
	n        atomic.Int32
	shards   [tableShards]banShard
}

func (t *banTable) init(max int) {
	t.seed = maphash.MakeSeed()
	t.perShard = (max + tableShards - 1) / tableShards
	for i := range t.shards {
		t.shards[i].m = make(map[netip.Addr]Ban)
	}
}

func (t *banTable) shard(n netip.Addr) *banShard {
	return &t.shards[maphash.Comparable(t.seed, n)&(tableShards-1)]
}

// put stores b; a full shard drops expired bans, then the one ending
// soonest.
func (t *banTable) put(b Ban, now time.Time) {
	sh := t.shard(b.IP)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[b.IP]; !ok && len(sh.m) >= t.perShard {
		var soonest netip.Addr
		for k, v := range sh.m {
			if !now.Before(v.Until) {
				delete(sh.m, k)
				t.n.Add(-1)
			} else if !soonest.IsValid() || v.Until.Before(sh.m[soonest].Until) {
				soonest = k
			}
		}
		if len(sh.m) >= t.perShard && soonest.IsValid() {
			delete(sh.m, soonest)
			t.n.Add(-1)
		}
	}
	if _, ok := sh.m[b.IP]; !ok {
		t.n.Add(1)
	}
	sh.m[b.IP] = b
}

// get returns the ban in force on network n, dropping an expired one.
func (t *banTable) get(n netip.Addr, now time.Time) (Ban, bool) {
	sh := t.shard(n)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.m[n]
	if ok && !now.Before(b.Until) {
		delete(sh.m, n)
		t.n.Add(-1)
		return Ban{}, false
	}
	return b, ok
}

func (t *banTable) remove(n netip.Addr) bool {
	sh := t.shard(n)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.m[n]
	if ok {
		delete(sh.m, n)
		t.n.Add(-1)
	}
	return ok
}

// list returns the bans in force, dropping expired ones.
func (t *banTable) list(now time.Time) []Ban {
	var out []Ban
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, b := range sh.m {
			if !now.Before(b.Until) {
				delete(sh.m, k)
				t.n.Add(-1)
				continue
			}
			out = append(out, b)
		}
		sh.mu.Unlock()
	}
	return out
}

// SetProtected installs f (nil removes it): addresses for which it returns
// true are never counted or banned, like Options.Trusted. The gateway
// passes the current addresses of its trunk targets, known only once DNS
// has resolved them. f is called only when a failure is counted or a ban
// is about to be made, never per packet.
func (g *Guard) SetProtected(f func(netip.Addr) bool) {
	if f == nil {
		g.protected.Store(nil)
		return
	}
	g.protected.Store(&f)
}

// neverBan reports whether ip is exempt from counting and banning.
func (g *Guard) neverBan(ip netip.Addr) bool {
	if g.Trusted(ip) {
		return true
	}
	if f := g.protected.Load(); f != nil && (*f)(ip) {
		return true
	}
	return false
}

// AuthFailed records a failed digest authentication of user from ip, as
// sipauth reports it: only failures the source cannot have spoofed. See
// the comment at the top of bans.go for what bans.
func (g *Guard) AuthFailed(ip netip.Addr, user string) {
	ip = ip.Unmap()
	b := g.ban.Load()
	if b.failures <= 0 || !ip.IsValid() || g.neverBan(ip) {
		return
	}
	now, window := g.now().UnixNano(), int64(b.window)
	n, u := netKey(ip), g.fails.userHash(user)
	pair, _ := g.fails.add(failKey{net: n, user: u, kind: pairRecord}, "", now, window)
	_, distinct := g.fails.add(failKey{net: n, kind: netRecord}, user, now, window)
	perUser, _ := g.fails.add(failKey{user: u, kind: userRecord}, "", now, window)
	switch {
	case pair >= b.failures:
		g.Ban(ip, b.duration, "auth failures")
	case b.scanUsers > 0 && distinct >= min(b.scanUsers, scanMemory):
		g.Ban(ip, b.duration, "scanner: many usernames failed")
	case perUser >= 2*b.failures && pair >= 2:
		g.Ban(ip, b.duration, "auth failures on a username under attack")
	}
}

// AuthSucceeded resets the failure count of user from ip's network; the
// counts of other usernames, of the network as a whole and of user from
// other networks stay.
func (g *Guard) AuthSucceeded(ip netip.Addr, user string) {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return
	}
	g.fails.remove(failKey{net: netKey(ip), user: g.fails.userHash(user), kind: pairRecord})
}

// Probe records that ip asked about username name that does not exist
// (a REGISTER or INVITE for an unknown user or extension), when ip cannot
// have spoofed it (a stream flow). ScanUsers distinct names, failed or
// probed, within BanWindow ban ip as a scanner.
func (g *Guard) Probe(ip netip.Addr, name string) {
	ip = ip.Unmap()
	b := g.ban.Load()
	if b.failures <= 0 || b.scanUsers <= 0 || !ip.IsValid() || g.neverBan(ip) {
		return
	}
	_, distinct := g.fails.add(failKey{net: netKey(ip), kind: netRecord}, name, g.now().UnixNano(), int64(b.window))
	if distinct >= min(b.scanUsers, scanMemory) {
		g.Ban(ip, b.duration, "scanner: many unknown usernames")
	}
}

// Ban bans ip's network (the address, or its IPv6 /64) for d (d <= 0: 24
// hours) and closes its open stream connections. It logs at warn and calls
// Options.OnBan. Trusted and protected sources are not banned.
func (g *Guard) Ban(ip netip.Addr, d time.Duration, reason string) {
	ip = ip.Unmap()
	if !ip.IsValid() || g.neverBan(ip) {
		return
	}
	if d <= 0 {
		d = 24 * time.Hour
	}
	n := netKey(ip)
	b := Ban{IP: n, Reason: reason, Until: g.now().Add(d)}
	g.bans.put(b, g.now())
	victims := g.conns.of(n) // the connection table keys IPv6 by /64 too
	g.c.bans.Add(1)
	g.log.Warn("banned source", "ip", n, "reason", reason, "until", b.Until)
	for _, c := range victims {
		_ = c.Close()
	}
	if g.o.OnBan != nil {
		g.o.OnBan(b)
	}
}

// Restore puts back a ban read from the store (at start, on reload): like
// Ban, but without OnBan (it is stored already) and logged at debug.
func (g *Guard) Restore(ip netip.Addr, d time.Duration, reason string) {
	ip = ip.Unmap()
	if !ip.IsValid() || d <= 0 || g.neverBan(ip) {
		return
	}
	now := g.now()
	g.bans.put(Ban{IP: netKey(ip), Reason: reason, Until: now.Add(d)}, now)
	g.log.Debug("ban restored", "ip", netKey(ip), "reason", reason)
}

// Unban lifts the ban on ip's network and forgets its failures; it reports
// whether there was a ban.
func (g *Guard) Unban(ip netip.Addr) bool {
	n := netKey(ip)
	g.fails.removeNet(n)
	return g.bans.remove(n)
}

// Banned reports whether ip's network is banned now.
func (g *Guard) Banned(ip netip.Addr) bool {
	if g.bans.n.Load() == 0 {
		return false
	}
	_, ok := g.bans.get(netKey(ip), g.now())
	return ok
}

// Bans lists the bans in force, ordered by IP.
func (g *Guard) Bans() []Ban {
	out := g.bans.list(g.now())
	slices.SortFunc(out, func(a, b Ban) int { return a.IP.Compare(b.IP) })
	return out
}
