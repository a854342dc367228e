package digest

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// serialize writes c back as a header value, quoting every value.
func serialize(c Credentials) string {
	var b strings.Builder
	b.WriteString("Digest ")
	add := func(name, v string) {
		if b.Len() > len("Digest ") {
			b.WriteString(", ")
		}
		b.WriteString(name + `="` + quote(v) + `"`)
	}
	add("username", c.Username)
	add("realm", c.Realm)
	add("nonce", c.Nonce)
	add("uri", c.URI)
	add("response", c.Response)
	for _, p := range []struct{ name, v string }{
		{"algorithm", c.Algorithm}, {"cnonce", c.CNonce}, {"qop", c.QOP}, {"nc", c.NC}, {"opaque", c.Opaque},
	} {
		if p.v != "" {
			add(p.name, p.v)
		}
	}
	if c.UserHash {
		add("userhash", "true")
	}
	return b.String()
}

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		benchHeader,
		`Digest username="a\"b", realm="r,x", nonce="n", uri="sip:a@b;transport=tcp", response="r"`,
		`Digest username*=UTF-8''J%C3%A4s%C3%B8n, realm="", nonce=n, uri=u, response=r, userhash=false`,
		"Digest\t,username=\"alice\" ,\r\n realm = \"r\",, nonce=\"n\",uri=\"u\",response=\"r\",qop=auth,nc=00000001,cnonce=c",
		`Digest username="alice`,
		`Basic abc`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCredentials(v)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		// Whatever parses survives a round trip unchanged.
		s := serialize(c)
		c2, err := ParseCredentials(s)
		if err != nil {
			t.Fatalf("reparse %q: %v", s, err)
		}
		if c2 != c {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", v, c2, c)
		}
	})
}

// FuzzVerify drives VerifyFrom with credentials built from fuzzed parts by
// an independent client (crypto/md5, crypto/sha256 in the test), and with
// fuzzed headers. It asserts the properties the gateway relies on:
//   - a fuzzed header never authenticates and yields only the documented
//     sentinel errors;
//   - a correct client passes exactly when algorithm, qop=auth, nc,
//     cnonce and freshness allow, and exactly once per nonce count: the
//     second use is ErrStale+ErrReplay, never a failure (ErrInvalid);
//   - credentials without qop are refused (ErrAlgorithm) by default;
//   - a nonce presented from another address than it was issued to is
//     ErrStale+ErrForeignNonce whatever the password (no ban evidence, no
//     password oracle);
//   - a wrong password or an unknown user is ErrInvalid, the bare value.
func FuzzVerify(f *testing.F) {
	f.Add("alice", "wonderland", "MD5", "auth", "sip:x", "cn", uint32(1), int64(0), "GET", "", byte(0))
	f.Add("alice", "wonderland", "SHA-256", "", "sip:x", "", uint32(0), int64(301e9), "REGISTER", "", byte(0))
	f.Add("alice", "wonderland", "SHA-256", "auth", "sip:x", "c", uint32(9), int64(0), "REGISTER", "", byte(7))
	f.Add("alice", "wonderland", "SHA-256", "auth", "sip:x", "c", uint32(9), int64(301e9), "REGISTER", "", byte(0))
	f.Add("bob", "x", "sha-256", "auth-int", "", "c", uint32(7), int64(-1), "", benchHeader, byte(1))
	f.Add("mallory", "", "MD5-sess", "AUTH", "u", "c", uint32(1<<31), int64(31e9), "INVITE", "Digest x=y", byte(0))
	a, clk := newTest(f, nil)
	sentinels := []error{ErrAlgorithm, ErrMalformed, ErrNonce, ErrStale, ErrInvalid}
	f.Fuzz(func(t *testing.T, user, pw, alg, qop, uri, cnonce string, nc uint32, skew int64, method, hdr string, other byte) {
		client := netip.AddrFrom4([4]byte{192, 0, 2, 10})
		if c, err := ParseCredentials(hdr); err == nil {
			err := a.VerifyFrom(c, method, client, lookup)
			if err == nil {
				t.Fatalf("fuzzed header %q authenticated", hdr)
			}
			known := false
			for _, e := range sentinels {
				known = known || errors.Is(err, e)
			}
			if !known {
				t.Fatalf("fuzzed header: undocumented error %v", err)
			}
		}
		clk.Add(time.Millisecond) // fresh nonce each run
		ch := a.ChallengesFor(false, client)[0]
		nonce, opaque := parseParam(t, ch, "nonce"), parseParam(t, ch, "opaque")
		H := hexMD5
		if strings.EqualFold(alg, "SHA-256") {
			H = hexSHA256
		}
		ncs := fmt.Sprintf("%08x", nc)
		ha1 := H(user + ":" + testRealm + ":" + pw)
		ha2 := H(method + ":" + uri)
		c := Credentials{Username: user, Realm: testRealm, Nonce: nonce, URI: uri, Algorithm: alg,
			QOP: qop, Opaque: opaque}
		if qop == "" {
			c.Response = H(ha1 + ":" + nonce + ":" + ha2)
		} else {
			c.NC, c.CNonce = ncs, cnonce
			c.Response = H(ha1 + ":" + nonce + ":" + ncs + ":" + cnonce + ":" + qop + ":" + ha2)
		}
		clk.Add(time.Duration(skew))
		defer clk.Add(-time.Duration(skew))
		from := client
		if other != 0 {
			from = netip.AddrFrom4([4]byte{192, 0, 2, 10 + other})
		}
		err := a.VerifyFrom(c, method, from, lookup)

		al, algOK := parseAlgo(alg)
		okAlg := algOK && al != algSHA512_256
		okQOP := strings.EqualFold(qop, "auth") && nc != 0 && cnonce != ""
		okUser := users[user] == pw && pw != ""
		future := skew < -int64(maxClockSkew)
		fresh := skew <= int64(DefaultNonceTTL) && !future
		switch {
		case !okAlg:
			if !errors.Is(err, ErrAlgorithm) {
				t.Fatalf("alg %q: %v", alg, err)
			}
		case qop == "":
			if !errors.Is(err, ErrAlgorithm) {
				t.Fatalf("no qop: %v, want ErrAlgorithm", err)
			}
		case !okQOP:
			if !errors.Is(err, ErrAlgorithm) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("qop %q nc %d cnonce %q: %v", qop, nc, cnonce, err)
			}
		case future:
			if !errors.Is(err, ErrNonce) {
				t.Fatalf("nonce from the future: %v", err)
			}
		case other != 0:
			if !errors.Is(err, ErrStale) || !errors.Is(err, ErrForeignNonce) || errors.Is(err, ErrInvalid) {
				t.Fatalf("nonce from another address: %v, want ErrStale+ErrForeignNonce", err)
			}
		case !okUser:
			if err != ErrInvalid {
				t.Fatalf("bad user/password: %v, want the bare ErrInvalid", err)
			}
		case !fresh:
			if !errors.Is(err, ErrStale) || errors.Is(err, ErrInvalid) {
				t.Fatalf("skew %d: %v, want ErrStale", skew, err)
			}
		default:
			if err != nil {
				t.Fatalf("correct client: %v", err)
			}
			err = a.VerifyFrom(c, method, from, lookup)
			if !errors.Is(err, ErrStale) || !errors.Is(err, ErrReplay) || errors.Is(err, ErrInvalid) {
				t.Fatalf("second use of nc %d: %v, want ErrStale+ErrReplay", nc, err)
			}
		}
	})
}
