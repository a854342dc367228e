package settings46xx

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestParseValid parses each testdata/valid file, compares its canonical
// form with the .golden beside it and checks that the canonical form
// parses to the same lines.
func TestParseValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out := Format(f)
			golden := strings.TrimSuffix(path, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("Format:\n%s\nwant:\n%s", out, want)
			}
			g, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Format): %v", err)
			}
			if !reflect.DeepEqual(g.Lines, f.Lines) {
				t.Errorf("Parse(Format) differs:\n%v\n%v", g.Lines, f.Lines)
			}
		})
	}
}

// TestParseInvalid holds every sentinel error to the line it names.
func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error
		line     int
	}{
		{"unknown command", "SET A 1\nSETT B 2\n", ErrUnknownCommand, 2},
		{"bare word", "\n\nhello\n", ErrUnknownCommand, 3},
		{"set without value", "SET A\n", ErrNoValue, 1},
		{"set without name", "SET\n", ErrNoValue, 1},
		{"bad name", "SET A-B 1\n", ErrBadName, 1},
		{"unterminated quote", "SET A 1\nSET B \"x y\n", ErrUnterminatedQuote, 2},
		{"if without goto", "IF $MODEL4 SEQ acw SET A 1\n# L\n", ErrBadCondition, 1},
		{"if bad operator", "IF $MODEL4 IS acw GOTO L\n# L\n", ErrBadCondition, 1},
		{"if no dollar", "IF MODEL4 SEQ acw GOTO L\n# L\n", ErrBadCondition, 1},
		{"if no label", "IF $MODEL4 SEQ acw GOTO\n", ErrNoValue, 1},
		{"goto without label", "GOTO\n", ErrNoValue, 1},
		{"goto unknown", "SET A 1\nGOTO NOWHERE\n# ELSEWHERE\n", ErrUnknownLabel, 2},
		{"goto backwards", "# TOP\nSET A 1\nGOTO TOP\n", ErrUnknownLabel, 3},
		{"duplicate label", "GOTO L\n# L\nSET A 1\n# l\n", ErrDuplicateLabel, 4},
		{"get nothing", "GET\n", ErrNoValue, 1},
		{"get path", "GET ../etc/passwd\n", ErrBadFile, 1},
		{"get two", "GET a.txt b.txt\n", ErrBadFile, 1},
		{"nul", "SET A 1\nSET B \x00\n", ErrNotText, 2},
		{"invalid utf8", "SET A 1\n\n\nSET B \xff\xfe\n", ErrNotText, 4},
		{"long line", "SET A 1\nSET B " + strings.Repeat("x", MaxLineBytes) + "\n", ErrTooLong, 2},
		{"too many lines", strings.Repeat("\n", MaxLines+5), ErrTooLarge, MaxLines + 1},
		{"too large", strings.Repeat("## x\n", MaxFileBytes/5+1), ErrTooLarge, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("err %T is not Errors", err)
			}
			found := false
			for _, e := range es {
				if errors.Is(e, tc.want) && e.Line == tc.line {
					found = true
				}
			}
			if !found {
				t.Errorf("no %v at line %d in %v", tc.want, tc.line, err)
			}
		})
	}
}

// TestParseReportsEveryProblem: one pass names each bad line.
func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte("SET A 1\nBOGUS\nSET B\nGOTO X\n"))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	for _, e := range es {
		lines = append(lines, e.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 3, 4}) {
		t.Errorf("lines = %v, want [2 3 4] (%v)", lines, err)
	}
}

// TestEval runs the sample as each Workplace model (seed 003: aca, aci,
// acm, acw) and as a desk phone would.
func TestEval(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/workplace.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	s, gets := Eval(f, map[string]string{"MODEL4": "acw", "SIG_IN_USE": "SIP"})
	if s["SIPDOMAIN"] != "example.com" || s["SETTINGS_FILE_URL"] != "https://sip.example.com:411/46xxsettings.txt" ||
		s["SETTINGS_CHECK_INTERVAL"] != "1" || s["EMPTY"] != "" {
		t.Errorf("acw settings = %v", s)
	}
	if _, ok := s["EMPTY"]; !ok {
		t.Error("SET EMPTY \"\" not applied")
	}
	if !reflect.DeepEqual(gets, []string{"46xxspecials.txt"}) {
		t.Errorf("gets = %v", gets)
	}
	s, _ = Eval(f, map[string]string{"MODEL4": "J179"})
	if _, ok := s["SIPDOMAIN"]; ok {
		t.Errorf("J179 got the Workplace settings: %v", s)
	}
	s, _ = Eval(f, map[string]string{"MODEL4": "acw", "SIG_IN_USE": "H323"})
	if _, ok := s["SIPDOMAIN"]; ok || s["SETTINGS_CHECK_INTERVAL"] != "1" {
		t.Errorf("H323 acw = %v", s)
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		have, op, want string
		ok             bool
	}{
		{"acw", "SEQ", "acw", true}, {"acw", "SEQ", "ACW", false}, {"acw", "SNE", "aca", true},
		{"3", "EQ", "3.0", true}, {"3", "GT", "2", true}, {"3", "LE", "2", false}, {"x", "LT", "2", false},
		{"2", "GE", "2", true}, {"2", "NE", "3", true}, {"1", "LT", "2", true},
	} {
		if got := compare(tc.have, tc.op, tc.want); got != tc.ok {
			t.Errorf("%s %s %s = %v", tc.have, tc.op, tc.want, got)
		}
	}
}
