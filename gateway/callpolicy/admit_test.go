package callpolicy

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// clock is a manual clock for the token buckets.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestPolicy(t *testing.T, o Options) (*Policy, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1_000_000, 0)}
	o.Now = clk.now
	if o.Region == "" {
		o.Region = "CH"
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p, clk
}

func user(n string) Party { return Party{Kind: User, Name: n} }

// TestAdmitClasses: what the built-in classes let a user dial, as the
// status and sentinel a refusal carries.
func TestAdmitClasses(t *testing.T) {
	p, _ := newTestPolicy(t, Options{
		Users: map[string]string{"intl": ClassInternational, "all": ClassUnrestricted},
		Deny:  []string{"+5399"},
	})
	tests := []struct {
		party  Party
		number string
		local  bool
		status int
		err    error
	}{
		{user("u1"), "1000", true, 0, nil},
		{user("u1"), "112", false, 0, nil},
		{user("u1"), "2000", false, 0, nil},
		{user("u1"), "0441234567", false, 0, nil},
		{user("u1"), "0800123456", false, 0, nil},
		{user("u1"), "0044207946000", false, 403, ErrCategory},
		{user("u1"), "+442079460000", false, 403, ErrCategory},
		{user("u1"), "0900123456", false, 403, ErrCategory},
		{user("u1"), "0097912345678", false, 403, ErrDenied},
		{user("intl"), "0044207946000", false, 0, nil},
		{user("intl"), "0900123456", false, 403, ErrCategory},
		{user("intl"), "00881612345678", false, 403, ErrDenied},
		{user("all"), "0900123456", false, 0, nil},
		{user("all"), "+97912345678", false, 403, ErrDenied},
		{user("all"), "0053991234567", false, 403, ErrDenied},
		{Party{Kind: Trunk, Name: "pbx"}, "1000", true, 0, nil},
		{Party{Kind: Trunk, Name: "pbx"}, "0441234567", false, 403, ErrCategory},
		{Party{Kind: Trunk, Name: "pbx"}, "117", false, 0, nil},
		{Party{Kind: Trunk, Name: "pbx"}, "42", false, 0, nil},
		{Party{Kind: Trunk, Name: "pbx"}, "0900123456", false, 403, ErrCategory},
		{Party{Kind: Host, Name: "10.0.0.1"}, "0441234567", false, 403, ErrCategory},
	}
	for _, tt := range tests {
		tk, err := p.Admit(Call{Party: tt.party, Number: tt.number, Local: tt.local})
		if tt.err == nil {
			if err != nil {
				t.Errorf("%s dials %s: %v, want admitted", tt.party.Name, tt.number, err)
			}
			tk.Release()
			continue
		}
		var r *Refusal
		if !errors.As(err, &r) || !errors.Is(err, tt.err) || r.Status != tt.status {
			t.Errorf("%s dials %s: %v, want %d %v", tt.party.Name, tt.number, err, tt.status, tt.err)
		}
	}
	if s := p.Stats(); s.Calls != 0 || s.Ringing != 0 {
		t.Errorf("after releasing every ticket: %d calls, %d ringing held", s.Calls, s.Ringing)
	}
}

