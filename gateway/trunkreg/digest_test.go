package trunkreg

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-gw/switchboard/gateway/digest"
)

// TestAuthorizationVerifies answers the gateway's own digest server
// (gateway/digest) for each algorithm it offers.
func TestAuthorizationVerifies(t *testing.T) {
	for _, alg := range []string{"SHA-256", "MD5"} {
		srv, err := digest.New(digest.Options{Realm: "pbx.test", Secret: make([]byte, 32), Algorithms: []string{alg}})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := pickChallenge(srv.Challenges(false))
		if err != nil {
			t.Fatal(err)
		}
		if ch.Realm != "pbx.test" || !strings.EqualFold(ch.Algorithm, alg) {
			t.Errorf("%s: challenge %+v", alg, ch)
		}
		authz, err := ch.Authorization("trunk", `pa"ss`, "REGISTER", "sip:pbx.test", 1)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := digest.ParseCredentials(authz)
		if err != nil {
			t.Fatalf("%s: ParseCredentials(%s): %v", alg, authz, err)
		}
		err = srv.Verify(cred, "REGISTER", func(user, a string) (string, bool) {
			ha1, err := digest.HA1(a, user, "pbx.test", `pa"ss`)
			return ha1, err == nil
		})
		if err != nil {
			t.Errorf("%s: Verify: %v (%s)", alg, err, authz)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	c, err := ParseChallenge(`Digest realm="a \"b\"", nonce=xyz, algorithm=SHA-256,qop="auth,auth-int", opaque="o", stale=TRUE, foo=bar`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != `a "b"` || c.Nonce != "xyz" || c.Algorithm != "SHA-256" || len(c.QOP) != 2 || c.Opaque != "o" || !c.Stale {
		t.Errorf("got %+v", c)
	}
	for _, bad := range []string{"", "Basic realm=x", `Digest realm="x`, "Digest realm=x", "Digest =x, nonce=1", "Digestnonce=1"} {
		if _, err := ParseChallenge(bad); !errors.Is(err, ErrChallenge) {
			t.Errorf("ParseChallenge(%q) = %v, want ErrChallenge", bad, err)
		}
	}
	if _, err := pickChallenge([]string{`Digest nonce=1, algorithm=SHA-512-256`}); !errors.Is(err, ErrChallenge) {
		t.Errorf("unsupported algorithm accepted: %v", err)
	}
	c, err = pickChallenge([]string{`Digest nonce=1, algorithm=SHA-512-256`, `Digest nonce=2, algorithm=MD5`})
	if err != nil || c.Nonce != "2" {
		t.Errorf("pickChallenge skipped to %+v, %v", c, err)
	}
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`Digest realm="x", nonce="y", algorithm=SHA-256, qop="auth", opaque="z"`)
	f.Add(`Digest nonce=1, stale=true`)
	f.Add(`digest realm="\"`)
	f.Add(`Digest realm="a\"b\\c", nonce="n\"1", opaque="o,\"p", qop="auth-int, auth", algorithm=md5`)
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseChallenge(v)
		if err != nil {
			return
		}
		if c.Nonce == "" {
			t.Fatalf("accepted %q without a nonce", v)
		}
		a, err := c.Authorization("u", "p", "REGISTER", "sip:x", 1)
		if err != nil {
			return
		}
		if !strings.HasPrefix(a, "Digest ") {
			t.Fatalf("Authorization = %q", a)
		}
		// Values a quoted string can carry (RFC 3261 §25.1: no controls)
		// come back to the server as it sent them, and the response is
		// the RFC 7616 §3.4.1 one for them.
		for _, s := range []string{c.Realm, c.Nonce, c.Opaque} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
				return
			}
		}
		got, err := digest.ParseCredentials(a)
		if err != nil {
			t.Fatalf("challenge %q: our Authorization %q does not parse: %v", v, a, err)
		}
		if got.Realm != c.Realm || got.Nonce != c.Nonce || got.Opaque != c.Opaque || got.Username != "u" || got.URI != "sip:x" ||
			!strings.EqualFold(got.Algorithm, c.Algorithm) {
			t.Fatalf("challenge %q: our Authorization %q reads as %+v", v, a, got)
		}
		h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
		if strings.EqualFold(c.Algorithm, "SHA-256") {
			h = func(s string) string { x := sha256.Sum256([]byte(s)); return hex.EncodeToString(x[:]) }
		}
		ha1, ha2 := h("u:"+c.Realm+":p"), h("REGISTER:sip:x")
		want := h(ha1 + ":" + c.Nonce + ":" + ha2)
		if got.QOP != "" {
			want = h(ha1 + ":" + c.Nonce + ":" + got.NC + ":" + got.CNonce + ":" + got.QOP + ":" + ha2)
		}
		if got.Response != want {
			t.Fatalf("challenge %q: response in %q, want %s", v, a, want)
		}
	})
}
