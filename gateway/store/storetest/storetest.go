// Package storetest is the conformance suite every store.Store
// implementation must pass. An implementation's tests call Run with a
// function that opens its store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(storetest.Dir(t), "switchboard.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The open function must follow these rules:
//
//   - The first call for a test returns an empty store; later calls for the
//     same test (after the suite has closed the previous one) reopen the same
//     database, so the suite can check what survives a restart.
//   - Calls for different tests return independent stores, and may happen
//     concurrently (the subtests run in parallel).
//   - In the crash test's child process (a re-run of the test binary), open
//     must reach the database the parent test uses. Dir gives file-based
//     stores a directory that does this; a server-based store can keep the
//     name of its database or schema in a file in Dir.
//   - It should register a t.Cleanup that closes the store; Close must be
//     safe to call twice.
package storetest

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Environment variables that turn a re-run test binary into the crash
// test's child.
const (
	envCrashChild = "SWITCHBOARD_STORETEST_CRASH_CHILD"
	envCrashDir   = "SWITCHBOARD_STORETEST_DIR"
)

// Opener opens the store under test for t; see the package documentation.
type Opener = func(t *testing.T) store.Store

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"UsersCRUD", testUsersCRUD},
		{"UserHA1", testUserHA1},
		{"AddUsersAllOrNothing", testAddUsersAllOrNothing},
		{"PutUsersAllOrNothing", testPutUsersAllOrNothing},
		{"BindingsApply", testBindingsApply},
		{"BindingsDelete", testBindingsDelete},
		{"BindingsInvalid", testBindingsInvalid},
		{"BindingsExpire", testBindingsExpire},
		{"BindingsPath", testBindingsPath},
		{"Bans", testBans},
		{"Settings", testSettings},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentApply", testConcurrentApply},
		{"ConcurrentWriter", testConcurrentWriter},
		{"RecordsRoundTrip", testRecordsRoundTrip},
		{"RecordsBatches", testRecordsBatches},
		{"RecordsInvalid", testRecordsInvalid},
		{"RecordsParties", testRecordsParties},
		{"RecordsPaging", testRecordsPaging},
		{"RecordsRetention", testRecordsRetention},
		{"RecordsCanceled", testRecordsCanceled},
		{"RecordsQueue", testRecordsQueue},
		{"Accounts", testAccounts}, // accounts.go
		{"Contacts", testContacts}, // contacts.go
		{"ContactsInvalid", testContactsInvalid},
		{"Operators", testOperators}, // operators.go
		{"Reopen", testReopen},
		{"Crash", testCrash},
	}
	child := os.Getenv(envCrashChild) != ""
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !child {
				t.Parallel()
			}
			tc.fn(t, open)
		})
	}
}

var dirs = struct {
	sync.Mutex
	m map[*testing.T]string
}{m: map[*testing.T]string{}}

// Dir returns a directory for the database of test t: the same one on every
// call for t, and, in the crash test's child process, the directory of the
// parent test. It is removed when t ends.
func Dir(t *testing.T) string {
	if d := os.Getenv(envCrashDir); d != "" && os.Getenv(envCrashChild) != "" {
		return d
	}
	dirs.Lock()
	defer dirs.Unlock()
	if d, ok := dirs.m[t]; ok {
		return d
	}
	d := t.TempDir()
	dirs.m[t] = d
	t.Cleanup(func() {
		dirs.Lock()
		delete(dirs.m, t)
		dirs.Unlock()
	})
	return d
}

// reopen closes s and opens the same database again.
func reopen(t *testing.T, s store.Store, open Opener) store.Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return open(t)
}

// now returns the current time at the precision every store keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// ctx returns a context for one test, ended with it.
func ctx(t *testing.T) context.Context { return t.Context() }

func mustPutUsers(t *testing.T, s store.Store, users ...store.User) {
	t.Helper()
	if err := s.PutUsers(ctx(t), users); err != nil {
		t.Fatalf("PutUsers: %v", err)
	}
}

func mustApply(t *testing.T, s store.Store, changes ...store.BindingChange) {
	t.Helper()
	if err := s.ApplyBindings(ctx(t), changes); err != nil {
		t.Fatalf("ApplyBindings: %v", err)
	}
}

func mustBindings(t *testing.T, s store.Store) []store.Binding {
	t.Helper()
	bs, err := s.Bindings(ctx(t))
	if err != nil {
		t.Fatalf("Bindings: %v", err)
	}
	return bs
}

func usernames(users []store.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Username
	}
	return out
}

func aors(bs []store.Binding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.AOR
	}
	return out
}

// sameBinding compares bindings field by field, times with Equal and a nil
// Path equal to an empty one.
func sameBinding(a, b store.Binding) bool {
	return a.AOR == b.AOR && a.ContactURI == b.ContactURI && a.Params == b.Params &&
		a.Q == b.Q && a.Expires.Equal(b.Expires) && a.CallID == b.CallID && a.CSeq == b.CSeq &&
		a.InstanceID == b.InstanceID && a.RegID == b.RegID && slices.Equal(a.Path, b.Path) &&
		a.Source == b.Source && a.Transport == b.Transport && a.LocalAddr == b.LocalAddr &&
		a.UserAgent == b.UserAgent && a.UpdatedAt.Equal(b.UpdatedAt)
}

// binding returns a full binding for aor with contact uri, expiring in an hour.
func binding(aor, uri string) store.Binding {
	n := now()
	return store.Binding{
		AOR:        aor,
		ContactURI: uri,
		Params:     ";transport=tcp;ob",
		Q:          0.5,
		Expires:    n.Add(time.Hour),
		CallID:     "call-" + aor,
		CSeq:       4294967295,
		Source:     "192.0.2.10:5062",
		Transport:  "tcp",
		LocalAddr:  "198.51.100.1:5060",
		UserAgent:  "Test Phone/1.0",
		UpdatedAt:  n,
	}
}
