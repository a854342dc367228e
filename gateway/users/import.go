// Package users imports SIP accounts in bulk from CSV files and writes the
// report of the rows that failed.
package users

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Errors for files that cannot be imported at all; Import wraps them with
// the details (the line, the column).
var (
	// ErrBadHeader means the header row is missing, lacks a required
	// column, repeats one or names a column Import does not know.
	ErrBadHeader = errors.New("bad csv header")
	// ErrBadCSV means the file is not valid CSV (RFC 4180), for example a
	// quoted field that never ends.
	ErrBadCSV = errors.New("bad csv")
	// ErrNoRealm means Import was called without a realm.
	ErrNoRealm = errors.New("no realm")
)

// Column names of the import file.
const (
	ColUsername    = "username"
	ColPassword    = "password"
	ColDisplayName = "display_name"
	ColExtension   = "extension"
)

// Failure reasons, as they appear in the report. Some carry detail after
// them, such as the row a duplicate was first seen on.
const (
	ReasonEmptyUsername  = "empty username"
	ReasonBadUsername    = "bad username: want 1-64 of A-Z a-z 0-9 . _ + -, starting with a letter or digit"
	ReasonEmptyPassword  = "empty password"
	ReasonDuplicate      = "duplicate username in file"
	ReasonExists         = "user already exists"
	ReasonColumnCount    = "wrong column count"
	ReasonBadDisplayName = "bad display_name: control characters, invalid UTF-8 or over 128 bytes"
	ReasonBadExtension   = "bad extension: control characters, invalid UTF-8 or over 32 bytes"
)

const (
	maxDisplayName     = 128
	maxExtension       = 32
	maxAddUsersRetries = 3 // see addUsers
	utf8BOM            = "\uFEFF"
)

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)

// Report is the outcome of an import.
type Report struct {
	Imported int       // users stored
	Failed   []Failure // rows not stored, in file order
}

// Failure is one row that was not imported.
type Failure struct {
	Row      int    // 1-based line number in the file; the header is row 1
	Username string // as written in the file, possibly empty or invalid
	Reason   string // one of the Reason constants, possibly with detail
}

// row is a data row that passed validation.
type row struct {
	line int
	user store.User
}

// Import reads a CSV file of users and stores every valid row in one
// transaction (store.Store.AddUsers), with digests computed for realm.
//
// The header row names the columns, in any order and any letter case:
// username and password are required, display_name and extension optional;
// any other column fails the whole file with ErrBadHeader. A UTF-8 byte order
// mark, CRLF line ends and blank lines are accepted. A row fails on its own,
// storing nothing of itself, when its column count differs from the header's,
// its username is empty, invalid (^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$) or
// seen in an earlier row (the first row with a valid username claims it,
// whatever else is wrong with that row), its
// password is empty, its display name or extension holds control characters,
// or the user exists in the store already. Values are taken as written:
// nothing is trimmed.
//
// The returned error is for failures of the whole file (ErrBadHeader,
// ErrBadCSV, a read error) or of the store; then nothing was stored.
func Import(ctx context.Context, s store.Store, realm string, r io.Reader) (Report, error) {
	if realm == "" {
		return Report{}, fmt.Errorf("import users: %w", ErrNoRealm)
	}
	cr := csv.NewReader(skipBOM(r))
	cr.FieldsPerRecord = -1 // column counts are checked per row
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return Report{}, fmt.Errorf("import users: empty file: %w", ErrBadHeader)
	}
	if err != nil {
		return Report{}, fmt.Errorf("import users: %w: %w", ErrBadCSV, err)
	}
	cols, err := parseHeader(header)
	if err != nil {
		return Report{}, fmt.Errorf("import users: line 1: %w", err)
	}

	var (
		rep   Report
		good  []row
		first = map[string]int{} // username -> line it was first seen on
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Report{}, fmt.Errorf("import users: %w: %w", ErrBadCSV, err)
		}
		line, _ := cr.FieldPos(0)
		u, reason := cols.user(rec, realm, first, line)
		if reason != "" {
			rep.Failed = append(rep.Failed, Failure{Row: line, Username: cols.username(rec), Reason: reason})
			continue
		}
		good = append(good, row{line: line, user: u})
	}

	good, err = addUsers(ctx, s, good, &rep)
	if err != nil {
		return Report{}, fmt.Errorf("import users: %w", err)
	}
	rep.Imported = len(good)
	slices.SortFunc(rep.Failed, func(a, b Failure) int { return a.Row - b.Row })
	return rep, nil
}

