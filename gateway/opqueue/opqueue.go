// Package opqueue keeps the operator queues the gateway hosts (issue 14,
// seed 004): calls to a queue's number wait in line while the available
// operators of its group ring; each waiting call has its wait time and
// position. The B2BUA places and cancels the ringing (gateway/b2bua's
// queue.go); this package decides whom to ring, when a round ends and
// when a call overflows, on an injectable clock.
package opqueue

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"time"
)

// ErrFull: the queue holds MaxWaiting calls already (a flood of calls
// does not grow it without bound).
var ErrFull = errors.New("the queue is full")

// ErrNoQueue: the number is no queue's.
var ErrNoQueue = errors.New("no queue has this number")

// Strategies.
const (
	// All: the call first in line rings every available operator.
	All = "all"
	// LongestIdle: each call in line rings one operator, the one idle
	// longest for the first call, the next one for the second...
	LongestIdle = "longest_idle"
)

// Outcomes a call leaves its queue with (Event.Why).
const (
	Cancelled  = "cancelled"
	Cleared    = "cleared"
	Overflowed = "overflowed"
	Deflected  = "deflected"
	Failed     = "failed"
)

// Event types.
const (
	EventJoined     = "joined"
	EventLeft       = "left"
	EventAnswered   = "answered"
	EventOverflowed = "overflowed"
)

// Config is one queue.
type Config struct {
	Number        string
	Group         string
	Ring          time.Duration // one round's ringing
	OverflowAfter time.Duration // 0: never
	OverflowTo    string        // "": refused when the wait ends
	Strategy      string        // All or LongestIdle
	MaxWaiting    int           // calls in line at most; 0: 50
}

// DefaultMaxWaiting is Config.MaxWaiting's default.
const DefaultMaxWaiting = 50

// Operator is one operator who may ring now.
type Operator struct {
	Name string // the account
	User string // the gateway user whose devices ring
}

// Roster returns the operators of group who may ring now: logged in,
// available (not paused), with a gateway device, not busy.
type Roster func(group string) []Operator

// Event is a change of a queue, for the attendant event stream.
type Event struct {
	Type       string        `json:"type"` // joined, left, answered, overflowed
	Queue      string        `json:"queue"`
	Group      string        `json:"group"` // the queue's operator group: who may see the event
	Call       string        `json:"call"`
	Caller     string        `json:"caller"`
	Operator   string        `json:"operator,omitempty"` // answered by
	Why        string        `json:"why,omitempty"`      // left: cancelled, cleared, deflected, failed
	OverflowTo string        `json:"overflow_to,omitempty"`
	Position   int           `json:"position,omitempty"` // joined
	Waited     time.Duration `json:"-"`
	WaitSecs   float64       `json:"wait_seconds"`
}

// Options configure a Manager.
type Options struct {
	Queues []Config
	Roster Roster
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnEvent is told of every change; it must not block. Optional.
	OnEvent func(Event)
	// RosterTTL keeps a group's roster this long for every call waiting
	// (one store read per group per TTL, however many calls wait); 0
	// reads it at every step.
	RosterTTL time.Duration
}

// Manager keeps every queue's waiting calls. Safe for concurrent use.
type Manager struct {
	o Options

	mu     sync.Mutex
	queues map[string]*queue
	idle   map[string]time.Time // user: when it last took a queue call
	names  map[string]string    // user: operator, as the roster said
	rmu    sync.Mutex
	rcache map[string]rosterAt // group: its last roster
}

type rosterAt struct {
	at  time.Time
	ops []Operator
}

type queue struct {
	cfg   Config
	waits []*Wait
}

// Wait is one call waiting in a queue.
type Wait struct {
	m      *Manager
	q      *queue
	ref    string
	caller string
	joined time.Time
	round  time.Time      // when the current round's first ring went out
	tried  []string       // users rung this round
	ring   []string       // users ringing now
	rung   map[string]int // rounds each user was rung in for this call
	gone   bool
}

