package gwcti

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/plugins"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeCalls is a B2BUA that has no calls.
type fakeCalls struct{ calls []b2bua.CallInfo }

func (f *fakeCalls) Calls() []b2bua.CallInfo                       { return f.calls }
func (f *fakeCalls) Hangup(id, _ string) error                     { return f.err(id) }
func (f *fakeCalls) Transfer(id, _, _ string, _ func(error)) error { return f.err(id) }
func (f *fakeCalls) Hold(id, _ string) error                       { return f.err(id) }
func (f *fakeCalls) Retrieve(id, _ string) error                   { return f.err(id) }
func (f *fakeCalls) SendDigits(id, _, _ string) error              { return f.err(id) }
func (f *fakeCalls) Deflect(id, _, _ string, _ func(error)) error  { return f.err(id) }

func (f *fakeCalls) Dial(user, _ string) (string, error) { return "d-" + user, nil }
func (f *fakeCalls) Park(id, _ string) error             { return f.err(id) }
func (f *fakeCalls) Join(id, _, _ string) error          { return f.err(id) }
func (f *fakeCalls) Unpark(id, _, _ string, _ func(error)) error {
	return f.err(id)
}

func (f *fakeCalls) err(id string) error {
	for _, c := range f.calls {
		if c.ID == id {
			return nil
		}
	}
	return fmt.Errorf("%w: %q", b2bua.ErrNoCall, id)
}

var users = map[string]string{"u1000": "u1000", "u1001": "u1001", "u1002": "u1002", "1001": "u1001"}

func lookupUser(n string) (string, bool) { u, ok := users[n]; return u, ok }

// collect runs a source whose events go to the returned func's slice.
func newTestSource(t *testing.T, o Options) (*Source, func() []plugins.Event) {
	t.Helper()
	var mu sync.Mutex
	var evs []plugins.Event
	if o.Calls == nil {
		o.Calls = &fakeCalls{}
	}
	o.User = lookupUser
	o.Now = func() time.Time { return time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) }
	o.OnEvent = func(ev plugins.Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock() }
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	stop := s.Start(context.Background())
	t.Cleanup(stop)
	return s, func() []plugins.Event {
		// Events are delivered by Start's goroutine: wait for the queue.
		deadline := time.Now().Add(5 * time.Second)
		for len(s.q) > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		return append([]plugins.Event(nil), evs...)
	}
}

func p(user string) b2bua.CallParty { return b2bua.CallParty{User: user, Number: user} }
func num(n string) b2bua.CallParty  { return b2bua.CallParty{Number: n} }