// addUsers drops the rows whose users exist already (as failures in rep) and
// adds the rest in one transaction. If another writer adds one of them in
// between, the transaction fails with ErrExists and is retried with a fresh
// look at the store.
func addUsers(ctx context.Context, s store.Store, good []row, rep *Report) ([]row, error) {
	for attempt := 0; ; attempt++ {
		if len(good) == 0 {
			return nil, nil
		}
		existing, err := s.Users(ctx)
		if err != nil {
			return nil, err
		}
		exists := make(map[string]bool, len(existing))
		for _, u := range existing {
			exists[u.Username] = true
		}
		kept := good[:0]
		for _, g := range good {
			if exists[g.user.Username] {
				rep.Failed = append(rep.Failed, Failure{Row: g.line, Username: g.user.Username, Reason: ReasonExists})
				continue
			}
			kept = append(kept, g)
		}
		good = kept
		if len(good) == 0 {
			return nil, nil
		}
		users := make([]store.User, len(good))
		for i, g := range good {
			users[i] = g.user
		}
		err = s.AddUsers(ctx, users)
		if err == nil {
			return good, nil
		}
		if !errors.Is(err, store.ErrExists) || attempt+1 >= maxAddUsersRetries {
			return nil, err
		}
	}
}

// columns maps the known columns to their index in a record; -1 if absent.
type columns struct {
	n                            int // columns in the header
	iUser, iPass, iDisplay, iExt int
}

func parseHeader(header []string) (columns, error) {
	c := columns{n: len(header), iUser: -1, iPass: -1, iDisplay: -1, iExt: -1}
	for i, name := range header {
		var slot *int
		switch strings.ToLower(strings.TrimSpace(name)) {
		case ColUsername:
			slot = &c.iUser
		case ColPassword:
			slot = &c.iPass
		case ColDisplayName:
			slot = &c.iDisplay
		case ColExtension:
			slot = &c.iExt
		default:
			return c, fmt.Errorf("column %d %q: unknown column (want %s, %s, %s, %s): %w",
				i+1, name, ColUsername, ColPassword, ColDisplayName, ColExtension, ErrBadHeader)
		}
		if *slot >= 0 {
			return c, fmt.Errorf("column %d %q: repeated: %w", i+1, name, ErrBadHeader)
		}
		*slot = i
	}
	for _, req := range []struct {
		name string
		idx  int
	}{{ColUsername, c.iUser}, {ColPassword, c.iPass}} {
		if req.idx < 0 {
			return c, fmt.Errorf("no %s column: %w", req.name, ErrBadHeader)
		}
	}
	return c, nil
}

// username returns the username field of rec, if it has one, for reports.
func (c columns) username(rec []string) string {
	if c.iUser < len(rec) {
		return rec[c.iUser]
	}
	return ""
}

// user validates rec and returns its user, or the reason it fails. first
// records the line of each username's first occurrence.
func (c columns) user(rec []string, realm string, first map[string]int, line int) (store.User, string) {
	if len(rec) != c.n {
		return store.User{}, fmt.Sprintf("%s: %d, header has %d", ReasonColumnCount, len(rec), c.n)
	}
	name := rec[c.iUser]
	switch {
	case name == "":
		return store.User{}, ReasonEmptyUsername
	case !usernameRE.MatchString(name):
		return store.User{}, ReasonBadUsername
	}
	if l, ok := first[name]; ok {
		return store.User{}, fmt.Sprintf("%s (first on row %d)", ReasonDuplicate, l)
	}
	first[name] = line
	password := rec[c.iPass]
	if password == "" {
		return store.User{}, ReasonEmptyPassword
	}
	var display, ext string
	if c.iDisplay >= 0 {
		display = rec[c.iDisplay]
		if !cleanText(display, maxDisplayName) {
			return store.User{}, ReasonBadDisplayName
		}
	}
	if c.iExt >= 0 {
		ext = rec[c.iExt]
		if !cleanText(ext, maxExtension) {
			return store.User{}, ReasonBadExtension
		}
	}
	return store.NewUser(name, realm, password, display, ext), ""
}

// cleanText reports whether s is valid UTF-8 of at most limit bytes without
// control characters. Display names go into SIP headers, where a CR or LF
// would let a file inject header lines.
func cleanText(s string, limit int) bool {
	if len(s) > limit || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// skipBOM drops a leading UTF-8 byte order mark, as spreadsheet programs
// write.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, []byte(utf8BOM)) {
		_, _ = br.Discard(len(utf8BOM))
	}
	return br
}
