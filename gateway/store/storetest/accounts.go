package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// testAccounts: accounts round-trip, updates keep CreatedAt, and deleting
// an account takes its sessions and tokens with it.
func testAccounts(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	if as, err := s.Accounts(c); err != nil || len(as) != 0 {
		t.Fatalf("Accounts on empty store = %v, %v", as, err)
	}
	if _, err := s.Account(c, "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Account(admin) = %v, want ErrNotFound", err)
	}
	op := store.Account{Name: "olga", DisplayName: "Olga O", Role: "operator", Groups: []string{"reception", "after-hours"},
		Device: "gateway:u1000", PasswordHash: "$argon2id$x"}
	adm := store.Account{Name: "admin", Role: "admin", PasswordHash: "$argon2id$y"}
	for _, a := range []store.Account{op, adm} {
		if err := s.AddAccount(c, a); err != nil {
			t.Fatalf("AddAccount(%s): %v", a.Name, err)
		}
	}
	if err := s.AddAccount(c, op); !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddAccount twice = %v, want ErrExists", err)
	}
	if err := s.AddAccount(c, store.Account{Name: "x", Role: "admin"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("AddAccount without hash = %v, want ErrInvalid", err)
	}
	got, err := s.Account(c, "olga")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != op.DisplayName || got.Role != op.Role || got.Device != op.Device ||
		!slices.Equal(got.Groups, []string{"after-hours", "reception"}) || got.PasswordHash != op.PasswordHash ||
		got.Disabled || got.CreatedAt.IsZero() {
		t.Fatalf("Account(olga) = %+v", got)
	}
	as, _ := s.Accounts(c)
	if len(as) != 2 || as[0].Name != "admin" || as[1].Name != "olga" {
		t.Fatalf("Accounts = %+v, want admin, olga", as)
	}
	time.Sleep(2 * time.Millisecond)
	got.Disabled, got.Groups, got.Role = true, nil, "supervisor"
	if err := s.UpdateAccount(c, got); err != nil {
		t.Fatal(err)
	}
	upd, _ := s.Account(c, "olga")
	if !upd.Disabled || upd.Groups != nil || upd.Role != "supervisor" || !upd.CreatedAt.Equal(got.CreatedAt) ||
		!upd.UpdatedAt.After(got.UpdatedAt) {
		t.Fatalf("after update %+v (before %+v)", upd, got)
	}
	if err := s.UpdateAccount(c, store.Account{Name: "nobody", Role: "admin", PasswordHash: "h"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateAccount(nobody) = %v", err)
	}

	// Sessions.
	t0 := now()
	for _, se := range []store.Session{
		{IDHash: "h1", Account: "olga", Source: "192.0.2.1", CreatedAt: t0, LastSeen: t0},
		{IDHash: "h2", Account: "olga", CreatedAt: t0.Add(-2 * time.Hour), LastSeen: t0},
		{IDHash: "h3", Account: "admin", CreatedAt: t0, LastSeen: t0.Add(-time.Hour)},
	} {
		if err := s.PutSession(c, se); err != nil {
			t.Fatalf("PutSession %s: %v", se.IDHash, err)
		}
	}
	if err := s.PutSession(c, store.Session{IDHash: "h9", Account: "nobody", CreatedAt: t0, LastSeen: t0}); err == nil {
		t.Fatal("PutSession for a missing account succeeded")
	}
	se, err := s.Session(c, "h1")
	if err != nil || se.Account != "olga" || se.Source != "192.0.2.1" || !se.CreatedAt.Equal(t0) {
		t.Fatalf("Session(h1) = %+v, %v", se, err)
	}
	live, err := s.LiveSessions(c, t0.Add(-30*time.Minute), t0.Add(-time.Hour))
	if err != nil || live["olga"] != 1 || live["admin"] != 0 {
		t.Fatalf("LiveSessions = %v, %v; want olga 1", live, err)
	}
	if err := s.TouchSession(c, "h3", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if se, _ := s.Session(c, "h3"); !se.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("touched LastSeen = %v", se.LastSeen)
	}
	if n, err := s.DeleteStaleSessions(c, t0.Add(-30*time.Minute), t0.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteStaleSessions = %d, %v; want 1 (h2 too old)", n, err)
	}
	if err := s.DeleteSession(c, "h3"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(c, "h3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteSession twice = %v", err)
	}

	// Tokens.
	tok := store.Token{ID: "t1", Hash: "abc", Name: "crm", Account: "olga", Role: "operator", Expires: t0.Add(time.Hour)}
	if err := s.AddToken(c, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(c, tok); !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddToken twice = %v", err)
	}
	if err := s.AddToken(c, store.Token{ID: "t2", Hash: "d", Account: "admin", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	gt, err := s.Token(c, "t1")
	if err != nil || gt.Hash != "abc" || gt.Name != "crm" || !gt.Expires.Equal(tok.Expires) || gt.CreatedAt.IsZero() {
		t.Fatalf("Token(t1) = %+v, %v", gt, err)
	}
	if ts, _ := s.Tokens(c, "olga"); len(ts) != 1 {
		t.Fatalf("Tokens(olga) = %+v", ts)
	}
	if ts, _ := s.Tokens(c, ""); len(ts) != 2 {
		t.Fatalf("Tokens() = %+v", ts)
	}

	// Reopened, then the account deleted with what hangs on it.
	s = reopen(t, s, open)
	if err := s.DeleteAccount(c, "olga"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(c, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a deleted account: %v", err)
	}
	if _, err := s.Token(c, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of a deleted account: %v", err)
	}
	if _, err := s.Token(c, "t2"); err != nil {
		t.Errorf("another account's token: %v", err)
	}
	if err := s.DeleteAccount(c, "olga"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAccount twice = %v", err)
	}
	if err := s.DeleteToken(c, "t2"); err != nil {
		t.Fatal(err)
	}
}
