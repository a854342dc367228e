package settings46xx

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: a file that parses prints to a file that parses to the same
// lines; a file that does not parse names lines that exist.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/valid/*.txt")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("IF $MODEL4 SEQ \"a b\" GOTO X Y\n# X  Y\nSET A \"\"\n"))
	f.Add([]byte("SET A \"1\nGOTO\n#\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not Errors", err)
			}
			n := strings.Count(string(data), "\n") + 1
			for _, e := range es {
				if e.Line < 1 || e.Line > n {
					t.Fatalf("line %d outside 1..%d: %v", e.Line, n, e)
				}
				if e.Err == nil {
					t.Fatalf("no sentinel: %v", e)
				}
			}
			return
		}
		out := Format(file)
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Format) failed: %v\n%q\n%q", err, data, out)
		}
		if !reflect.DeepEqual(again.Lines, file.Lines) {
			t.Fatalf("round trip differs:\n%q\n%q\n%v\n%v", data, out, file.Lines, again.Lines)
		}
		Eval(file, map[string]string{"MODEL4": "acw"}) // must not panic or loop
	})
}
