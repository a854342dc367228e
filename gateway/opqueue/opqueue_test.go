package opqueue

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// clock is an injected clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)} }

// roster is a group's operators as a test sets them.
type roster struct {
	mu  sync.Mutex
	ops map[string][]Operator
}

func (r *roster) get(g string) []Operator {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops[g])
}
func (r *roster) set(g string, ops ...Operator) {
	r.mu.Lock()
	r.ops[g] = ops
	r.mu.Unlock()
}

type events struct {
	mu  sync.Mutex
	evs []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.evs = append(e.evs, ev); e.mu.Unlock() }

var anna, bob, carl = Operator{"anna", "u1001"}, Operator{"bob", "u1002"}, Operator{"carl", "u1003"}

func setup(strategy string) (*Manager, *clock, *roster, *events) {
	c, r, e := newClock(), &roster{ops: map[string][]Operator{}}, &events{}
	m := New(Options{Queues: []Config{{Number: "9000", Group: "ops", Ring: 20 * time.Second, OverflowAfter: 60 * time.Second,
		OverflowTo: "2000", Strategy: strategy}}, Roster: r.get, Now: c.now, OnEvent: e.add})
	return m, c, r, e
}

func join(t *testing.T, m *Manager, ref string) *Wait {
	t.Helper()
	w, err := m.Join("9000", ref, "caller-"+ref)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestNotAQueue(t *testing.T) {
	m, _, _, _ := setup(All)
	if m.IsQueue("9001") || !m.IsQueue("9000") {
		t.Fatal("IsQueue")
	}
	if _, err := m.Join("9001", "x", "y"); !errors.Is(err, ErrNoQueue) {
		t.Fatalf("joined a number that is no queue: %v", err)
	}
}

// TestAllRingsAvailableHeadOnly: with strategy all, the call first in
// line rings every operator the roster gives (paused and busy ones are
// not in it); the second call rings nobody until the first is answered.
func TestAllRingsAvailableHeadOnly(t *testing.T) {
	m, c, r, e := setup(All)
	r.set("ops", anna, bob) // carl is paused or busy: not in the roster
	w1 := join(t, m, "c1")
	w2 := join(t, m, "c2")
	st := w1.Next(nil, nil)
	if !slices.Equal(st.Ring, []string{"u1001", "u1002"}) || st.EndRound || st.Overflow {
		t.Fatalf("head step %+v", st)
	}
	if st := w2.Next(nil, nil); len(st.Ring) != 0 {
		t.Fatalf("second call rings %v while the first rings everyone", st.Ring)
	}
	// Nothing new to ring while they ring.
	if st := w1.Next([]string{"u1001", "u1002"}, []string{"u1001", "u1002"}); len(st.Ring) != 0 || st.EndRound {
		t.Fatalf("ringing step %+v", st)
	}
	// carl comes back: he rings too, at once.
	r.set("ops", anna, bob, carl)
	c.add(5 * time.Second)
	if st := w1.Next([]string{"u1001", "u1002"}, []string{"u1001", "u1002"}); !slices.Equal(st.Ring, []string{"u1003"}) {
		t.Fatalf("operator back: step %+v", st)
	}
	vs := m.Views()
	if len(vs) != 1 || len(vs[0].Waiting) != 2 || vs[0].Waiting[0].Call != "c1" || vs[0].Waiting[0].Position != 1 ||
		vs[0].Waiting[1].Position != 2 || vs[0].Waiting[0].Wait != 5 || !slices.Equal(vs[0].Waiting[0].Ringing, []string{"anna", "bob", "carl"}) {
		t.Fatalf("views %+v", vs)
	}
	w1.Answered("u1002")
	if st := w2.Next(nil, nil); !slices.Equal(st.Ring, []string{"u1001", "u1002", "u1003"}) {
		t.Fatalf("second call once first: %+v", st)
	}
	if vs := m.Views(); len(vs[0].Waiting) != 1 || vs[0].Waiting[0].Call != "c2" || vs[0].Waiting[0].Position != 1 {
		t.Fatalf("views after answer %+v", vs)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.evs) != 3 || e.evs[0].Type != EventJoined || e.evs[1].Position != 2 || e.evs[2].Type != EventAnswered ||
		e.evs[2].Operator != "bob" || e.evs[2].Call != "c1" || e.evs[2].WaitSecs != 5 {
		t.Fatalf("events %+v", e.evs)
	}
}

// TestRefusedNotRungAgainThisRound: an operator who refused (busy) is
// not rung again until the round ends; then the round starts anew.
func TestRefusedNotRungAgainThisRound(t *testing.T) {
	m, c, r, _ := setup(All)
	r.set("ops", anna)
	w := join(t, m, "c1")
	if st := w.Next(nil, nil); !slices.Equal(st.Ring, []string{"u1001"}) {
		t.Fatalf("step %+v", st)
	}
	c.add(time.Second)
	if st := w.Next([]string{"u1001"}, nil); len(st.Ring) != 0 || st.EndRound {
		t.Fatalf("refused operator rung again in the round: %+v", st)
	}
	c.add(19 * time.Second)
	if st := w.Next([]string{"u1001"}, nil); !st.EndRound || !slices.Equal(st.Ring, []string{"u1001"}) {
		t.Fatalf("round end: %+v", st)
	}
}

// TestNoneAvailableKeepsWaiting: with nobody available the call waits
// (no ring, no overflow) until an operator becomes available.
func TestNoneAvailableKeepsWaiting(t *testing.T) {
	m, c, r, _ := setup(All)
	w := join(t, m, "c1")
	for range 5 {
		c.add(10 * time.Second)
		if st := w.Next(nil, nil); len(st.Ring) != 0 || st.Overflow || st.EndRound {
			t.Fatalf("nobody available: %+v", st)
		}
	}
	r.set("ops", bob)
	if st := w.Next(nil, nil); !slices.Equal(st.Ring, []string{"u1002"}) {
		t.Fatalf("available again: %+v", st)
	}
}

// TestOverflow: after overflow_after the call overflows to its target;
// a queue without one overflows to nothing (the B2BUA refuses 480).
func TestOverflow(t *testing.T) {
	m, c, r, e := setup(All)
	r.set("ops", anna)
	w := join(t, m, "c1")
	w.Next(nil, nil)
	c.add(59 * time.Second)
	if st := w.Next([]string{"u1001"}, []string{"u1001"}); st.Overflow {
		t.Fatal("overflow before its time")
	}
	c.add(time.Second)
	st := w.Next([]string{"u1001"}, []string{"u1001"})
	if !st.Overflow || st.OverflowTo != "2000" {
		t.Fatalf("step at 60s %+v", st)
	}
	w.Leave(Overflowed)
	w.Leave(Overflowed) // once only
	if vs := m.Views(); len(vs[0].Waiting) != 0 {
		t.Fatalf("overflowed call still waiting: %+v", vs)
	}
	e.mu.Lock()
	last := e.evs[len(e.evs)-1]
	n := len(e.evs)
	e.mu.Unlock()
	if n != 2 || last.Type != EventOverflowed || last.OverflowTo != "2000" || last.WaitSecs != 60 {
		t.Fatalf("events: %d, last %+v", n, last)
	}

	m2 := New(Options{Queues: []Config{{Number: "9000", Group: "ops", Ring: time.Second, OverflowAfter: 10 * time.Second}}, Now: c.now})
	w2, _ := m2.Join("9000", "c2", "x")
	c.add(10 * time.Second)
	if st := w2.Next(nil, nil); !st.Overflow || st.OverflowTo != "" {
		t.Fatalf("no overflow target: %+v", st)
	}
}

// TestLongestIdle: each call in line rings one operator, the one idle
// longest first; an operator who just took a call goes to the back.
func TestLongestIdle(t *testing.T) {
	m, c, r, _ := setup(LongestIdle)
	r.set("ops", anna, bob, carl)
	w1 := join(t, m, "c1")
	c.add(time.Second)
	w1.Answered("u1001") // anna just worked
	w2 := join(t, m, "c2")
	w3 := join(t, m, "c3")
	w4 := join(t, m, "c4")
	// c3 asks before c2: it still leaves bob (the longest idle) to c2.
	if st := w3.Next(nil, nil); !slices.Equal(st.Ring, []string{"u1003"}) {
		t.Fatalf("c3 %+v", st)
	}
	if st := w2.Next(nil, nil); !slices.Equal(st.Ring, []string{"u1002"}) {
		t.Fatalf("c2 %+v", st)
	}
	if st := w4.Next(nil, nil); !slices.Equal(st.Ring, []string{"u1001"}) {
		t.Fatalf("c4 %+v", st)
	}
	// One at a time: nothing more while one rings.
	if st := w2.Next([]string{"u1002"}, []string{"u1002"}); len(st.Ring) != 0 {
		t.Fatalf("c2 rings a second operator: %+v", st)
	}
}

// TestLeaveReasons: a cancelled call leaves with its reason, its position
// goes to the next call.
func TestLeaveReasons(t *testing.T) {
	m, _, _, e := setup(All)
	w1 := join(t, m, "c1")
	join(t, m, "c2")
	w1.Leave(Cancelled)
	if vs := m.Views(); len(vs[0].Waiting) != 1 || vs[0].Waiting[0].Call != "c2" || vs[0].Waiting[0].Position != 1 {
		t.Fatalf("views %+v", vs)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if last := e.evs[len(e.evs)-1]; last.Type != EventLeft || last.Why != Cancelled || last.Call != "c1" {
		t.Fatalf("event %+v", last)
	}
}

// TestFull: a queue holds MaxWaiting calls; more are refused until one
// leaves.
func TestFull(t *testing.T) {
	c := newClock()
	m := New(Options{Queues: []Config{{Number: "9000", Group: "ops", Ring: time.Second, OverflowAfter: time.Minute, MaxWaiting: 2}}, Now: c.now})
	w1, _ := m.Join("9000", "c1", "a")
	if _, err := m.Join("9000", "c2", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Join("9000", "c3", "c"); !errors.Is(err, ErrFull) {
		t.Fatalf("third call: %v, want ErrFull", err)
	}
	w1.Leave(Cancelled)
	if _, err := m.Join("9000", "c3", "c"); err != nil {
		t.Fatalf("after one left: %v", err)
	}
	if m := New(Options{Queues: []Config{{Number: "1"}}}); m.queues["1"].cfg.MaxWaiting != DefaultMaxWaiting {
		t.Fatal("MaxWaiting default")
	}
}

// TestRosterTTL: calls waiting together read a group's roster once per
// TTL.
func TestRosterTTL(t *testing.T) {
	c := newClock()
	reads := 0
	m := New(Options{Queues: []Config{{Number: "9000", Group: "ops", Ring: time.Second, OverflowAfter: time.Minute}},
		Now: c.now, RosterTTL: 150 * time.Millisecond,
		Roster: func(string) []Operator { reads++; return []Operator{anna} }})
	w1, _ := m.Join("9000", "c1", "a")
	w2, _ := m.Join("9000", "c2", "b")
	w1.Next(nil, nil)
	w2.Next(nil, nil)
	w1.Next([]string{"u1001"}, []string{"u1001"})
	if reads != 1 {
		t.Fatalf("%d roster reads within the TTL, want 1", reads)
	}
	c.add(200 * time.Millisecond)
	w2.Next(nil, nil)
	if reads != 2 {
		t.Fatalf("%d roster reads after the TTL, want 2", reads)
	}
}

// TestLongestIdleRotates: with longest_idle, a round nobody answered
// moves on to the next operator; after everyone, the first again.
func TestLongestIdleRotates(t *testing.T) {
	m, c, r, _ := setup(LongestIdle)
	r.set("ops", anna, bob)
	w := join(t, m, "c1")
	st := w.Next(nil, nil)
	order := st.Ring
	for range 2 {
		c.add(10 * time.Second)
		if mid := w.Next(st.Ring, st.Ring); len(mid.Ring) != 0 || mid.EndRound {
			t.Fatalf("mid-round step %+v", mid)
		}
		c.add(10 * time.Second)
		st = w.Next(st.Ring, st.Ring)
		if !st.EndRound || len(st.Ring) != 1 {
			t.Fatalf("round end %+v", st)
		}
		order = append(order, st.Ring...)
	}
	if !slices.Equal(order, []string{"u1001", "u1002", "u1001"}) {
		t.Fatalf("rounds rang %v, want anna, bob, anna", order)
	}
}
