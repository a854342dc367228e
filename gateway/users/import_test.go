package users

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const realm = "example.com"

// memStore is an in-memory store.Store with the user methods Import uses.
type memStore struct {
	store.Store // nil: other methods are not called

	mu    sync.Mutex
	users map[string]store.User
	// beforeAdd, if set, runs at the start of AddUsers (to simulate a
	// concurrent writer).
	beforeAdd func(m *memStore)
}

func newMemStore(existing ...string) *memStore {
	m := &memStore{users: map[string]store.User{}}
	for _, name := range existing {
		m.users[name] = store.NewUser(name, realm, "old", "", "")
	}
	return m
}

func (m *memStore) Users(ctx context.Context) ([]store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b store.User) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

func (m *memStore) AddUsers(ctx context.Context, users []store.User) error {
	if f := m.beforeAdd; f != nil {
		m.beforeAdd = nil
		f(m)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for _, u := range users {
		if _, ok := m.users[u.Username]; ok || seen[u.Username] {
			return fmt.Errorf("add user %q: %w", u.Username, store.ErrExists)
		}
		seen[u.Username] = true
	}
	for _, u := range users {
		m.users[u.Username] = u
	}
	return nil
}

func TestImportGolden(t *testing.T) {
	tests := []struct {
		file         string
		wantImported int
		wantErr      error // whole-file error; then there is no golden file
	}{
		{"basic.csv", 4, nil},
		{"bom_crlf.csv", 2, nil},
		{"required_only.csv", 2, nil},
		{"header_only.csv", 0, nil},
		{"mixed.csv", 3, nil},
		{"quoted.csv", 2, nil},
		{"unknown_column.csv", 0, ErrBadHeader},
		{"no_password.csv", 0, ErrBadHeader},
		{"repeated_column.csv", 0, ErrBadHeader},
		{"empty.csv", 0, ErrBadHeader},
		{"bad_quote.csv", 0, ErrBadCSV},
		{"bare_quote.csv", 0, ErrBadCSV},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s := newMemStore("taken")
			rep, err := Import(t.Context(), s, realm, bytes.NewReader(in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Import error = %v, want %v", err, tc.wantErr)
				}
				if len(s.users) != 1 {
					t.Fatalf("failed import stored %d users", len(s.users)-1)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if rep.Imported != tc.wantImported {
				t.Errorf("Imported = %d, want %d (failures %+v)", rep.Imported, tc.wantImported, rep.Failed)
			}
			if got := len(s.users) - 1; got != rep.Imported {
				t.Errorf("store holds %d new users, report says %d", got, rep.Imported)
			}
			var out bytes.Buffer
			if err := WriteReport(&out, rep.Failed); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(tc.file, ".csv")+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("report differs from %s (run with -update to accept)\n got:\n%s\nwant:\n%s", golden, out.Bytes(), want)
			}
		})
	}
}

