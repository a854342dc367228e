package dtmf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestParseInfo reads the INFO bodies in testdata/info/*.txt (first line:
// the Content-Type; the rest: the body, lines ending CRLF) and holds the
// outcome to testdata/parse_info.golden.
func TestParseInfo(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "info", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	var b strings.Builder
	for _, f := range files {
		raw := readFile(t, f)
		ctype, body, _ := strings.Cut(raw, "\n")
		body = strings.ReplaceAll(body, "\n", "\r\n")
		ev, err := ParseInfo(ctype, []byte(body))
		fmt.Fprintf(&b, "%s: ", filepath.Base(f))
		switch {
		case err != nil:
			fmt.Fprintf(&b, "error %v\n", err)
		default:
			fmt.Fprintf(&b, "event %d (%c) %v\n", ev.Code, Char(ev.Code), ev.Duration)
		}
	}
	golden(t, filepath.Join("testdata", "parse_info.golden"), b.String())
}

func TestParseInfoLimits(t *testing.T) {
	if _, err := ParseInfo("text/plain", []byte("Signal=1")); !errors.Is(err, ErrNotDTMF) {
		t.Errorf("text/plain: %v", err)
	}
	big := "Signal=1\r\n" + strings.Repeat("X=Y\r\n", MaxInfoBody)
	if _, err := ParseInfo("application/dtmf-relay", []byte(big)); !errors.Is(err, ErrBadSignal) {
		t.Errorf("oversized body: %v", err)
	}
	if !IsInfoType("Application/DTMF-Relay; charset=utf-8") || IsInfoType("application/sdp") {
		t.Error("IsInfoType")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParseInfo: whatever the body, an accepted event is an RFC 4733 DTMF
// event with a duration within the limits, and writing it back in the
// dtmf-relay format reads as the same event.
func FuzzParseInfo(f *testing.F) {
	for _, s := range []string{"Signal=5\r\nDuration=160\r\n", "Signal=#\r\n", "Signal= 1 \nDuration=99999999999", "signal=10", "Signal=1\r\nSignal=2", "Duration=100", "\xff", "Signal=é"} {
		f.Add("application/dtmf-relay", []byte(s))
	}
	f.Add("application/dtmf", []byte("*"))
	f.Add("application/dtmf; x=\"", []byte("1"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		ev, err := ParseInfo(ctype, body)
		if err != nil {
			if !errors.Is(err, ErrNotDTMF) && !errors.Is(err, ErrBadSignal) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !IsInfoType(ctype) {
			t.Fatalf("accepted Content-Type %q that IsInfoType refuses", ctype)
		}
		if ev.Code > 16 || Char(ev.Code) == 0 {
			t.Fatalf("event code %d", ev.Code)
		}
		if ev.Duration <= 0 || ev.Duration > MaxDuration || ev.Duration%time.Millisecond != 0 {
			t.Fatalf("duration %v", ev.Duration)
		}
		again, err := ParseInfo("application/dtmf-relay",
			[]byte(fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", Char(ev.Code), ev.Duration/time.Millisecond)))
		if err != nil || again != ev {
			t.Fatalf("%+v written back reads as %+v, %v", ev, again, err)
		}
		steps := Plan(ev, 8000)
		if n := len(steps); n < 4 || !steps[n-1].End || steps[n-4].End {
			t.Fatalf("plan of %+v: %+v", ev, steps)
		}
	})
}
