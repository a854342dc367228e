package e2e

import (
	"strings"
	"testing"
)

// TestRegistrarChallengeOrder: by default the registrar offers MD5 first
// and SHA-256 beside it (RFC 8760: the client picks), so a client that
// reads only the first WWW-Authenticate and knows only MD5 (SIPp, libre,
// many desk phones) registers; registrar.algorithms: [SHA-256] offers
// SHA-256 alone, which such a client cannot answer.
func TestRegistrarChallengeOrder(t *testing.T) {
	t.Parallel()
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, "")
		c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
		res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000")))
		chs := res.Headers["www-authenticate"]
		if res.Status != 401 || len(chs) != 2 {
			t.Fatalf("got %d with %d challenges, want 401 with MD5 and SHA-256\n%s", res.Status, len(chs), res.Raw)
		}
		if alg := parseDigest(chs[0])["algorithm"]; !strings.EqualFold(alg, "MD5") {
			t.Fatalf("first challenge algorithm %q, want MD5\n%s", alg, res.Raw)
		}
		if alg := parseDigest(chs[1])["algorithm"]; !strings.EqualFold(alg, "SHA-256") {
			t.Errorf("second challenge algorithm %q, want SHA-256\n%s", alg, res.Raw)
		}
		// A client that answers the first challenge only.
		auth, err := digestAuthorization(chs[:1], "REGISTER", "sip:example.com", "u1000", "secret")
		if err != nil {
			t.Fatal(err)
		}
		res = c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000"), "Authorization: "+auth))
		if res.Status != 200 {
			t.Fatalf("first-challenge MD5 answer: %d %s\n%s", res.Status, res.Reason, res.Raw)
		}
	})
	t.Run("sha256 required", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, "registrar: {algorithms: [SHA-256]}\n")
		c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
		res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000")))
		chs := res.Headers["www-authenticate"]
		if res.Status != 401 || len(chs) != 1 || !strings.EqualFold(parseDigest(chs[0])["algorithm"], "SHA-256") {
			t.Fatalf("got %d %q, want 401 with one SHA-256 challenge", res.Status, chs)
		}
	})
}
