package registrar

import (
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// shardCount spreads address-of-record locks over independent mutexes so that
// registrations of different users never contend.
const shardCount = 64

// Location is the in-memory location service (RFC 3261 §10.2): the bindings of
// every address-of-record. It is the read path for routing; writes go through
// the Registrar, which persists them before they are applied here.
type Location struct {
	seed   maphash.Seed
	shards [shardCount]locationShard
}

type locationShard struct {
	mu   sync.Mutex
	aors map[string]*record
}

// record holds one AOR's bindings. Its mutex serialises registrations of the
// same AOR from the moment they are computed until they are durable.
type record struct {
	mu       sync.Mutex
	bindings []store.Binding
	dead     bool // removed from the map by prune; writers must fetch a new record
}

// NewLocation returns an empty location service.
func NewLocation() *Location {
	l := &Location{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].aors = make(map[string]*record)
	}
	return l
}

func (l *Location) shard(aor string) *locationShard {
	return &l.shards[maphash.String(l.seed, aor)%shardCount]
}

// lock returns the record of aor, created if needed, with its mutex held.
func (l *Location) lock(aor string) *record {
	for {
		r := l.record(aor, true)
		r.mu.Lock()
		if !r.dead {
			return r
		}
		r.mu.Unlock()
	}
}

// record returns the record of aor, creating it when create is set.
func (l *Location) record(aor string, create bool) *record {
	s := l.shard(aor)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.aors[aor]
	if r == nil && create {
		r = &record{}
		s.aors[aor] = r
	}
	return r
}

// Lookup returns the unexpired bindings of aor, highest q-value first
// (RFC 3261 §16.6 step 1 orders targets by q).
func (l *Location) Lookup(aor string, now time.Time) []store.Binding {
	r := l.record(aor, false)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	out := live(r.bindings, now)
	r.mu.Unlock()
	sortByQ(out)
	return out
}

// All returns every unexpired binding, grouped by AOR in no particular order.
func (l *Location) All(now time.Time) []store.Binding {
	var out []store.Binding
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		recs := make([]*record, 0, len(s.aors))
		for _, r := range s.aors {
			recs = append(recs, r)
		}
		s.mu.Unlock()
		for _, r := range recs {
			r.mu.Lock()
			out = append(out, live(r.bindings, now)...)
			r.mu.Unlock()
		}
	}
	return out
}

// Count returns the number of unexpired bindings and of AORs that have one.
func (l *Location) Count(now time.Time) (bindings, aors int) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for _, r := range s.aors {
			r.mu.Lock()
			n := 0
			for _, b := range r.bindings {
				if b.Expires.After(now) {
					n++
				}
			}
			r.mu.Unlock()
			bindings += n
			if n > 0 {
				aors++
			}
		}
		s.mu.Unlock()
	}
	return bindings, aors
}

// load puts bindings read from the store into memory, skipping expired ones.
func (l *Location) load(bs []store.Binding, now time.Time) int {
	n := 0
	for _, b := range bs {
		if !b.Expires.After(now) {
			continue
		}
		r := l.lock(b.AOR)
		r.bindings = append(r.bindings, b)
		r.mu.Unlock()
		n++
	}
	return n
}

// prune drops expired bindings and empty records from memory.
func (l *Location) prune(now time.Time) int { return l.pruneTelling(now, nil) }

// pruneTelling is prune telling changed, when set, of each AOR that lost
// bindings.
func (l *Location) pruneTelling(now time.Time, changed func(aor string, live int)) int {
	dropped := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for aor, r := range s.aors {
			if !r.mu.TryLock() {
				continue // a registration is in flight; next sweep
			}
			before := len(r.bindings)
			r.bindings = slices.DeleteFunc(r.bindings, func(b store.Binding) bool { return !b.Expires.After(now) })
			dropped += before - len(r.bindings)
			if changed != nil && before != len(r.bindings) {
				changed(aor, len(r.bindings))
			}
			if len(r.bindings) == 0 {
				r.dead = true
				delete(s.aors, aor)
			}
			r.mu.Unlock()
		}
		s.mu.Unlock()
	}
	return dropped
}

func live(bs []store.Binding, now time.Time) []store.Binding {
	out := make([]store.Binding, 0, len(bs))
	for _, b := range bs {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out
}

func sortByQ(bs []store.Binding) {
	slices.SortStableFunc(bs, func(a, b store.Binding) int {
		qa, qb := effectiveQ(a.Q), effectiveQ(b.Q)
		switch {
		case qa > qb:
			return -1
		case qa < qb:
			return 1
		}
		return b.UpdatedAt.Compare(a.UpdatedAt)
	})
}

// effectiveQ treats an absent q-value (-1) as 1.0, the highest preference.
func effectiveQ(q float32) float32 {
	if q < 0 {
		return 1
	}
	return q
}
