package accounts

import (
	"sync"
	"time"
)

// Limiter counts login failures per key (a source address, an account
// name) in a sliding window; a key with Failures failures within Window
// is refused until the oldest of them leaves the window. Names are
// counted whether or not such an account exists, so the refusal says
// nothing about which accounts exist. Safe for concurrent use.
type Limiter struct {
	failures int
	window   time.Duration
	now      func() time.Time

	mu   sync.Mutex
	keys map[string][]time.Time // failure times, oldest first
}

// maxLimiterKeys bounds the memory a flood of distinct names or sources
// can take; past it, keys whose failures are all out of the window go.
const maxLimiterKeys = 100000

// NewLimiter returns a limiter refusing a key after failures failures
// within window; failures <= 0 turns it off. now nil means time.Now.
func NewLimiter(failures int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{failures: failures, window: window, now: now, keys: map[string][]time.Time{}}
}

// Check returns how long to wait before any of keys may try again; 0
// means all may try now.
func (l *Limiter) Check(keys ...string) time.Duration {
	if l == nil || l.failures <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		ts := l.prune(k, now)
		if len(ts) >= l.failures {
			if w := ts[len(ts)-l.failures].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait
}

// Attempt checks keys like Check and, when they may try, counts the
// attempt as a failure of each at once, so that attempts still being
// checked (a password hash takes a while) count against the limit too; a
// success takes it back with Forgive. It returns the attempt's time, or
// how long to wait.
func (l *Limiter) Attempt(keys ...string) (time.Time, time.Duration) {
	if l == nil || l.failures <= 0 {
		return time.Time{}, 0
	}
	if wait := l.Check(keys...); wait > 0 {
		return time.Time{}, wait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	// Checked again under the lock a Fail would take: two attempts racing
	// past Check cannot both take the last place.
	for _, k := range keys {
		if ts := l.prune(k, now); len(ts) >= l.failures {
			return time.Time{}, ts[len(ts)-l.failures].Add(l.window).Sub(now)
		}
	}
	l.failLocked(now, keys)
	return now, 0
}

// Forgive takes back the attempt made at at for key src, and forgets the
// failures of key reset (an account that logged in).
func (l *Limiter) Forgive(at time.Time, src, reset string) {
	if l == nil || l.failures <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.keys[src]
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Equal(at) {
			ts = append(ts[:i:i], ts[i+1:]...)
			break
		}
	}
	if len(ts) == 0 {
		delete(l.keys, src)
	} else {
		l.keys[src] = ts
	}
	delete(l.keys, reset)
}

// Fail records a failure for each of keys.
func (l *Limiter) Fail(keys ...string) {
	if l == nil || l.failures <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failLocked(l.now(), keys)
}

// failLocked records a failure at now for each of keys; mu is held.
func (l *Limiter) failLocked(now time.Time, keys []string) {
	if len(l.keys) >= maxLimiterKeys {
		for k := range l.keys {
			l.prune(k, now)
		}
	}
	for _, k := range keys {
		if len(l.keys) >= maxLimiterKeys {
			return // still full of live keys: the others stay limited
		}
		ts := append(l.prune(k, now), now)
		if len(ts) > l.failures {
			ts = ts[len(ts)-l.failures:]
		}
		l.keys[k] = ts
	}
}

// Reset forgets the failures of key (an account that logged in).
func (l *Limiter) Reset(key string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

// prune drops k's failures older than the window; the caller holds mu.
func (l *Limiter) prune(k string, now time.Time) []time.Time {
	ts := l.keys[k]
	i := 0
	for i < len(ts) && !ts[i].Add(l.window).After(now) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.keys, k)
		return nil
	}
	l.keys[k] = ts
	return ts
}
