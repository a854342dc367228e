package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

func testBindingsApply(t *testing.T, open Opener) {
	s := open(t)
	if bs := mustBindings(t, s); len(bs) != 0 {
		t.Fatalf("Bindings on empty store = %v", bs)
	}
	plain := binding("1001@example.com", "sip:1001@192.0.2.10:5062;transport=tcp")
	outbound := binding("1001@example.com", "sip:1001@192.0.2.11:40000;transport=tls")
	outbound.InstanceID = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"
	outbound.RegID = 1
	outbound.Q = store.QAbsent
	outbound.Path = []string{"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr;ob>"}
	other := binding("1002@example.com", "sip:1002@[2001:db8::1]:5060")
	other.Q = 0
	other.CSeq = 0
	mustApply(t, s, store.PutBinding(plain), store.PutBinding(outbound), store.PutBinding(other))

	got := mustBindings(t, s)
	want := []store.Binding{outbound, plain, other}
	slices.SortFunc(want, func(a, b store.Binding) int {
		if a.AOR != b.AOR {
			return strings.Compare(a.AOR, b.AOR)
		}
		return strings.Compare(a.Key(), b.Key())
	})
	if len(got) != len(want) {
		t.Fatalf("Bindings = %d bindings, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !sameBinding(got[i], want[i]) {
			t.Errorf("Bindings[%d]\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	// A put with the same key replaces: a re-REGISTER of the same instance
	// from a new address and CSeq.
	moved := outbound
	moved.ContactURI = "sip:1001@203.0.113.5:41000;transport=tls"
	moved.Source = "203.0.113.5:41000"
	moved.CSeq = 7
	moved.Path = nil
	mustApply(t, s, store.PutBinding(moved))
	got = mustBindings(t, s)
	if len(got) != 3 {
		t.Fatalf("after re-register Bindings = %d, want 3", len(got))
	}
	found := false
	for _, b := range got {
		if b.Key() == outbound.Key() && b.AOR == outbound.AOR {
			found = true
			if !sameBinding(b, moved) {
				t.Errorf("replaced binding\n got %+v\nwant %+v", b, moved)
			}
		}
	}
	if !found {
		t.Fatalf("binding %s lost after replace", outbound.Key())
	}
}

func testBindingsDelete(t *testing.T, open Opener) {
	s := open(t)
	a := binding("1001@example.com", "sip:a@192.0.2.1")
	b := binding("1001@example.com", "sip:b@192.0.2.2")
	c := binding("1002@example.com", "sip:a@192.0.2.1") // same contact, other AOR
	mustApply(t, s, store.PutBinding(a), store.PutBinding(b), store.PutBinding(c))

	mustApply(t, s,
		store.DeleteBinding(a.AOR, a.Key()),
		store.DeleteBinding("nobody@example.com", "c:sip:x"), // missing: not an error
	)
	if got := aors(mustBindings(t, s)); !slices.Equal(got, []string{"1001@example.com", "1002@example.com"}) {
		t.Fatalf("after delete, AORs = %v", got)
	}

	// Changes apply in order: put then delete leaves nothing, delete then
	// put leaves the binding.
	d := binding("1003@example.com", "sip:d@192.0.2.4")
	e := binding("1004@example.com", "sip:e@192.0.2.5")
	mustApply(t, s,
		store.PutBinding(d), store.DeleteBinding(d.AOR, d.Key()),
		store.DeleteBinding(e.AOR, e.Key()), store.PutBinding(e),
	)
	if got := aors(mustBindings(t, s)); !slices.Equal(got, []string{"1001@example.com", "1002@example.com", "1004@example.com"}) {
		t.Fatalf("after ordered changes, AORs = %v", got)
	}
}

func testBindingsInvalid(t *testing.T, open Opener) {
	s := open(t)
	good := binding("1001@example.com", "sip:a@192.0.2.1")
	tests := []struct {
		name   string
		change store.BindingChange
	}{
		{"neither", store.BindingChange{}},
		{"both", store.BindingChange{Put: &good, Delete: &store.BindingKey{AOR: "x", Key: "y"}}},
		{"empty aor", store.PutBinding(store.Binding{ContactURI: "sip:a@192.0.2.1"})},
		{"no contact", store.PutBinding(store.Binding{AOR: "1001@example.com"})},
		{"delete empty key", store.DeleteBinding("1001@example.com", "")},
	}
	for _, tc := range tests {
		err := s.ApplyBindings(ctx(t), []store.BindingChange{store.PutBinding(good), tc.change})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: ApplyBindings error = %v, want ErrInvalid", tc.name, err)
		}
	}
	if bs := mustBindings(t, s); len(bs) != 0 {
		t.Fatalf("a failed ApplyBindings stored %d bindings", len(bs))
	}
}

func testBindingsExpire(t *testing.T, open Opener) {
	s := open(t)
	n := now()
	past := binding("past@example.com", "sip:p@192.0.2.1")
	past.Expires = n.Add(-time.Second)
	edge := binding("edge@example.com", "sip:e@192.0.2.1")
	edge.Expires = n
	future := binding("future@example.com", "sip:f@192.0.2.1")
	future.Expires = n.Add(time.Hour)
	mustApply(t, s, store.PutBinding(past), store.PutBinding(edge), store.PutBinding(future))

	removed, err := s.DeleteExpiredBindings(ctx(t), n)
	if err != nil {
		t.Fatalf("DeleteExpiredBindings: %v", err)
	}
	if removed != 2 {
		t.Errorf("DeleteExpiredBindings removed %d, want 2 (expired and expiring now)", removed)
	}
	if got := aors(mustBindings(t, s)); !slices.Equal(got, []string{"future@example.com"}) {
		t.Fatalf("after expiry, AORs = %v, want [future@example.com]", got)
	}
	if removed, err := s.DeleteExpiredBindings(ctx(t), n); err != nil || removed != 0 {
		t.Fatalf("second DeleteExpiredBindings = %d, %v; want 0, nil", removed, err)
	}
}

func testBindingsPath(t *testing.T, open Opener) {
	s := open(t)
	tests := []struct {
		name string
		path []string
	}{
		{"none", nil},
		{"one", []string{"<sip:p1.example.com;lr>"}},
		{"ordered", []string{"<sip:z.example.com;lr>", "<sip:a.example.com;lr>", "<sip:m.example.com;lr>"}},
		{"odd characters", []string{`<sip:p.example.com;lr;x="a,b">`, "<sip:[2001:db8::2]:5061;transport=tls;lr>", "\"quote\" , comma ü"}},
		{"empty element", []string{"", "<sip:p.example.com;lr>"}},
	}
	for i, tc := range tests {
		b := binding(fmt.Sprintf("path%d@example.com", i), "sip:x@192.0.2.1")
		b.Path = tc.path
		mustApply(t, s, store.PutBinding(b))
	}
	s = reopen(t, s, open)
	got := mustBindings(t, s)
	if len(got) != len(tests) {
		t.Fatalf("Bindings = %d, want %d", len(got), len(tests))
	}
	for i, tc := range tests {
		if !slices.Equal(got[i].Path, tc.path) {
			t.Errorf("%s: Path = %q, want %q", tc.name, got[i].Path, tc.path)
		}
	}
}

func testBans(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	n := now()
	bans := []store.Ban{
		{IP: "192.0.2.1", Reason: "auth failures", Until: n.Add(time.Hour), CreatedAt: n},
		{IP: "192.0.2.2", Reason: "expired", Until: n.Add(-time.Second)},
		{IP: "2001:db8::1", Reason: "forever"},
		{IP: "192.0.2.3", Reason: "ends now", Until: n},
	}
	for _, b := range bans {
		if err := s.PutBan(c, b); err != nil {
			t.Fatalf("PutBan(%s): %v", b.IP, err)
		}
	}
	active, err := s.Bans(c, n)
	if err != nil {
		t.Fatalf("Bans: %v", err)
	}
	var ips []string
	for _, b := range active {
		ips = append(ips, b.IP)
	}
	if want := []string{"192.0.2.1", "2001:db8::1"}; !slices.Equal(ips, want) {
		t.Fatalf("Bans(now) = %v, want %v", ips, want)
	}
	if b := active[0]; b.Reason != "auth failures" || !b.Until.Equal(bans[0].Until) || !b.CreatedAt.Equal(n) {
		t.Errorf("ban round trip = %+v, want %+v", b, bans[0])
	}
	if b := active[1]; !b.Until.IsZero() || b.CreatedAt.IsZero() {
		t.Errorf("permanent ban = %+v: want zero Until and CreatedAt set by the store", b)
	}

	// Replacing extends; deleting lifts.
	if err := s.PutBan(c, store.Ban{IP: "192.0.2.2", Reason: "again", Until: n.Add(time.Minute)}); err != nil {
		t.Fatalf("PutBan: %v", err)
	}
	if err := s.DeleteBan(c, "192.0.2.1"); err != nil {
		t.Fatalf("DeleteBan: %v", err)
	}
	if err := s.DeleteBan(c, "192.0.2.1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteBan error = %v, want ErrNotFound", err)
	}
	if err := s.PutBan(c, store.Ban{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("PutBan without IP: error = %v, want ErrInvalid", err)
	}
	active, _ = s.Bans(c, n)
	ips = ips[:0]
	for _, b := range active {
		ips = append(ips, b.IP)
	}
	if want := []string{"192.0.2.2", "2001:db8::1"}; !slices.Equal(ips, want) {
		t.Fatalf("Bans(now) = %v, want %v", ips, want)
	}
	// Later, only the permanent ban is left.
	active, _ = s.Bans(c, n.Add(2*time.Hour))
	if len(active) != 1 || active[0].IP != "2001:db8::1" {
		t.Fatalf("Bans(now+2h) = %+v, want only 2001:db8::1", active)
	}
}

func testSettings(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	if _, err := s.Setting(c, "nonce-secret"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Setting on empty store: error = %v, want ErrNotFound", err)
	}
	values := map[string]string{
		"nonce-secret": "\x00\x01\xffbinary-ish\n",
		"empty":        "",
		"unicode":      "Zürich ☎",
	}
	for k, v := range values {
		if err := s.PutSetting(c, k, v); err != nil {
			t.Fatalf("PutSetting(%q): %v", k, err)
		}
	}
	if err := s.PutSetting(c, "unicode", "replaced"); err != nil {
		t.Fatalf("PutSetting: %v", err)
	}
	values["unicode"] = "replaced"
	for k, want := range values {
		got, err := s.Setting(c, k)
		if err != nil || got != want {
			t.Errorf("Setting(%q) = %q, %v; want %q", k, got, err, want)
		}
	}
}

func testCanceledContext(t *testing.T, open Opener) {
	s := open(t)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := s.PutSetting(c, "k", "v"); !errors.Is(err, context.Canceled) {
		t.Errorf("PutSetting with canceled ctx: error = %v, want context.Canceled", err)
	}
	if err := s.ApplyBindings(c, []store.BindingChange{store.PutBinding(binding("a@example.com", "sip:a@192.0.2.1"))}); !errors.Is(err, context.Canceled) {
		t.Errorf("ApplyBindings with canceled ctx: error = %v, want context.Canceled", err)
	}
	if _, err := s.Users(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Users with canceled ctx: error = %v, want context.Canceled", err)
	}
	if bs := mustBindings(t, s); len(bs) != 0 {
		t.Errorf("canceled ApplyBindings stored %d bindings", len(bs))
	}
}

// testConcurrentApply calls ApplyBindings directly from many goroutines, with
// readers running alongside.
func testConcurrentApply(t *testing.T, open Opener) {
	s := open(t)
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each+goroutines)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Bindings(ctx(t)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				b := binding(fmt.Sprintf("g%d-%d@example.com", g, i), "sip:x@192.0.2.1")
				if err := s.ApplyBindings(ctx(t), []store.BindingChange{store.PutBinding(b)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent call: %v", err)
	}
	if got := len(mustBindings(t, s)); got != goroutines*each {
		t.Fatalf("Bindings = %d, want %d", got, goroutines*each)
	}
}

// testConcurrentWriter drives the group-commit Writer from many goroutines.
func testConcurrentWriter(t *testing.T, open Opener) {
	s := open(t)
	w := store.NewWriter(s, store.WriterOptions{MaxBatch: 64})
	const goroutines, each = 32, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				b := binding(fmt.Sprintf("w%d-%d@example.com", g, i), "sip:x@192.0.2.1")
				ch := []store.BindingChange{store.PutBinding(b)}
				if i%4 == 3 { // and delete the previous one in the same call
					prev := binding(fmt.Sprintf("w%d-%d@example.com", g, i-1), "sip:x@192.0.2.1")
					ch = append(ch, store.DeleteBinding(prev.AOR, prev.Key()))
				}
				if err := w.Apply(ctx(t), ch...); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Writer.Close: %v", err)
	}
	close(errs)
	for err := range errs {
		t.Fatalf("Writer.Apply: %v", err)
	}
	want := goroutines * (each - each/4)
	if got := len(mustBindings(t, s)); got != want {
		t.Fatalf("Bindings = %d, want %d", got, want)
	}
	if err := w.Apply(ctx(t), store.PutBinding(binding("late@example.com", "sip:x@192.0.2.1"))); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Apply after Close: error = %v, want ErrClosed", err)
	}
}

func testReopen(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	mustPutUsers(t, s, store.NewUser("alice", "example.com", "pw", "Alice", "1001"))
	b := binding("alice@example.com", "sip:alice@192.0.2.1")
	b.Path = []string{"<sip:edge.example.com;lr>"}
	mustApply(t, s, store.PutBinding(b))
	ban := store.Ban{IP: "192.0.2.99", Reason: "r", Until: now().Add(time.Hour)}
	if err := s.PutBan(c, ban); err != nil {
		t.Fatalf("PutBan: %v", err)
	}
	if err := s.PutSetting(c, "nonce-secret", "s3cret"); err != nil {
		t.Fatalf("PutSetting: %v", err)
	}
	alice, _ := s.User(c, "alice")

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s = open(t)

	got, err := s.User(c, "alice")
	if err != nil {
		t.Fatalf("User after reopen: %v", err)
	}
	if got.HA1SHA256 != alice.HA1SHA256 || got.DisplayName != "Alice" || !got.CreatedAt.Equal(alice.CreatedAt) {
		t.Errorf("user after reopen = %+v, want %+v", got, alice)
	}
	if bs := mustBindings(t, s); len(bs) != 1 || !sameBinding(bs[0], b) {
		t.Errorf("bindings after reopen = %+v, want [%+v]", bs, b)
	}
	if bans, err := s.Bans(c, now()); err != nil || len(bans) != 1 || bans[0].IP != ban.IP {
		t.Errorf("bans after reopen = %+v, %v", bans, err)
	}
	if v, err := s.Setting(c, "nonce-secret"); err != nil || v != "s3cret" {
		t.Errorf("setting after reopen = %q, %v", v, err)
	}
}