// New returns a Manager for o.Queues.
func New(o Options) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manager{o: o, queues: map[string]*queue{}, idle: map[string]time.Time{}, names: map[string]string{},
		rcache: map[string]rosterAt{}}
	for _, c := range o.Queues {
		if c.Strategy == "" {
			c.Strategy = All
		}
		if c.MaxWaiting <= 0 {
			c.MaxWaiting = DefaultMaxWaiting
		}
		m.queues[c.Number] = &queue{cfg: c}
	}
	return m
}

// IsQueue reports whether number is a queue's number.
func (m *Manager) IsQueue(number string) bool {
	_, ok := m.queues[number] // set once in New
	return ok
}

// Join puts call ref from caller at the end of number's line: ErrNoQueue,
// ErrFull.
func (m *Manager) Join(number, ref, caller string) (*Wait, error) {
	q, ok := m.queues[number]
	if !ok {
		return nil, ErrNoQueue
	}
	m.mu.Lock()
	if len(q.waits) >= q.cfg.MaxWaiting {
		m.mu.Unlock()
		return nil, ErrFull
	}
	w := &Wait{m: m, q: q, ref: ref, caller: caller, joined: m.o.Now(), rung: map[string]int{}}
	q.waits = append(q.waits, w)
	ev := Event{Type: EventJoined, Queue: number, Group: q.cfg.Group, Call: ref, Caller: caller, Position: len(q.waits)}
	m.mu.Unlock()
	m.emit(ev)
	return w, nil
}

func (m *Manager) emit(ev Event) {
	ev.WaitSecs = ev.Waited.Seconds()
	if m.o.OnEvent != nil {
		m.o.OnEvent(ev)
	}
}

// Step is what a waiting call does now.
type Step struct {
	Ring       []string // users to ring now
	EndRound   bool     // cancel the round's ringing first
	Overflow   bool     // leave the queue for OverflowTo ("" : refuse)
	OverflowTo string
}

// Next says what w does now, given the users rung this round (tried)
// and those still ringing.
func (w *Wait) Next(tried, ringing []string) Step {
	m := w.m
	ops := m.roster(w.q.cfg.Group) // outside m.mu: it may read a store
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range ops {
		m.names[o.User] = o.Name
	}
	now := m.o.Now()
	cfg := w.q.cfg
	w.tried, w.ring = slices.Clone(tried), slices.Clone(ringing)
	if cfg.OverflowAfter > 0 && now.Sub(w.joined) >= cfg.OverflowAfter {
		w.ring = nil
		return Step{Overflow: true, OverflowTo: cfg.OverflowTo}
	}
	var st Step
	if len(w.tried) > 0 && now.Sub(w.round) >= cfg.Ring {
		st.EndRound = true
		w.tried, w.ring = nil, nil
	}
	st.Ring = m.pick(w, ops)
	if len(st.Ring) > 0 {
		if len(w.tried) == 0 {
			w.round = now
		}
		w.tried = append(w.tried, st.Ring...)
		w.ring = append(w.ring, st.Ring...)
		for _, u := range st.Ring {
			w.rung[u]++
		}
	}
	return st
}

// pick chooses the operators w rings now, under m.mu.
func (m *Manager) pick(w *Wait, ops []Operator) []string {
	pos := slices.Index(w.q.waits, w)
	if pos < 0 {
		return nil
	}
	claimed := map[string]bool{}
	for _, q := range m.queues {
		for _, o := range q.waits {
			if o == w {
				continue
			}
			for _, u := range o.ring {
				claimed[u] = true
			}
		}
	}
	var free []Operator
	for _, o := range ops {
		if o.User != "" && !claimed[o.User] && !slices.Contains(w.tried, o.User) && !slices.ContainsFunc(free, func(f Operator) bool { return f.User == o.User }) {
			free = append(free, o)
		}
	}
	switch w.q.cfg.Strategy {
	case LongestIdle:
		if len(w.ring) > 0 {
			return nil // one at a time
		}
		// Those this call rang least first (a round nobody answered
		// moves on to the next operator), then the longest idle.
		slices.SortStableFunc(free, func(a, b Operator) int {
			if c := cmp.Compare(w.rung[a.User], w.rung[b.User]); c != 0 {
				return c
			}
			if c := m.idle[a.User].Compare(m.idle[b.User]); c != 0 {
				return c
			}
			return cmp.Compare(a.User, b.User)
		})
		// The calls ahead that ring nobody take the operators first.
		ahead := 0
		for _, o := range w.q.waits[:pos] {
			if len(o.ring) == 0 {
				ahead++
			}
		}
		if ahead >= len(free) {
			return nil
		}
		return []string{free[ahead].User}
	default:
		if pos != 0 {
			return nil // the call first in line rings everyone
		}
		out := make([]string, len(free))
		for i, o := range free {
			out[i] = o.User
		}
		return out
	}
}

