package sipguard

import (
	"hash/maphash"
	"io"
	"net/netip"
	"sync"
)

// connShards spreads the connection table over independent locks.
const connShards = 64

// connTable holds the open stream connections per source (an IPv4 address
// or an IPv6 /64), for the per-source and global caps and for closing a
// source's connections when it is banned. It is bounded by those caps:
// at most MaxConns connections in at most MaxConns sources.
type connTable struct {
	seed   maphash.Seed
	shards [connShards]connShard
}

type connShard struct {
	mu sync.Mutex
	m  map[netip.Addr]map[io.Closer]struct{}
}

func newConnTable() *connTable {
	t := &connTable{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = make(map[netip.Addr]map[io.Closer]struct{})
	}
	return t
}

func (t *connTable) shard(key netip.Addr) *connShard {
	return &t.shards[maphash.Comparable(t.seed, key)%connShards]
}

// add registers c under ip unless the source already holds perIP
// connections (perIP < 0: no limit).
func (t *connTable) add(ip netip.Addr, c io.Closer, perIP int) bool {
	key := sourceKey(ip)
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.m[key]
	if perIP >= 0 && len(set) >= perIP {
		return false
	}
	if set == nil {
		set = make(map[io.Closer]struct{})
		s.m[key] = set
	}
	set[c] = struct{}{}
	return true
}

// remove unregisters c and reports whether it was registered.
func (t *connTable) remove(ip netip.Addr, c io.Closer) bool {
	key := sourceKey(ip)
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.m[key]
	if _, ok := set[c]; !ok {
		return false
	}
	delete(set, c)
	if len(set) == 0 {
		delete(s.m, key)
	}
	return true
}

// of returns the connections of ip's source.
func (t *connTable) of(ip netip.Addr) []io.Closer {
	key := sourceKey(ip)
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]io.Closer, 0, len(s.m[key]))
	for c := range s.m[key] {
		out = append(out, c)
	}
	return out
}

// track registers a stream connection from ip for the per-source and
// global limits and for closing when the source gets banned. It refuses
// banned sources and, unless ip is trusted, sources at MaxConnsPerIP and
// any source while MaxConns connections are open.
func (g *Guard) track(ip netip.Addr, c io.Closer) error {
	if g.Banned(ip) {
		g.c.bannedDropped.Add(1)
		g.c.connsRefused.Add(1)
		return ErrBanned
	}
	trusted := g.Trusted(ip)
	if n := g.c.conns.Add(1); n > int64(g.o.MaxConns) && !trusted {
		g.c.conns.Add(-1)
		g.c.connsRefused.Add(1)
		return ErrTooManyConns
	}
	perIP := g.o.MaxConnsPerIP
	if trusted {
		perIP = -1
	}
	if !g.conns.add(ip, c, perIP) {
		g.c.conns.Add(-1)
		g.c.connsRefused.Add(1)
		return ErrTooManyConns
	}
	return nil
}

func (g *Guard) untrack(ip netip.Addr, c io.Closer) {
	if g.conns.remove(ip, c) {
		g.c.conns.Add(-1)
	}
}
