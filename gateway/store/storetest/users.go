package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

func testUsersCRUD(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	before := now()

	if users, err := s.Users(c); err != nil || len(users) != 0 {
		t.Fatalf("Users on empty store = %v, %v; want none", users, err)
	}
	if _, err := s.User(c, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(nobody) error = %v, want ErrNotFound", err)
	}
	if err := s.PutUsers(c, nil); err != nil {
		t.Fatalf("PutUsers(nil) = %v, want nil", err)
	}

	// Inserted out of order; Users sorts by username (byte order).
	mustPutUsers(t, s,
		store.NewUser("carol", "example.com", "pw3", "Carol C", "1003"),
		store.NewUser("alice", "example.com", "pw1", "Alice A", "1001"),
		store.NewUser("Bob", "example.com", "pw2", "", ""),
	)
	users, err := s.Users(c)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if got, want := usernames(users), []string{"Bob", "alice", "carol"}; !slices.Equal(got, want) {
		t.Fatalf("Users = %v, want %v", got, want)
	}

	alice, err := s.User(c, "alice")
	if err != nil {
		t.Fatalf("User(alice): %v", err)
	}
	want := store.NewUser("alice", "example.com", "pw1", "Alice A", "1001")
	if alice.Username != want.Username || alice.DisplayName != want.DisplayName ||
		alice.Extension != want.Extension || alice.Realm != want.Realm ||
		alice.HA1MD5 != want.HA1MD5 || alice.HA1SHA256 != want.HA1SHA256 {
		t.Fatalf("User(alice) = %+v, want %+v", alice, want)
	}
	if alice.CreatedAt.Before(before) || alice.UpdatedAt.Before(before) {
		t.Fatalf("User(alice) times %v/%v before the write at %v", alice.CreatedAt, alice.UpdatedAt, before)
	}
	if _, err := s.User(c, "ALICE"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(ALICE) error = %v, want ErrNotFound: usernames are case-sensitive", err)
	}

	// Upsert replaces the fields but keeps CreatedAt.
	time.Sleep(2 * time.Millisecond)
	mustPutUsers(t, s, store.NewUser("alice", "example.com", "new", "Alice Z", "2001"))
	alice2, err := s.User(c, "alice")
	if err != nil {
		t.Fatalf("User(alice): %v", err)
	}
	if alice2.DisplayName != "Alice Z" || alice2.Extension != "2001" ||
		alice2.HA1MD5 != store.HA1MD5("alice", "example.com", "new") {
		t.Fatalf("after upsert User(alice) = %+v", alice2)
	}
	if !alice2.CreatedAt.Equal(alice.CreatedAt) {
		t.Errorf("upsert changed CreatedAt from %v to %v", alice.CreatedAt, alice2.CreatedAt)
	}
	if !alice2.UpdatedAt.After(alice.UpdatedAt) {
		t.Errorf("upsert did not move UpdatedAt (%v, then %v)", alice.UpdatedAt, alice2.UpdatedAt)
	}

	if err := s.DeleteUser(c, "alice"); err != nil {
		t.Fatalf("DeleteUser(alice): %v", err)
	}
	if err := s.DeleteUser(c, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteUser(alice) error = %v, want ErrNotFound", err)
	}
	if _, err := s.User(c, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(alice) after delete error = %v, want ErrNotFound", err)
	}
	users, err = s.Users(c)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if got, want := usernames(users), []string{"Bob", "carol"}; !slices.Equal(got, want) {
		t.Fatalf("Users after delete = %v, want %v", got, want)
	}
}