// Answered: user took the call; it leaves the queue.
func (w *Wait) Answered(user string) {
	m := w.m
	m.mu.Lock()
	if w.gone {
		m.mu.Unlock()
		return
	}
	now := m.o.Now()
	m.idle[user] = now
	ev := Event{Type: EventAnswered, Queue: w.q.cfg.Number, Group: w.q.cfg.Group, Call: w.ref, Caller: w.caller, Operator: m.names[user], Waited: now.Sub(w.joined)}
	if ev.Operator == "" {
		ev.Operator = user
	}
	w.leaveLocked()
	m.mu.Unlock()
	m.emit(ev)
}

// Leave: the call left the queue unanswered, why says how.
func (w *Wait) Leave(why string) {
	m := w.m
	m.mu.Lock()
	if w.gone {
		m.mu.Unlock()
		return
	}
	ev := Event{Type: EventLeft, Queue: w.q.cfg.Number, Group: w.q.cfg.Group, Call: w.ref, Caller: w.caller, Why: why, Waited: m.o.Now().Sub(w.joined)}
	if why == Overflowed {
		ev.Type, ev.Why, ev.OverflowTo = EventOverflowed, "", w.q.cfg.OverflowTo
	}
	w.leaveLocked()
	m.mu.Unlock()
	m.emit(ev)
}

func (w *Wait) leaveLocked() {
	w.gone = true
	w.q.waits = slices.DeleteFunc(w.q.waits, func(o *Wait) bool { return o == w })
}

// Waiting is one waiting call as the API shows it.
type Waiting struct {
	Call     string   `json:"call"`
	Caller   string   `json:"caller"`
	Wait     float64  `json:"wait_seconds"`
	Position int      `json:"position"`
	Ringing  []string `json:"ringing"` // operators
}

// View is one queue as the API shows it.
type View struct {
	Config
	Waiting []Waiting
}

// Views returns every queue, by number, with its calls in line.
func (m *Manager) Views() []View {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.Now()
	out := make([]View, 0, len(m.queues))
	for _, q := range m.queues {
		v := View{Config: q.cfg, Waiting: []Waiting{}}
		for i, w := range q.waits {
			ring := make([]string, 0, len(w.ring))
			for _, u := range w.ring {
				n := m.names[u]
				if n == "" {
					n = u
				}
				ring = append(ring, n)
			}
			v.Waiting = append(v.Waiting, Waiting{Call: w.ref, Caller: w.caller, Wait: now.Sub(w.joined).Seconds(), Position: i + 1, Ringing: ring})
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b View) int { return cmp.Compare(a.Number, b.Number) })
	return out
}

// roster is group's roster, read again once RosterTTL passed.
func (m *Manager) roster(group string) []Operator {
	if m.o.Roster == nil {
		return nil
	}
	m.rmu.Lock()
	defer m.rmu.Unlock()
	now := m.o.Now()
	if r, ok := m.rcache[group]; ok && m.o.RosterTTL > 0 && now.Sub(r.at) < m.o.RosterTTL && now.Sub(r.at) >= 0 {
		return r.ops
	}
	ops := m.o.Roster(group)
	m.rcache[group] = rosterAt{at: now, ops: ops}
	return ops
}
