package dnssrv

import (
	"errors"
	"sync"
	"time"
)

// HealthOptions configures a Health.
type HealthOptions struct {
	// MaxFails is how many failures in a row (transport error, a
	// failover status without Retry-After, a failed probe) mark a target
	// down. Default: 1. A request that only got no response in time (a
	// lost INVITE, a PBX slow to send 100) is not proof of death: it makes
	// the target suspect, and marks it down only when a probe confirms it
	// (TimedOut, Probed) or after max(MaxFails, 2) in a row.
	MaxFails int
	// UpAfter is how many probes in a row a down target must answer to
	// come back up (Kamailio dispatcher's ds_inactive_threshold).
	// Default: 1.
	UpAfter int
	// DownFor, when more than 0, brings a down target back without a
	// probe after this long; for when probing is off. Default: 0 (only a
	// probe or an answered request brings it back).
	DownFor time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Health tracks whether each target is up, kept apart from resolution as
// in CoreDNS's forward plugin: requests and probes report outcomes, Order
// puts the targets that are up first. It never removes a target: when all
// are down, all are tried in their order.
type Health struct {
	o  HealthOptions
	mu sync.Mutex
	m  map[string]*targetState
}

type targetState struct {
	fails     int
	down      bool
	since     time.Time // of the last change between up and down
	holdUntil time.Time // 503 Retry-After: no requests or probes before
	lastErr   string
	okProbes  int
	suspect   bool // a request timed out: a probe is to confirm
	probing   bool
	lastProbe time.Time
	probeRTT  time.Duration
	requests  uint64 // outcomes reported, for metrics
	failures  uint64
}

// State is a target's health as reported.
type State string

// States of a target.
const (
	StateUnknown State = "unknown" // nothing sent to it yet
	StateUp      State = "up"
	StateDown    State = "down"
)

// Status is a target's health, for the CLI, metrics and the admin API.
type Status struct {
	State      State         `json:"state"`
	Fails      int           `json:"fails"`
	Since      time.Time     `json:"since,omitzero"`
	RetryAfter time.Time     `json:"retry_after,omitzero"`
	LastError  string        `json:"last_error,omitempty"`
	LastProbe  time.Time     `json:"last_probe,omitzero"`
	ProbeRTT   time.Duration `json:"probe_rtt_ns,omitempty"`
	Probing    bool          `json:"probing,omitempty"`
	Suspect    bool          `json:"suspect,omitempty"` // timed out, up until a probe confirms
	Requests   uint64        `json:"requests"`
	Failures   uint64        `json:"failures"`
}

// NewHealth returns an empty tracker: every target starts unknown, which
// counts as up.
func NewHealth(o HealthOptions) *Health {
	if o.MaxFails <= 0 {
		o.MaxFails = 1
	}
	if o.UpAfter <= 0 {
		o.UpAfter = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Health{o: o, m: map[string]*targetState{}}
}

// state returns the entry for key, creating it. Called with mu held.
func (h *Health) state(key string) *targetState {
	s := h.m[key]
	if s == nil {
		s = &targetState{}
		h.m[key] = s
	}
	return s
}

// Failed records a transport error or timeout on t (RFC 3263 §4.3). After
// MaxFails in a row the target is down. An error wrapping
// ErrFailoverTimeout (no response in time) counts as TimedOut.
func (h *Health) Failed(t Target, err error) {
	if errors.Is(err, ErrFailoverTimeout) {
		h.TimedOut(t, err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(t.Key())
	s.requests++
	s.failures++
	h.fail(s, err)
}

// fail counts a failure. Called with mu held.
func (h *Health) fail(s *targetState, err error) {
	s.fails++
	s.okProbes = 0
	if err != nil {
		s.lastErr = err.Error()
	}
	if !s.down && s.fails >= h.o.MaxFails {
		s.down, s.since, s.suspect = true, h.o.Now(), false
	}
}

// minTimeouts is how many timeouts in a row mark a target down without a
// probe confirming it.
const minTimeouts = 2

// TimedOut records that a request to t got no response within the
// failover timeout. One timeout is not death (a lost datagram, a slow
// PBX; RFC 3263 §4.3 tries the next target, but marking it down is ours):
// the target becomes suspect and stays up until a probe fails too, or
// max(MaxFails, 2) requests in a row time out. It reports whether t is
// suspect and up, so that the caller may probe it.
func (h *Health) TimedOut(t Target, err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(t.Key())
	s.requests++
	s.failures++
	s.fails++
	s.okProbes = 0
	if err != nil {
		s.lastErr = err.Error()
	}
	if !s.down && s.fails >= max(h.o.MaxFails, minTimeouts) {
		s.down, s.since, s.suspect = true, h.o.Now(), false
		return false
	}
	if !s.down {
		s.suspect = true
	}
	return s.suspect
}

// Alive records that t answered a request late (on a branch given up
// for the next target): it is up, though the request failed over.
func (h *Health) Alive(t Target) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up(h.state(t.Key()))
}

// Overloaded records a 503 from t. With a Retry-After the target is down
// at once and neither requests nor probes go to it before that time has
// passed (RFC 3261 §21.5.4); without one it counts as a failure.
func (h *Health) Overloaded(t Target, retryAfter time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(t.Key())
	s.requests++
	s.failures++
	if retryAfter <= 0 {
		h.fail(s, err)
		return
	}
	s.fails++
	s.okProbes = 0
	if err != nil {
		s.lastErr = err.Error()
	}
	now := h.o.Now()
	s.holdUntil = now.Add(retryAfter)
	if !s.down {
		s.down, s.since = true, now
	}
}

// Succeeded records that t answered a request: it is up.
func (h *Health) Succeeded(t Target) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(t.Key())
	s.requests++
	h.up(s)
}

func (h *Health) up(s *targetState) {
	s.fails, s.okProbes, s.suspect = 0, 0, false
	s.holdUntil = time.Time{}
	if s.down {
		s.down, s.since = false, h.o.Now()
	}
}

// Probed records the outcome of a probe of t: UpAfter answers in a row
// bring a down target back; a failure counts like Failed.
func (h *Health) Probed(t Target, rtt time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(t.Key())
	s.lastProbe, s.probeRTT = h.o.Now(), rtt
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Code == 503 && se.RetryAfter > 0 {
			s.holdUntil = h.o.Now().Add(se.RetryAfter)
		}
		confirmed := s.suspect
		h.fail(s, err)
		if confirmed && !s.down {
			// The probe confirms the timeout: down.
			s.down, s.since = true, h.o.Now()
		}
		s.suspect = false
		return
	}
	s.okProbes++
	if !s.down || s.okProbes >= h.o.UpAfter {
		h.up(s)
	}
}

// Up reports whether t may be used first: not known to be down.
func (h *Health) Up(t Target) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.usable(h.m[t.Key()], h.o.Now())
}