// TestImportStoresDigests checks values are taken as written (no trimming,
// CSV quoting undone) and only digests are kept.
func TestImportStoresDigests(t *testing.T) {
	s := newMemStore()
	in := "username,password,display_name\n" +
		"alice, spaced pw ,Alice\n" +
		`bob,"pa,ss ""word""","Berg, Bob"` + "\n"
	if _, err := Import(t.Context(), s, realm, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	for name, pw := range map[string]string{"alice": " spaced pw ", "bob": `pa,ss "word"`} {
		u := s.users[name]
		if want := store.NewUser(name, realm, pw, "", ""); u.HA1MD5 != want.HA1MD5 || u.HA1SHA256 != want.HA1SHA256 {
			t.Errorf("%s: stored HA1 not that of password %q", name, pw)
		}
		if u.Realm != realm {
			t.Errorf("%s: realm %q", name, u.Realm)
		}
	}
	if got := s.users["bob"].DisplayName; got != "Berg, Bob" {
		t.Errorf("bob display name %q", got)
	}
}

func TestImportNoRealm(t *testing.T) {
	if _, err := Import(t.Context(), newMemStore(), "", strings.NewReader("username,password\na,b\n")); !errors.Is(err, ErrNoRealm) {
		t.Fatalf("error = %v, want ErrNoRealm", err)
	}
}

// TestImportRace checks a user added by someone else between Import's check
// and its transaction is reported, not imported twice or failing the file.
func TestImportRace(t *testing.T) {
	s := newMemStore()
	s.beforeAdd = func(m *memStore) {
		m.mu.Lock()
		m.users["bob"] = store.NewUser("bob", realm, "theirs", "", "")
		m.mu.Unlock()
	}
	rep, err := Import(t.Context(), s, realm, strings.NewReader("username,password\nalice,a\nbob,b\ncarol,c\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 2 || len(rep.Failed) != 1 || rep.Failed[0].Row != 3 || rep.Failed[0].Reason != ReasonExists {
		t.Fatalf("report = %+v", rep)
	}
	if s.users["bob"].HA1MD5 != store.HA1MD5("bob", realm, "theirs") {
		t.Fatal("import overwrote the concurrently added bob")
	}
}

// TestImportSQLite runs an import against the real store: all good rows in
// one transaction, existing users reported.
func TestImportSQLite(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutUsers(t.Context(), []store.User{store.NewUser("taken", realm, "x", "", "")}); err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile(filepath.Join("testdata", "mixed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Import(t.Context(), s, realm, bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	users, err := s.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != rep.Imported+1 || rep.Imported != 3 {
		t.Fatalf("store has %d users, report imported %d", len(users), rep.Imported)
	}
	got, err := s.User(t.Context(), "good2")
	if err != nil {
		t.Fatal(err)
	}
	if got.HA1SHA256 != store.HA1SHA256("good2", realm, `pa,ss "word"`) || got.Extension != "3015" {
		t.Fatalf("good2 = %+v", got)
	}
}

// TestImportLarge imports over 100,000 rows, some bad, into SQLite.
func TestImportLarge(t *testing.T) {
	rows := 100_001
	if testing.Short() {
		rows = 5_000
	}
	var in bytes.Buffer
	in.WriteString("username,password,display_name,extension\r\n")
	bad := 0
	for i := range rows {
		switch {
		case i%1000 == 7:
			fmt.Fprintf(&in, "user%d,,No Password,%d\r\n", i, i)
			bad++
		case i%1000 == 8:
			fmt.Fprintf(&in, "user%d,pw,Dup,%d\r\n", i-1, i) // duplicate of the row before
			bad++
		default:
			fmt.Fprintf(&in, "user%d,pw%d,User %d,%d\r\n", i, i, i, i)
		}
	}
	in.WriteString("\r\n\r\n")
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	rep, err := Import(t.Context(), s, realm, &in)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows in %v", rows, time.Since(start))
	if rep.Imported != rows-bad || len(rep.Failed) != bad {
		t.Fatalf("Imported %d, failed %d; want %d, %d", rep.Imported, len(rep.Failed), rows-bad, bad)
	}
	if f := rep.Failed[0]; f.Row != 9 || f.Reason != ReasonEmptyPassword {
		t.Fatalf("first failure = %+v, want row 9 (line of user7)", f)
	}
	users, err := s.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != rep.Imported {
		t.Fatalf("store has %d users, want %d", len(users), rep.Imported)
	}
}

func TestWriteReport(t *testing.T) {
	var out bytes.Buffer
	err := WriteReport(&out, []Failure{
		{Row: 2, Username: "", Reason: ReasonEmptyUsername},
		{Row: 3, Username: "=HYPERLINK(\"x\")", Reason: ReasonBadUsername},
		{Row: 4, Username: "a,b\nc", Reason: ReasonBadUsername},
		{Row: 5, Username: strings.Repeat("x", 300), Reason: ReasonBadUsername},
		{Row: 6, Username: "bad\xffutf8", Reason: ReasonBadUsername},
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("report is not valid CSV: %v", err)
	}
	want := [][]string{
		{"row", "username", "reason"},
		{"2", "", ReasonEmptyUsername},
		{"3", "'=HYPERLINK(\"x\")", ReasonBadUsername},
		{"4", "a,b\nc", ReasonBadUsername},
		{"5", strings.Repeat("x", 100) + "…", ReasonBadUsername},
		{"6", "bad\uFFFDutf8", ReasonBadUsername},
	}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Fatalf("report = %q\nwant %q", recs, want)
	}
}

func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("username,password\n\"a\nb\",c\n"))
	f.Add([]byte("\xef\xbb\xbf\xef\xbb\xbfusername,password\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newMemStore("taken")
		rep, err := Import(context.Background(), s, realm, bytes.NewReader(data))
		if err != nil {
			if len(s.users) != 1 {
				t.Fatalf("failed import stored users: %v", err)
			}
			return
		}
		if got := len(s.users) - 1; got != rep.Imported {
			t.Fatalf("store has %d new users, report says %d", got, rep.Imported)
		}
		for i, fl := range rep.Failed {
			if fl.Row < 2 || fl.Reason == "" || (i > 0 && fl.Row <= rep.Failed[i-1].Row) {
				t.Fatalf("bad failure list: %+v", rep.Failed)
			}
		}
		for name, u := range s.users {
			if name != "taken" && (!usernameRE.MatchString(name) || u.HA1MD5 == "" || u.Realm != realm) {
				t.Fatalf("stored bad user %+v", u)
			}
		}
		var out bytes.Buffer
		if err := WriteReport(&out, rep.Failed); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil || len(recs) != len(rep.Failed)+1 {
			t.Fatalf("report does not read back: %d records, %v", len(recs), err)
		}
	})
}
