package registrar

import (
	"context"
	"errors"
	"testing"
)

// TestUnregister: an administrator removes one binding by key, then the
// rest; each removal is persisted before memory changes, a store failure
// keeps the bindings, and an AOR without bindings is ErrNoBinding.
func TestUnregister(t *testing.T) {
	f := newFixture(t)
	for i, c := range []string{"<sip:u1000@192.0.2.10:5062>", "<sip:u1000@192.0.2.11:5060;transport=tcp>"} {
		if res := f.register("u1000", "secret", "call-"+string(rune('a'+i)), "Contact: "+c); res.StatusCode != 200 {
			t.Fatalf("register: %s", res.StartLine())
		}
	}
	ctx := context.Background()
	bs := f.reg.Location().Lookup("u1000@example.com", f.now)
	if len(bs) != 2 {
		t.Fatalf("bindings %d", len(bs))
	}
	before := len(f.p.changes)

	f.p.fail = true
	if _, err := f.reg.Unregister(ctx, "u1000@example.com", ""); err == nil {
		t.Fatal("a failed store write was ignored")
	}
	if n, _ := f.reg.Location().Count(f.now); n != 2 {
		t.Fatalf("a failed unregister changed memory: %d bindings", n)
	}
	f.p.fail = false

	if n, err := f.reg.Unregister(ctx, "u1000@example.com", bs[0].Key()); err != nil || n != 1 {
		t.Fatalf("by key: %d %v", n, err)
	}
	left := f.reg.Location().Lookup("u1000@example.com", f.now)
	if len(left) != 1 || left[0].Key() != bs[1].Key() {
		t.Fatalf("left %+v", left)
	}
	if _, err := f.reg.Unregister(ctx, "u1000@example.com", "no-such-key"); !errors.Is(err, ErrNoBinding) {
		t.Fatalf("unknown key: %v", err)
	}
	if n, err := f.reg.Unregister(ctx, "u1000@example.com", ""); err != nil || n != 1 {
		t.Fatalf("all: %d %v", n, err)
	}
	if n, _ := f.reg.Location().Count(f.now); n != 0 {
		t.Fatalf("bindings left: %d", n)
	}
	if got := len(f.p.changes) - before; got != 2 {
		t.Fatalf("persisted %d deletes, want 2", got)
	}
	for _, c := range f.p.changes[before:] {
		if c.Delete == nil || c.Delete.AOR != "u1000@example.com" {
			t.Fatalf("change %+v", c)
		}
	}
	if _, err := f.reg.Unregister(ctx, "nobody@example.com", ""); !errors.Is(err, ErrNoBinding) {
		t.Fatalf("nobody: %v", err)
	}
	if st := f.reg.Stats(); st.Unregistered != 2 {
		t.Fatalf("stats %+v", st)
	}
}
