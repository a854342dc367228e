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

// FuzzLoopMarks: our marks are a MAC (loop.go). For any string s, a
// Call-ID or branch built from s with our key is ours, and not another
// gateway's; the fuzzed string itself is ours only when it is one of the
// marks we made (the seeds): a mutation of a mark, a mark of another key
// or a forged suffix never passes.
func FuzzLoopMarks(f *testing.F) {
	b := newTestB2BUA(Options{})
	other := newTestB2BUA(Options{})
	made := map[string]bool{}
	for i := 0; i < 3; i++ {
		cid, br := b.newCallID(), b.newBranch()
		made[cid], made[br] = true, true
		f.Add(cid)
		f.Add(br)
	}
	f.Add(other.newCallID())
	f.Add("z9hG4bKsb")
	f.Add("-sb")
	f.Add("x-sb0123456")
	f.Add("x-sb01234567")
	f.Fuzz(func(t *testing.T, s string) {
		if b.ourCallID(s) && !made[s] {
			t.Fatalf("Call-ID %q passes as ours", s)
		}
		if b.ourBranch(s) && !made[s] {
			t.Fatalf("branch %q passes as ours", s)
		}
		cid := s + callIDMark + b.mark(s)
		if !b.ourCallID(cid) {
			t.Fatalf("our Call-ID %q from %q is not recognised", cid, s)
		}
		if other.ourCallID(cid) {
			t.Fatalf("another key takes our Call-ID %q", cid)
		}
		if s != "" {
			br := branchMark + s + b.mark(s)
			if !b.ourBranch(br) {
				t.Fatalf("our branch %q from %q is not recognised", br, s)
			}
			if other.ourBranch(br) {
				t.Fatalf("another key takes our branch %q", br)
			}
		}
		// One character of the mark changed: not ours.
		bad := []byte(cid)
		bad[len(bad)-1] ^= 1
		if b.ourCallID(string(bad)) {
			t.Fatalf("Call-ID %q with a broken mark passes", bad)
		}
	})
}
