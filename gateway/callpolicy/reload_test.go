package callpolicy

import (
	"errors"
	"sync"
	"testing"
)

// TestUpdateLive: a reload changes what a user may dial and the caps; a
// call admitted before still counts against the new cap; a bad update
// changes nothing.
func TestUpdateLive(t *testing.T) {
	p, _ := newTestPolicy(t, Options{Classes: []Class{{Name: "capped", Allow: []Category{Internal, National}, MaxCalls: 5}},
		Users: map[string]string{"u1": "capped"}})
	if _, err := p.Admit(Call{Party: user("u1"), Number: "0044207946000"}); !errors.Is(err, ErrCategory) {
		t.Fatalf("before: international admitted: %v", err)
	}
	held, err := p.Admit(Call{Party: user("u1"), Number: "0441234567"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	o := Options{Region: "CH", Classes: []Class{{Name: "capped", Allow: []Category{Internal, National, International}, MaxCalls: 1}},
		Users: map[string]string{"u1": "capped"}}
	if err := p.Update(o); err != nil {
		t.Fatal(err)
	}
	// The held call fills the new cap of 1.
	if _, err := p.Admit(Call{Party: user("u1"), Number: "0044207946000"}); !errors.Is(err, ErrTooManyCalls) {
		t.Fatalf("after: want the new cap, got %v", err)
	}
	held.Release()
	tk, err := p.Admit(Call{Party: user("u1"), Number: "0044207946000"})
	if err != nil {
		t.Fatalf("after: international refused: %v", err)
	}
	tk.Release()
	bad := o
	bad.Users = map[string]string{"u1": "nosuchclass"}
	if err := p.Update(bad); err == nil {
		t.Fatal("an update naming an unknown class was taken")
	}
	if c := p.ClassOf(user("u1")); c != "capped" {
		t.Fatalf("a refused update changed the class: %s", c)
	}
}

// TestUpdateConcurrentWithAdmit: updates race admissions (run with -race).
func TestUpdateConcurrentWithAdmit(t *testing.T) {
	p, _ := newTestPolicy(t, Options{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if tk, err := p.Admit(Call{Party: user("u1"), Number: "0441234567"}); err == nil {
					tk.Release()
				}
			}
		})
	}
	for i := range 50 {
		region := "CH"
		if i%2 == 0 {
			region = "DE"
		}
		if err := p.Update(Options{Region: region, Users: map[string]string{"u1": ClassUnrestricted}}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if s := p.Stats(); s.Calls != 0 {
		t.Fatalf("calls held after every release: %d", s.Calls)
	}
}
