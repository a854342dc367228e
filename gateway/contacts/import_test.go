package contacts

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestParseGolden imports testdata/contacts.csv and compares the report
// of its failed rows with testdata/report.golden.
func TestParseGolden(t *testing.T) {
	f, err := os.Open("testdata/contacts.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, failed, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Contact.Name)
	}
	if strings.Join(names, "|") != "Zoe Keller|Adam Frei|Quoted, Name" {
		t.Errorf("imported %q", names)
	}
	if rows[0].Contact.Numbers[0] != "+41441234567" || len(rows[0].Contact.Numbers) != 2 || rows[0].Line != 2 {
		t.Errorf("first row %+v", rows[0])
	}
	var b strings.Builder
	if err := WriteReport(&b, failed); err != nil {
		t.Fatal(err)
	}
	if *update {
		_ = os.WriteFile("testdata/report.golden", []byte(b.String()), 0o644)
	}
	want, _ := os.ReadFile("testdata/report.golden")
	if b.String() != string(want) {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestParseWholeFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrBadHeader},
		{"no numbers column", "name,company\nx,y\n", ErrBadHeader},
		{"unknown column", "name,numbers,password\n", ErrBadHeader},
		{"duplicate column", "name,numbers,Name\n", ErrBadHeader},
		{"binary", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ErrBadCSV},
		{"latin1", "name,numbers\nM\xfcller,1\n", ErrBadCSV},
		{"open quote", "name,numbers\n\"x,1\n", ErrBadCSV},
		{"too many rows", "name,numbers\n" + strings.Repeat("a,1\n", MaxRows+1), ErrTooManyRows},
	} {
		if _, _, err := Parse(strings.NewReader(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestDedupe(t *testing.T) {
	rows, failed, err := Parse(strings.NewReader("name,numbers\nAda,1;2\nada,2;1\nBob,3\nCy,4\n"))
	if err != nil {
		t.Fatal(err)
	}
	stored := []store.Contact{{ID: 7, Name: "BOB", Numbers: []string{"3"}}, {ID: 8, Name: "Cy", Numbers: []string{"4", "5"}}}
	kept, failed, err := Dedupe(rows, failed, func(string) ([]store.Contact, error) { return stored, nil })
	if err != nil || len(kept) != 2 || kept[0].Contact.Name != "Ada" || kept[1].Contact.Name != "Cy" ||
		len(failed) != 2 || failed[0].Reason != "duplicate of row 2" || failed[1].Reason != "already a contact (id 7)" {
		t.Errorf("kept %+v failed %+v %v", kept, failed, err)
	}
}