// usable is Up for a state. Called with mu held.
func (h *Health) usable(s *targetState, now time.Time) bool {
	if s == nil || !s.down {
		return true
	}
	if h.o.DownFor > 0 && now.Sub(s.since) >= h.o.DownFor && !now.Before(s.holdUntil) {
		h.up(s)
		return true
	}
	return false
}

// Order returns ts with the targets that are up first and the rest after,
// each group in its original order. Nothing is removed: when every target
// is down, all are tried in order.
func (h *Health) Order(ts []Target) []Target {
	out := make([]Target, 0, len(ts))
	var down []Target
	now := h.o.Now()
	h.mu.Lock()
	for _, t := range ts {
		if h.usable(h.m[t.Key()], now) {
			out = append(out, t)
		} else {
			down = append(down, t)
		}
	}
	h.mu.Unlock()
	return append(out, down...)
}

// Status returns t's health.
func (h *Health) Status(t Target) Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.m[t.Key()]
	if s == nil {
		return Status{State: StateUnknown}
	}
	h.usable(s, h.o.Now())
	st := Status{
		State: StateUp, Fails: s.fails, Since: s.since, RetryAfter: s.holdUntil,
		LastError: s.lastErr, LastProbe: s.lastProbe, ProbeRTT: s.probeRTT, Probing: s.probing,
		Requests: s.requests, Failures: s.failures, Suspect: s.suspect,
	}
	if s.down {
		st.State = StateDown
	} else if s.requests == 0 && s.lastProbe.IsZero() {
		st.State = StateUnknown
	}
	return st
}

// beginProbe reports whether t should be probed now (down, or all when
// probeUp, not held by Retry-After, no probe in flight) and marks a probe
// in flight. endProbe must follow.
func (h *Health) beginProbe(t Target, probeUp bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(t.Key())
	now := h.o.Now()
	if s.probing || now.Before(s.holdUntil) || !probeUp && !s.down && !s.suspect {
		return false
	}
	s.probing = true
	return true
}

func (h *Health) endProbe(t Target) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.m[t.Key()]; s != nil {
		s.probing = false
	}
}

// retain forgets targets not in keep (gone from DNS), except those with a
// probe in flight.
func (h *Health) retain(keep map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, s := range h.m {
		if !keep[k] && !s.probing {
			delete(h.m, k)
		}
	}
}
