// Package contacts reads the directory's contacts from CSV files (issue
// 14: "CSV import with a failed-row report, like users") and writes the
// report of the rows that failed, in the style of gateway/users.
package contacts

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Errors for files that cannot be imported at all.
var (
	// ErrBadHeader: the header row is missing, lacks name or numbers,
	// repeats a column or names one Parse does not know.
	ErrBadHeader = errors.New("bad csv header")
	// ErrBadCSV: the file is not CSV (RFC 4180), e.g. a quote never
	// closed, or not UTF-8 text.
	ErrBadCSV = errors.New("bad csv")
	// ErrTooManyRows: more data rows than MaxRows.
	ErrTooManyRows = errors.New("too many rows")
)

// Column names of the import file. numbers holds one or more numbers
// separated by ";" or "|".
const (
	ColName    = "name"
	ColNumbers = "numbers"
	ColCompany = "company"
	ColEmail   = "email"
	ColNotes   = "notes"
)

// MaxRows is the most data rows one file may hold.
const MaxRows = 10000

// Failure is one row that was not imported.
type Failure struct {
	Row    int    `json:"row"`    // 1-based line in the file; the header is row 1
	Name   string `json:"name"`   // as written, possibly empty
	Reason string `json:"reason"` // why
}

// Row is a contact read from one row.
type Row struct {
	Line    int
	Contact store.Contact
}

// Parse reads a CSV file of contacts: a header row naming the columns in
// any order and letter case (name and numbers required; company, email and
// notes optional), then one contact per row. A UTF-8 byte order mark, CRLF
// line ends and blank lines are accepted. A row fails on its own when its
// column count differs from the header's or its contact does not pass
// store.Contact.Normalize; the error is for the whole file.
func Parse(r io.Reader) ([]Row, []Failure, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("import contacts: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, fmt.Errorf("import contacts: %w: not UTF-8 text", ErrBadCSV)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("import contacts: empty file: %w", ErrBadHeader)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("import contacts: %w: %w", ErrBadCSV, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		switch h {
		case ColName, ColNumbers, ColCompany, ColEmail, ColNotes:
		default:
			return nil, nil, fmt.Errorf("import contacts: line 1: %w: unknown column %s (want name, numbers, company, email, notes)",
				ErrBadHeader, strconv.Quote(cut(h, 40)))
		}
		if _, dup := idx[h]; dup {
			return nil, nil, fmt.Errorf("import contacts: line 1: %w: column %s twice", ErrBadHeader, h)
		}
		idx[h] = i
	}
	for _, need := range []string{ColName, ColNumbers} {
		if _, ok := idx[need]; !ok {
			return nil, nil, fmt.Errorf("import contacts: line 1: %w: no %s column", ErrBadHeader, need)
		}
	}
	field := func(rec []string, col string) string {
		if i, ok := idx[col]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var rows []Row
	var failed []Failure
	n := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("import contacts: %w: %w", ErrBadCSV, err)
		}
		if n++; n > MaxRows {
			return nil, nil, fmt.Errorf("import contacts: %w: more than %d", ErrTooManyRows, MaxRows)
		}
		line, _ := cr.FieldPos(0)
		name := field(rec, ColName)
		if len(rec) != len(header) {
			failed = append(failed, Failure{Row: line, Name: name, Reason: fmt.Sprintf("wrong column count: %d, the header has %d", len(rec), len(header))})
			continue
		}
		c := store.Contact{Name: name, Company: field(rec, ColCompany), Email: field(rec, ColEmail), Notes: field(rec, ColNotes)}
		for _, num := range strings.FieldsFunc(field(rec, ColNumbers), func(r rune) bool { return r == ';' || r == '|' }) {
			if num = strings.TrimSpace(num); num != "" {
				c.Numbers = append(c.Numbers, num)
			}
		}
		nc, err := c.Normalize()
		if err != nil {
			failed = append(failed, Failure{Row: line, Name: name, Reason: strings.TrimSuffix(strings.TrimPrefix(err.Error(), "contact: "), ": "+store.ErrInvalid.Error())})
			continue
		}
		rows = append(rows, Row{Line: line, Contact: nc})
	}
	return rows, failed, nil
}

// WriteReport writes the failed-row report as CSV with the header
// row,name,reason. As the users report (gateway/users), cells a spreadsheet
// would run as a formula get a leading apostrophe and long ones are cut.
func WriteReport(w io.Writer, failures []Failure) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"row", "name", "reason"}); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for _, f := range failures {
		if err := cw.Write([]string{strconv.Itoa(f.Row), cell(f.Name), cell(f.Reason)}); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// cell makes s safe for a spreadsheet cell (OWASP "CSV injection").
func cell(s string) string {
	s = cut(strings.ToValidUTF8(s, "\uFFFD"), 100)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return s
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

// sameContact reports whether a and b name the same person with the
// same numbers (name compared without case, numbers as a set).
func sameContact(a, b store.Contact) bool {
	if !strings.EqualFold(a.Name, b.Name) || len(a.Numbers) != len(b.Numbers) {
		return false
	}
	seen := map[string]bool{}
	for _, n := range a.Numbers {
		seen[n] = true
	}
	for _, n := range b.Numbers {
		if !seen[n] {
			return false
		}
	}
	return true
}

// Dedupe drops the rows that repeat an earlier row of the file or a
// stored contact (same name and numbers), so that importing a file again
// adds nothing. existing returns the stored contacts whose name contains
// name. The dropped rows are returned as failures, with the others' in
// row order.
func Dedupe(rows []Row, failed []Failure, existing func(name string) ([]store.Contact, error)) ([]Row, []Failure, error) {
	var kept []Row
	for _, r := range rows {
		dup := ""
		for _, k := range kept {
			if sameContact(k.Contact, r.Contact) {
				dup = "duplicate of row " + strconv.Itoa(k.Line)
				break
			}
		}
		if dup == "" {
			cs, err := existing(r.Contact.Name)
			if err != nil {
				return nil, nil, fmt.Errorf("import contacts: %w", err)
			}
			for _, c := range cs {
				if sameContact(c, r.Contact) {
					dup = "already a contact (id " + strconv.FormatInt(c.ID, 10) + ")"
					break
				}
			}
		}
		if dup != "" {
			failed = append(failed, Failure{Row: r.Line, Name: r.Contact.Name, Reason: dup})
			continue
		}
		kept = append(kept, r)
	}
	sortFailures(failed)
	return kept, failed, nil
}

func sortFailures(fs []Failure) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Row < fs[j-1].Row; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}
