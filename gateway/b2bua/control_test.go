package b2bua

import (
	"errors"
	"testing"
)

// TestControlUnknownCalls: every control service on a call that does not
// exist (or ended) fails with ErrNoCall, bad arguments before anything is
// looked up; nothing panics.
func TestControlUnknownCalls(t *testing.T) {
	b := newTestB2BUA(Options{Local: fakeLocal{"1001": "u1001"}, Location: fakeLocation{}})
	defer b.Close()
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"hangup", b.Hangup("nope", ""), ErrNoCall},
		{"transfer", b.Transfer("nope", "u1000", "1001", nil), ErrNoCall},
		{"transfer empty", b.Transfer("nope", "u1000", " ", nil), ErrBadNumber},
		{"hold", b.Hold("nope", "u1000"), ErrNoCall},
		{"retrieve", b.Retrieve("nope", "u1000"), ErrNoCall},
		{"digits", b.SendDigits("nope", "u1000", "12"), ErrNoCall},
		{"digits bad", b.SendDigits("nope", "u1000", "1;2"), ErrBadNumber},
		{"digits none", b.SendDigits("nope", "u1000", ""), ErrBadNumber},
		{"deflect", b.Deflect("nope", "u1000", "1001", nil), ErrNoCall},
		{"deflect empty", b.Deflect("nope", "u1000", "", nil), ErrBadNumber},
		{"park", b.Park("nope", "u1000"), ErrNoCall},
		{"unpark", b.Unpark("nope", "u1000", "u1001", nil), ErrNoCall},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := b.Dial("u1000", "999"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("dial without a route: %v", err)
	}
	if _, err := b.Dial("u1000", "1001"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("dial from a user without a device: %v", err)
	}
	if _, err := b.Dial("", "1001"); !errors.Is(err, ErrBadNumber) {
		t.Errorf("dial without a user: %v", err)
	}
	if n := len(b.Calls()); n != 0 {
		t.Errorf("%d calls listed", n)
	}
}

// TestObserveNoHook: a call's state changes with no observer set are a
// no-op, and a call whose end is observed leaves the control list.
func TestObserveNoHook(t *testing.T) {
	b := newTestB2BUA(Options{})
	defer b.Close()
	c := &call{gw: b, done: make(chan struct{})}
	b.track(c)
	if _, err := b.callOf(c.ref); err != nil {
		t.Fatal(err)
	}
	c.observe(CallOriginated, CallEvent{})
	c.observe(CallEnded, CallEvent{Status: 486, Cause: CauseBusy})
	if _, err := b.callOf(c.ref); !errors.Is(err, ErrNoCall) {
		t.Errorf("ended call still listed: %v", err)
	}
	var got []CallEvent
	b.o.OnCall = func(ev CallEvent) { got = append(got, ev) }
	c2 := &call{gw: b, from: caller{user: "u1000"}, num: "1001", done: make(chan struct{})}
	b.track(c2)
	c2.observe(CallOriginated, CallEvent{Target: "u1001"})
	if len(got) != 1 || got[0].ID != c2.ref || got[0].A.User != "u1000" || got[0].Dialled != "1001" || got[0].Target != "u1001" {
		t.Errorf("observed %+v", got)
	}
}
