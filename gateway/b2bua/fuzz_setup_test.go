package b2bua

import (
	"strconv"
	"testing"
)

// FuzzRAck: parseRAck never panics, and what it accepts prints back to an
// equivalent value.
func FuzzRAck(f *testing.F) {
	for _, s := range []string{"1 1 INVITE", " 776656 1 INVITE ", "1 x INVITE", "4294967296 1 INVITE", "", "1 1", "1 1 INVITE extra"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, c, m, ok := parseRAck(s)
		if !ok {
			return
		}
		r2, c2, m2, ok2 := parseRAck(strconv.FormatUint(uint64(r), 10) + " " + strconv.FormatUint(uint64(c), 10) + " " + m)
		if !ok2 || r2 != r || c2 != c || m2 != m {
			t.Fatalf("%q: %d %d %q does not round-trip", s, r, c, m)
		}
	})
}

// FuzzLoopMarks: any Call-ID or branch is checked without panic, and
// nothing but our own marks passes.
func FuzzLoopMarks(f *testing.F) {
	b := newTestB2BUA(Options{})
	f.Add(b.newCallID())
	f.Add(b.newBranch())
	f.Add("z9hG4bKsb")
	f.Add("-sb")
	f.Add("x-sb0123456")
	f.Fuzz(func(t *testing.T, s string) {
		if b.ourCallID(s) && !b.ourCallID(s) {
			t.Fatal("unstable")
		}
		_ = b.ourBranch(s)
	})
}
