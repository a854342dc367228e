package contacts

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// FuzzParse: every imported contact is already normal (Normalize leaves
// it as it is, so the store takes it), and every row named in the result
// is a line of the file after the header.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/contacts.csv"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("name,numbers\nx,1;2|3\n\"a\nb\",+1 (2) 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, failed, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, r := range rows {
			again, err := r.Contact.Normalize()
			if err != nil || !reflect.DeepEqual(again, r.Contact) {
				t.Fatalf("row %d not normal: %+v -> %+v, %v", r.Line, r.Contact, again, err)
			}
			if r.Line < 2 || r.Line > lines {
				t.Fatalf("row %d outside 2..%d", r.Line, lines)
			}
		}
		for _, fl := range failed {
			if fl.Row < 2 || fl.Row > lines || fl.Reason == "" {
				t.Fatalf("failure %+v outside 2..%d or without reason", fl, lines)
			}
		}
	})
}