// TestAdmitCaps: concurrent and rate caps per party and per trunk, the
// 503 with Retry-After they give, and the slot back after Release.
func TestAdmitCaps(t *testing.T) {
	p, clk := newTestPolicy(t, Options{
		Classes: []Class{{Name: "two", Allow: []Category{National, Internal}, MaxCalls: 2, CallsPerSecond: 1, Burst: 3}},
		Users:   map[string]string{"u1": "two"},
		Trunks:  map[string]TrunkLimits{"pbx": {MaxCalls: 3}},
	})
	c := Call{Party: user("u1"), Number: "0441234567", ToTrunk: "pbx"}
	t1, err1 := p.Admit(c)
	t2, err2 := p.Admit(c)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	_, err := p.Admit(c)
	var r *Refusal
	if !errors.Is(err, ErrTooManyCalls) || !errors.As(err, &r) || r.Status != 503 || r.RetryAfter < time.Second {
		t.Fatalf("third call: %v, want 503 too many calls with Retry-After", err)
	}
	// Another user still reaches the trunk until its cap of 3.
	t3, err := p.Admit(Call{Party: user("u2"), Number: "0441234567", ToTrunk: "pbx"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Admit(Call{Party: user("u3"), Number: "0441234567", ToTrunk: "pbx"}); !errors.Is(err, ErrTooManyCalls) {
		t.Fatalf("fourth call on a trunk of 3: %v", err)
	}
	t1.Release()
	t1.Release() // idempotent
	// u1 has one call again, but its bucket (burst 3) has one token left.
	t4, err := p.Admit(Call{Party: user("u1"), Number: "1000", Local: true})
	if err != nil {
		t.Fatal(err)
	}
	t4.Release()
	if _, err := p.Admit(Call{Party: user("u1"), Number: "1000", Local: true}); !errors.Is(err, ErrRate) {
		t.Fatalf("fourth call in a burst of 3: %v, want the rate cap", err)
	}
	clk.advance(time.Second)
	t5, err := p.Admit(Call{Party: user("u1"), Number: "1000", Local: true})
	if err != nil {
		t.Fatalf("a second later: %v", err)
	}
	for _, tk := range []*Ticket{t2, t3, t5} {
		tk.Release()
	}
	if s := p.Stats(); s.Calls != 0 || s.RefusedCalls != 2 || s.RefusedRate != 1 {
		t.Errorf("stats %+v", s)
	}
	// Emergency passes every cap.
	p2, _ := newTestPolicy(t, Options{Classes: []Class{{Name: ClassDefault, Allow: []Category{National}, MaxCalls: 1}}})
	if _, err := p2.Admit(Call{Party: user("u1"), Number: "0441234567"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Admit(Call{Party: user("u1"), Number: "112"}); err != nil {
		t.Fatalf("emergency over the cap: %v", err)
	}
}

// TestAdmitRinging: calls in setup per source and per trunk; answering
// frees the slot, and one source's flood leaves another source alone.
func TestAdmitRinging(t *testing.T) {
	p, _ := newTestPolicy(t, Options{MaxRingingPerSource: 2, Trunks: map[string]TrunkLimits{"pbx": {MaxRinging: 1}}})
	src := netip.MustParseAddr("127.0.0.9")
	in := Call{Party: Party{Kind: Host, Name: "127.0.0.9"}, Number: "1000", Local: true, Source: src, Setup: true}
	a, _ := p.Admit(in)
	b, _ := p.Admit(in)
	if _, err := p.Admit(in); !errors.Is(err, ErrRinging) {
		t.Fatalf("third call in setup from one source: %v", err)
	}
	other := in
	other.Source = netip.MustParseAddr("127.0.0.7")
	if tk, err := p.Admit(other); err != nil {
		t.Fatalf("another source: %v", err)
	} else {
		tk.Release()
	}
	a.Answered()
	c, err := p.Admit(in)
	if err != nil {
		t.Fatalf("after one answered: %v", err)
	}
	// IPv6 sources share a /64.
	v6 := in
	v6.Source = netip.MustParseAddr("2001:db8::1")
	d, _ := p.Admit(v6)
	v6.Source = netip.MustParseAddr("2001:db8::2")
	e, _ := p.Admit(v6)
	v6.Source = netip.MustParseAddr("2001:db8::3")
	if _, err := p.Admit(v6); !errors.Is(err, ErrRinging) {
		t.Fatalf("third call from one /64: %v", err)
	}
	// A trunk's cap replaces the source's.
	tr := Call{Party: Party{Kind: Trunk, Name: "pbx"}, Number: "1000", Local: true, FromTrunk: "pbx", Source: src, Setup: true}
	f, err := p.Admit(tr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Admit(tr); !errors.Is(err, ErrRinging) {
		t.Fatalf("second call in setup from a trunk of 1: %v", err)
	}
	for _, tk := range []*Ticket{a, b, c, d, e, f} {
		tk.Release()
	}
	if s := p.Stats(); s.Ringing != 0 || s.Calls != 0 {
		t.Errorf("after release: %+v", s)
	}
}

// TestNewRejects: a configuration naming a class that does not exist,
// or a deny prefix that is not E.164, is refused.
func TestNewRejects(t *testing.T) {
	for _, o := range []Options{
		{DefaultClass: "gold"},
		{Users: map[string]string{"u1": "gold"}},
		{TrunkClasses: map[string]string{"pbx": "gold"}},
		{Deny: []string{"979"}},
		{Deny: []string{"+97x"}},
		{Classes: []Class{{Name: "x", MaxCalls: -1}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// TestBucketsBounded: rate buckets of parties that stopped calling are
// dropped as new ones come, so a stream of new sources cannot grow the
// map without bound.
func TestBucketsBounded(t *testing.T) {
	p, clk := newTestPolicy(t, Options{TrunkClass: "h",
		Classes: []Class{{Name: "h", Allow: []Category{Internal}, CallsPerSecond: 1}}})
	for i := 0; i < 10_000; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tk, err := p.Admit(Call{Party: Party{Kind: Host, Name: ip.String()}, Number: "1000", Local: true})
		if err != nil {
			t.Fatal(err)
		}
		tk.Release()
		clk.advance(10 * time.Millisecond)
	}
	p.mu.Lock()
	n := len(p.buckets)
	p.mu.Unlock()
	if n > 2048 {
		t.Errorf("%d buckets kept for 10,000 one-off callers 10 ms apart", n)
	}
}
