package webphone

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// session is one login. The map is keyed by the SHA-256 of the cookie
// value, so the table holds nothing a reader could replay.
type session struct {
	user    string
	ha1     string // the HA1 at login: a password change ends the session
	expires time.Time
	created time.Time
}

// sessions is the bounded table of logins. There is no sweeping goroutine:
// expired sessions are dropped when met and when the table is full.
type sessions struct {
	mu      sync.Mutex
	m       map[[32]byte]session
	max     int
	perUser int
}

func newSessions(max, perUser int) *sessions {
	return &sessions{m: map[[32]byte]session{}, max: max, perUser: perUser}
}

func tokenKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// create stores a session for user and returns its cookie value (256
// random bits, base64url). A user over its limit loses its oldest session;
// a full table loses the expired ones, then the oldest.
func (s *sessions) create(user, ha1 string, expires, now time.Time) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	var mine []([32]byte)
	for k, v := range s.m {
		if v.user == user {
			mine = append(mine, k)
		}
	}
	for len(mine) >= s.perUser {
		oldest := 0
		for i, k := range mine {
			if s.m[k].created.Before(s.m[mine[oldest]].created) {
				oldest = i
			}
		}
		delete(s.m, mine[oldest])
		mine = append(mine[:oldest], mine[oldest+1:]...)
	}
	if len(s.m) >= s.max {
		for k, v := range s.m {
			if !now.Before(v.expires) {
				delete(s.m, k)
			}
		}
	}
	for len(s.m) >= s.max {
		var ok bool
		var oldest [32]byte
		for k, v := range s.m {
			if !ok || v.created.Before(s.m[oldest].created) {
				oldest, ok = k, true
			}
		}
		delete(s.m, oldest)
	}
	s.m[tokenKey(token)] = session{user: user, ha1: ha1, expires: expires, created: now}
	return token, nil
}

// get returns the live session of token.
func (s *sessions) get(token string, now time.Time) (session, bool) {
	if token == "" || len(token) > 128 {
		return session{}, false
	}
	k := tokenKey(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return session{}, false
	}
	if !now.Before(v.expires) {
		delete(s.m, k)
		return session{}, false
	}
	return v, true
}

// drop ends the session of token.
func (s *sessions) drop(token string) {
	k := tokenKey(token)
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// maxLimiterEntries bounds the failure limiter's table.
const maxLimiterEntries = 10000

// failLimiter is a token bucket of failed logins per source network (an
// IPv4 address, an IPv6 /64): burst failures, then one per refill. Only
// failures take tokens, so a user whose credentials are right is never
// slowed. The table is bounded: when full, sources whose bucket has
// refilled are forgotten, and if none has, a new source is refused
// (failures from a flood of addresses cannot grow it).
type failLimiter struct {
	mu     sync.Mutex
	m      map[netip.Addr]bucket
	burst  float64
	refill time.Duration
	max    int
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newFailLimiter(burst int, refill time.Duration, max int) *failLimiter {
	return &failLimiter{m: map[netip.Addr]bucket{}, burst: float64(burst), refill: refill, max: max}
}

// netKey is the address a source is counted under.
func netKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// level returns b's tokens at now.
func (l *failLimiter) level(b bucket, now time.Time) float64 {
	t := b.tokens + float64(now.Sub(b.at))/float64(l.refill)
	return min(t, l.burst)
}

// allowed reports whether ip may try once more.
func (l *failLimiter) allowed(ip netip.Addr, now time.Time) bool {
	k := netKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[k]
	if !ok {
		return len(l.m) < l.max || l.prune(now)
	}
	return l.level(b, now) >= 1
}

// fail takes a token from ip's bucket.
func (l *failLimiter) fail(ip netip.Addr, now time.Time) {
	k := netKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[k]
	if !ok {
		if len(l.m) >= l.max && !l.prune(now) {
			return
		}
		b = bucket{tokens: l.burst, at: now}
	}
	l.m[k] = bucket{tokens: max(l.level(b, now)-1, 0), at: now}
}

// prune forgets the sources whose bucket is full again; it reports
// whether there is room now. Called with mu held.
func (l *failLimiter) prune(now time.Time) bool {
	for k, b := range l.m {
		if l.level(b, now) >= l.burst {
			delete(l.m, k)
		}
	}
	return len(l.m) < l.max
}