// TestCallEvents: the CSTA events each B2BUA call history makes, per
// device, against testdata/<name>.golden.
func TestCallEvents(t *testing.T) {
	const id = "c1"
	for _, tc := range []struct {
		name string
		sst  bool
		slot string
		evs  []b2bua.CallEvent
	}{
		{"basic", false, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAlerting, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAnswered, A: p("u1000"), B: p("u1001"), Target: "u1001"},
			{State: b2bua.CallHeld, A: p("u1000"), B: p("u1001"), By: "u1000"},
			{State: b2bua.CallRetrieved, A: p("u1000"), B: p("u1001"), By: "u1000"},
			{State: b2bua.CallEnded, A: p("u1000"), B: p("u1001"), Status: 200, Cause: b2bua.CauseNormal, EndedBy: "callee"},
		}},
		{"busy", false, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallEnded, A: p("u1000"), Status: 486, Cause: b2bua.CauseBusy},
		}},
		{"cancelled", false, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAlerting, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallEnded, A: p("u1000"), Status: 487, Cause: b2bua.CauseCancelled},
		}},
		{"pickup", false, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAlerting, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAnswered, A: p("u1000"), B: p("u1002"), Target: "u1002"},
		}},
		{"transfer", true, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAlerting, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAnswered, A: p("u1000"), B: p("u1001"), Target: "u1001"},
			{State: b2bua.CallTransferred, A: p("u1000"), B: p("u1002"), By: "u1001", Other: "1002"},
			{State: b2bua.CallEnded, A: p("u1000"), B: p("u1002"), Status: 200, Cause: b2bua.CauseNormal},
		}},
		{"park", false, "7", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAlerting, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAnswered, A: p("u1000"), B: p("u1001"), Target: "u1001"},
			{State: b2bua.CallParked, A: p("u1000"), B: p("u1001"), By: "u1001"},
			{State: b2bua.CallTransferred, A: p("u1000"), B: p("u1002"), By: "u1001", Other: "u1002"},
		}},
		{"divert", false, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallAlerting, A: p("u1000"), Target: "u1001"},
			{State: b2bua.CallDiverted, A: p("u1000"), Target: "u1001", Other: "1002", Reason: "no-answer"},
			{State: b2bua.CallAlerting, A: p("u1000"), Target: "u1002"},
			{State: b2bua.CallAnswered, A: p("u1000"), B: p("u1002"), Target: "u1002"},
			{State: b2bua.CallEnded, A: p("u1000"), B: p("u1002"), Status: 200, Cause: b2bua.CauseNormal},
		}},
		{"trunk", false, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: num("0611223344"), Target: "u1001"},
			{State: b2bua.CallAlerting, A: num("0611223344"), Target: "u1001"},
			{State: b2bua.CallAnswered, A: num("0611223344"), B: p("u1001"), Target: "u1001"},
			{State: b2bua.CallEnded, A: num("0611223344"), B: p("u1001"), Status: 200, Cause: b2bua.CauseMediaTimeout},
		}},
		{"outbound", false, "", []b2bua.CallEvent{
			{State: b2bua.CallOriginated, A: p("u1000"), Dialled: "0611223344"},
			{State: b2bua.CallAlerting, A: p("u1000")},
			{State: b2bua.CallAnswered, A: p("u1000"), B: num("0611223344")},
			{State: b2bua.CallEnded, A: p("u1000"), B: num("0611223344"), Status: 200, Cause: b2bua.CauseNormal},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, events := newTestSource(t, Options{})
			if tc.sst {
				s.sst[id] = true
			}
			if tc.slot != "" {
				s.slots[tc.slot] = parked{callID: id, parker: "u1001"}
				s.pickups[id] = true
			}
			for _, ev := range tc.evs {
				ev.ID = id
				s.OnCall(ev)
			}
			var b strings.Builder
			for _, ev := range events() {
				if ev.Driver != Name || ev.Time.IsZero() {
					t.Errorf("event %d: driver %q time %v", ev.Seq, ev.Driver, ev.Time)
				}
				if ev.Type == plugins.EventLinkUp {
					continue
				}
				fmt.Fprintf(&b, "%d %s device=%s call=%s state=%s cause=%s calling=%s called=%s other=%s\n",
					ev.Seq, ev.Type, ev.Device, ev.CallID, ev.State, ev.Cause, ev.Calling, ev.Called, ev.Other)
			}
			golden(t, filepath.Join("testdata", tc.name+".golden"), b.String())
			s.mu.Lock()
			left := len(s.calls)
			s.mu.Unlock()
			if last := tc.evs[len(tc.evs)-1].State; last == b2bua.CallEnded && left != 0 {
				t.Errorf("%d calls kept after the end", left)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestQueueGap: a consumer that stalls makes the queue fill: the events
// beyond it are dropped and counted, and the next delivered event shows
// the gap in Seq (the consumer re-snapshots).
func TestQueueGap(t *testing.T) {
	s, err := New(Options{Calls: &fakeCalls{}, User: lookupUser, Queue: 4})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []uint64
	entered, release := make(chan struct{}, 1), make(chan struct{})
	s.SetOnEvent(func(ev plugins.Event) {
		mu.Lock()
		got = append(got, ev.Seq)
		first := len(got) == 1
		mu.Unlock()
		if first {
			entered <- struct{}{}
			<-release // stalls on the first event
		}
	})
	stop := s.Start(context.Background()) // seq 1, taken by the stalled consumer
	defer stop()
	<-entered
	for i := 0; i < 10; i++ {
		s.OnBindings("u1000@example.com", (i+1)%2) // each a change: seq 2..11
	}
	if s.Dropped() != 6 {
		t.Errorf("dropped %d, want 6", s.Dropped())
	}
	close(release)
	waitN := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			k := len(got)
			mu.Unlock()
			if k >= n {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitN(5)
	s.OnBindings("u1000@example.com", 1) // the last was 0: a change
	waitN(6)
	mu.Lock()
	defer mu.Unlock()
	// 2..5 queued, 6..11 dropped, 12 delivered: the consumer sees the gap.
	if fmt.Sprint(got) != "[1 2 3 4 5 12]" || s.Dropped() != 6 {
		t.Errorf("delivered seqs %v, dropped %d", got, s.Dropped())
	}
}

// settingsMap is an in-memory Settings that may fail.
type settingsMap struct {
	mu   sync.Mutex
	m    map[string]string
	fail bool
}

func (s *settingsMap) Setting(_ context.Context, k string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if !ok {
		return "", fmt.Errorf("setting %q: %w", k, store.ErrNotFound)
	}
	return v, nil
}

func (s *settingsMap) PutSetting(_ context.Context, k, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk full")
	}
	s.m[k] = v
	return nil
}

// TestFeaturesPersisted: DND and forwarding survive a new Source over
// the same settings, feed the B2BUA's hooks, and a store failure changes
// nothing.
func TestFeaturesPersisted(t *testing.T) {
	st := &settingsMap{m: map[string]string{}}
	s, _ := newTestSource(t, Options{Settings: st, DNDStatus: 480})
	ctx := context.Background()
	if err := s.SetDND(ctx, "1001", true); err != nil {
		t.Fatal(err)
	}
	fw := plugins.Forwarding{Type: plugins.ForwardNoAnswer, To: "1002", Enabled: true}
	if err := s.SetForwarding(ctx, "u1001", fw); err != nil {
		t.Fatal(err)
	}
	s2, _ := newTestSource(t, Options{Settings: st, DNDStatus: 480})
	if got := s2.DND("u1001"); got != 480 {
		t.Errorf("DND after restart: %d, want 480", got)
	}
	base := func(string) (b2bua.Divert, bool) { return b2bua.Divert{Busy: "vm"}, true }
	dv, ok := s2.Divert(base)("u1001")
	if !ok || dv.NoAnswer != "1002" || dv.Busy != "vm" || dv.Always != "" {
		t.Errorf("divert %+v %v", dv, ok)
	}
	if dv, ok := s2.Divert(nil)("u1000"); ok || dv != (b2bua.Divert{}) {
		t.Errorf("divert of a user without forwarding %+v %v", dv, ok)
	}
	st.fail = true
	if err := s2.SetDND(ctx, "u1001", false); err == nil {
		t.Error("SetDND with a failing store: no error")
	}
	if s2.DND("u1001") != 480 {
		t.Error("a failed store write changed DND")
	}
	snap, err := s2.Snapshot(ctx, "u1001")
	if err != nil || !snap.DND || len(snap.Forwarding) != 1 || snap.Forwarding[0] != fw {
		t.Errorf("snapshot %+v %v", snap, err)
	}
	if _, err := New(Options{Calls: &fakeCalls{}, User: lookupUser, DNDStatus: 404}); err == nil {
		t.Error("dnd status 404 accepted")
	}
}

// FuzzCallEvents: any sequence of B2BUA call events keeps the source
// consistent: every device event names a device, states are CSTA's, and
// once a call ended no connection of it is left.
func FuzzCallEvents(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 8})
	f.Add([]byte{1, 2, 6, 2, 3, 7, 8})
	f.Add([]byte{3, 4, 4, 5, 7, 7, 8, 8})
	parties := []b2bua.CallParty{{}, p("u1000"), p("u1001"), p("u1002"), num("555")}
	f.Fuzz(func(t *testing.T, seq []byte) {
		if len(seq) > 64 {
			return
		}
		s, err := New(Options{Calls: &fakeCalls{}, User: lookupUser, Queue: 1024})
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range seq {
			ev := b2bua.CallEvent{ID: "c" + fmt.Sprint(c>>7), State: b2bua.CallState(c%9 + 1),
				A: parties[int(c>>3)%len(parties)], B: parties[int(c>>5)%len(parties)],
				Target: parties[(i+int(c))%len(parties)].User, By: parties[int(c>>4)%len(parties)].User}
			s.OnCall(ev)
			if ev.State == b2bua.CallEnded {
				s.mu.Lock()
				_, left := s.calls[ev.ID]
				s.mu.Unlock()
				if left {
					t.Fatalf("call %s kept after its end", ev.ID)
				}
			}
		}
		close(s.q)
		for ev := range s.q {
			if ev.Device == "" && ev.Type != plugins.EventLinkUp {
				t.Fatalf("event without device: %+v", ev)
			}
			if ev.State < plugins.StateUnspecified || ev.State > plugins.StateFail {
				t.Fatalf("state %d", ev.State)
			}
			if ev.Type == plugins.EventConnectionCleared && ev.State != plugins.StateNull {
				t.Fatalf("cleared with state %s", ev.State)
			}
		}
	})
}

// TestRegisteredBeforeStart: users with bindings before Start get their
// link_up right after the source's, in order; changes then one each.
func TestRegisteredBeforeStart(t *testing.T) {
	s, err := New(Options{Calls: &fakeCalls{}, User: lookupUser})
	if err != nil {
		t.Fatal(err)
	}
	s.OnBindings("u1002@example.com", 1)
	s.OnBindings("u1000@example.com", 2)
	s.OnBindings("u1001@example.com", 0)
	var mu sync.Mutex
	var got []string
	s.SetOnEvent(func(ev plugins.Event) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%d:%s:%s", ev.Seq, ev.Type, ev.Device))
		mu.Unlock()
	})
	stop := s.Start(context.Background())
	defer stop()
	s.OnBindings("u1000@example.com", 0)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 4 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "[1:link_up: 2:link_up:u1000 3:link_up:u1002 4:link_down:u1000]"
	if fmt.Sprint(got) != want {
		t.Errorf("events %v, want %s", got, want)
	}
}
