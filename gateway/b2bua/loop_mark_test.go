package b2bua

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestMarkIsKeyedHMAC: a mark is the first 8 hex digits of
// HMAC-SHA256(key, "loop\x00" + s), whichever B2BUA marked last (the
// pooled HMACs never mix keys).
func TestMarkIsKeyedHMAC(t *testing.T) {
	a, b := newTestB2BUA(Options{}), newTestB2BUA(Options{})
	want := func(g *B2BUA, s string) string {
		m := hmac.New(sha256.New, g.markKey[:])
		m.Write([]byte("loop\x00" + s))
		return hex.EncodeToString(m.Sum(nil))[:markLen]
	}
	for _, s := range []string{"", "x", "abc", "abc", "0123456789abcdef"} {
		for _, g := range []*B2BUA{a, b, a, a, b} {
			if got := g.mark(s); got != want(g, s) {
				t.Fatalf("mark(%q) = %q, want %q", s, got, want(g, s))
			}
		}
	}
}

// BenchmarkMark: one loop mark (every Via branch and Call-ID of ours,
// and every INVITE's Via checked against them).
func BenchmarkMark(b *testing.B) {
	g := newTestB2BUA(Options{})
	for b.Loop() {
		_ = g.mark("0123456789abcdef")
	}
}
