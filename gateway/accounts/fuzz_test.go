package accounts

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAuthorization: whatever the header, the parser does not
// panic; what it accepts is Basic whose credentials re-encode to the
// same decoded bytes, or Bearer whose token is the header's rest.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"", "Basic YWRtaW46c2VjcmV0", "basic YWRtaW46", "Bearer sbt_0123456789abcdef_" + strings.Repeat("A", 43),
		"Bearer", "Bearer ", "Basic !!!", "Digest username=x", "Basic Og==", "BEARER abc==", "Bearer a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, ok := ParseAuthorization(h)
		if !ok {
			if c != (Credentials{}) {
				t.Fatalf("refused header gave credentials %+v", c)
			}
			return
		}
		switch c.Scheme {
		case "":
			if h != "" {
				t.Fatalf("non-empty header %q accepted without a scheme", h)
			}
		case "basic":
			if c.User == "" || !utf8.ValidString(c.User) || strings.Contains(c.User, ":") {
				t.Fatalf("basic user %q", c.User)
			}
			_, rest, _ := strings.Cut(h, " ")
			raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(rest, " "))
			if err != nil || string(raw) != c.User+":"+c.Password {
				t.Fatalf("basic %q decoded to %q:%q", h, c.User, c.Password)
			}
		case "bearer":
			if !strings.HasSuffix(h, c.Token) || strings.ContainsAny(c.Token, " \t\r\n") || c.Token == "" {
				t.Fatalf("bearer token %q from %q", c.Token, h)
			}
		default:
			t.Fatalf("scheme %q", c.Scheme)
		}
	})
}

// FuzzParseToken: an accepted token is exactly prefix, 16 lowercase hex,
// "_", 43 base64url characters, and splits back into itself.
func FuzzParseToken(f *testing.F) {
	f.Add("sbt_0123456789abcdef_" + strings.Repeat("A", 43))
	f.Add("sbt_0123456789ABCDEF_" + strings.Repeat("A", 43))
	f.Add("sbt_")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := ParseToken(s)
		if !ok {
			return
		}
		if s != "sbt_"+id+"_"+secret || len(id) != 16 || len(secret) != 43 || strings.ToLower(id) != id {
			t.Fatalf("ParseToken(%q) = %q, %q", s, id, secret)
		}
	})
}

// FuzzVerifyHash: a stored hash from a tampered row never panics and
// never makes Verify run with parameters beyond the limits; a hash this
// package made always verifies its password.
func FuzzVerifyHash(f *testing.F) {
	f.Add("pw", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("pw", "$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("", "$$$$$")
	f.Fuzz(func(t *testing.T, pw, hash string) {
		h, err := parsePHC(hash)
		if err == nil {
			if h.params.Memory > maxHashMemory || h.params.Time > maxHashTime || h.params.Threads == 0 {
				t.Fatalf("accepted parameters %+v", h.params)
			}
			if h.params.Memory > 4096 || h.params.Time > 4 {
				return // valid but too slow to run in a fuzz loop
			}
			_, _ = Verify(pw, hash)
		}
		if len(pw) <= 64 {
			good, err := Hash(pw, cheap)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := Verify(pw, good); !ok || err != nil {
				t.Fatalf("own hash of %q does not verify: %v", pw, err)
			}
		}
	})
}

// FuzzParseReasons: every reason kept is trimmed, non-empty, printable,
// at most 100 bytes, unique; at most 100 of them.
func FuzzParseReasons(f *testing.F) {
	f.Add("Lunch\n\nMeeting\n")
	f.Add("\ufeff a \r\n b\x00\n")
	f.Fuzz(func(t *testing.T, s string) {
		rs := ParseReasons(strings.NewReader(s))
		if len(rs) > maxReasons {
			t.Fatalf("%d reasons", len(rs))
		}
		seen := map[string]bool{}
		for _, r := range rs {
			if r == "" || r != strings.TrimSpace(r) || len(r) > maxReasonLen || !utf8.ValidString(r) || seen[r] {
				t.Fatalf("reason %q in %q", r, rs)
			}
			if strings.ContainsAny(r, "\n\r\x00") {
				t.Fatalf("reason %q has control characters", r)
			}
			seen[r] = true
		}
	})
}
