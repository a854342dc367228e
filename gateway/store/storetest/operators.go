package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// testOperators: operator states and user presence round-trip, replace,
// clear, and an account's state goes with the account.
func testOperators(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	if got, err := s.OperatorStates(c); err != nil || len(got) != 0 {
		t.Fatalf("OperatorStates on empty store = %v, %v", got, err)
	}
	for _, n := range []string{"olga", "oscar"} {
		if err := s.AddAccount(c, store.Account{Name: n, Role: "operator", PasswordHash: "$argon2id$x"}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 123456000, time.UTC)
	for _, o := range []store.OperatorState{
		{Account: "olga", State: "available", Since: t0},
		{Account: "oscar", State: "paused", Reason: "Lunch", Since: t0},
		{Account: "olga", State: "paused", Reason: "Break", Since: t0.Add(time.Minute)}, // replaces
	} {
		if err := s.PutOperatorState(c, o); err != nil {
			t.Fatalf("PutOperatorState(%+v): %v", o, err)
		}
	}
	if err := s.PutOperatorState(c, store.OperatorState{State: "paused"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("state without account: %v, want ErrInvalid", err)
	}
	want := []store.OperatorState{
		{Account: "olga", State: "paused", Reason: "Break", Since: t0.Add(time.Minute)},
		{Account: "oscar", State: "paused", Reason: "Lunch", Since: t0},
	}
	got, err := s.OperatorStates(c)
	if err != nil || !slices.EqualFunc(got, want, func(a, b store.OperatorState) bool {
		return a.Account == b.Account && a.State == b.State && a.Reason == b.Reason && a.Since.Equal(b.Since)
	}) {
		t.Fatalf("OperatorStates = %+v, %v; want %+v", got, err, want)
	}
	if err := s.DeleteAccount(c, "oscar"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOperatorState(c, "olga"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOperatorState(c, "nobody"); err != nil {
		t.Errorf("DeleteOperatorState(nobody): %v", err)
	}
	if got, err := s.OperatorStates(c); err != nil || len(got) != 0 {
		t.Fatalf("after deletes OperatorStates = %+v, %v", got, err)
	}

	for _, p := range []store.UserPresence{
		{Device: "gateway:u1000", Presence: "away", UpdatedAt: t0},
		{Device: "mitel1:1001", Presence: "dnd", UpdatedAt: t0},
		{Device: "gateway:u1000", Presence: "busy", UpdatedAt: t0.Add(time.Second)},
		{Device: "mitel1:1001", Presence: ""}, // clears
	} {
		if err := s.PutUserPresence(c, p); err != nil {
			t.Fatalf("PutUserPresence(%+v): %v", p, err)
		}
	}
	if err := s.PutUserPresence(c, store.UserPresence{Presence: "away"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("presence without device: %v, want ErrInvalid", err)
	}
	ps, err := s.UserPresences(c)
	if err != nil || len(ps) != 1 || ps[0].Device != "gateway:u1000" || ps[0].Presence != "busy" || !ps[0].UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("UserPresences = %+v, %v", ps, err)
	}
}
