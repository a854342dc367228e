package digest

import (
	"errors"
	"fmt"
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

// FuzzVerify drives Verify with credentials built from fuzzed parts: a
// correct client where the parts allow one (an oracle), and parsed fuzzed
// headers. It must never panic, and a correct client must pass exactly once
// per nonce count.
func FuzzVerify(f *testing.F) {
	f.Add("alice", "wonderland", "MD5", "auth", "sip:x", "cn", uint32(1), int64(0), "GET", "")
	f.Add("alice", "wonderland", "SHA-256", "", "sip:x", "", uint32(0), int64(301e9), "REGISTER", "")
	f.Add("bob", "x", "sha-256", "auth-int", "", "c", uint32(7), int64(-1), "", benchHeader)
	f.Add("mallory", "", "MD5-sess", "AUTH", "u", "c", uint32(1<<31), int64(31e9), "INVITE", "Digest x=y")
	a, clk := newTest(f, nil)
	f.Fuzz(func(t *testing.T, user, pw, alg, qop, uri, cnonce string, nc uint32, skew int64, method, hdr string) {
		if c, err := ParseCredentials(hdr); err == nil {
			_ = a.Verify(c, method, lookup)
		}
		clk.Add(time.Millisecond) // fresh nonce each run
		nonce, opaque := challenge(t, a)
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
		err := a.Verify(c, method, lookup)

		al, algOK := parseAlgo(alg)
		okAlg := algOK && al != algSHA512_256
		okQOP := qop == "" || strings.EqualFold(qop, "auth") && nc != 0 && cnonce != ""
		okUser := users[user] == pw && pw != ""
		fresh := skew <= int64(DefaultNonceTTL) && skew >= -int64(maxClockSkew)
		switch {
		case !okAlg:
			if !errors.Is(err, ErrAlgorithm) {
				t.Fatalf("alg %q: %v", alg, err)
			}
		case !okQOP:
			if !errors.Is(err, ErrAlgorithm) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("qop %q nc %d cnonce %q: %v", qop, nc, cnonce, err)
			}
		case !okUser:
			if err != ErrInvalid && !(skew < -int64(maxClockSkew) && errors.Is(err, ErrInvalid)) {
				t.Fatalf("bad user/password: %v", err)
			}
		case !fresh:
			if !errors.Is(err, ErrStale) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("skew %d: %v", skew, err)
			}
		default:
			if err != nil {
				t.Fatalf("correct client: %v", err)
			}
			err = a.Verify(c, method, lookup)
			if qop != "" && !errors.Is(err, ErrReplay) || qop == "" && err != nil {
				t.Fatalf("second use: %v", err)
			}
		}
	})
}