// testUserHA1 checks the stored digests against vectors computed outside Go
// (Python hashlib) for H(username ":" realm ":" password), RFC 7616 §3.4.2.
func testUserHA1(t *testing.T, open Opener) {
	tests := []struct {
		user, realm, password string
		md5, sha256           string
	}{
		{"u1000", "example.com", "secret",
			"904d9e247cd9bca323def03e3c71648d",
			"16af70c5c3471d14df8786bcaca30f3e0a391c993a5d6973863446ad5ca74140"},
		{"u1000", "other.example", "secret", // same password, other realm
			"f5dfa29c6357678ca09e5567be689426",
			"90d0d49a050054d04f9297b68d320fbf36944b7042d3c12bbb85f455a10bbf5a"},
		{"Mufasa", "http-auth@example.org", "Circle of Life",
			"3d78807defe7de2157e2b0b6573a855f",
			"7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"},
		{"ünï", "example.com", "pässwörd", // UTF-8 bytes, as phones send them
			"f0a220785ad5f0b1573ca0f9bb40cce5",
			"2dd34e88f6e6b4260f5d487017fac94c11ab8d36646e24007c59db5d96acd96c"},
	}
	s := open(t)
	for _, tc := range tests {
		u := store.NewUser(tc.user, tc.realm, tc.password, "", "")
		if u.HA1MD5 != tc.md5 || u.HA1SHA256 != tc.sha256 {
			t.Errorf("NewUser(%q, %q, ...) HA1 = %s / %s, want %s / %s",
				tc.user, tc.realm, u.HA1MD5, u.HA1SHA256, tc.md5, tc.sha256)
		}
		mustPutUsers(t, s, u)
		got, err := s.User(ctx(t), tc.user)
		if err != nil {
			t.Fatalf("User(%q): %v", tc.user, err)
		}
		if got.HA1MD5 != tc.md5 || got.HA1SHA256 != tc.sha256 || got.Realm != tc.realm {
			t.Errorf("stored %q: realm %q HA1 %s / %s, want %q %s / %s",
				tc.user, got.Realm, got.HA1MD5, got.HA1SHA256, tc.realm, tc.md5, tc.sha256)
		}
	}
}

func testAddUsersAllOrNothing(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	mustPutUsers(t, s, store.NewUser("bob", "example.com", "pw", "Bob", "1002"))

	// One existing user fails the whole batch, and the error names it.
	err := s.AddUsers(c, []store.User{
		store.NewUser("carol", "example.com", "pw", "", ""),
		store.NewUser("bob", "example.com", "other", "Robert", ""),
		store.NewUser("dave", "example.com", "pw", "", ""),
	})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddUsers with existing bob: error = %v, want ErrExists", err)
	}
	if !strings.Contains(err.Error(), "bob") {
		t.Errorf("AddUsers error %q does not name bob", err)
	}
	// A name twice in one batch fails it too.
	err = s.AddUsers(c, []store.User{
		store.NewUser("erin", "example.com", "pw", "", ""),
		store.NewUser("erin", "example.com", "pw2", "", ""),
	})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddUsers with erin twice: error = %v, want ErrExists", err)
	}
	users, err := s.Users(c)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if got := usernames(users); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("after failed AddUsers, Users = %v, want [bob]", got)
	}
	if bob, _ := s.User(c, "bob"); bob.DisplayName != "Bob" {
		t.Fatalf("failed AddUsers changed bob: %+v", bob)
	}

	if err := s.AddUsers(c, []store.User{
		store.NewUser("carol", "example.com", "pw", "", ""),
		store.NewUser("dave", "example.com", "pw", "", ""),
	}); err != nil {
		t.Fatalf("AddUsers(carol, dave): %v", err)
	}
	users, _ = s.Users(c)
	if got := usernames(users); !slices.Equal(got, []string{"bob", "carol", "dave"}) {
		t.Fatalf("Users = %v, want [bob carol dave]", got)
	}
}

func testPutUsersAllOrNothing(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	err := s.PutUsers(c, []store.User{
		store.NewUser("frank", "example.com", "pw", "", ""),
		store.NewUser("", "example.com", "pw", "", ""),
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("PutUsers with an empty username: error = %v, want ErrInvalid", err)
	}
	if _, err := s.User(c, "frank"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed PutUsers stored frank (User error = %v)", err)
	}
	// A user without digests is refused: plain passwords are never stored,
	// so a user without HA1 could never log in.
	if err := s.PutUsers(c, []store.User{{Username: "gina", Realm: "example.com"}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("PutUsers without HA1: error = %v, want ErrInvalid", err)
	}
}
