package digest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

const (
	testRealm  = "sip.example.com"
	testMethod = "REGISTER"
	testURI    = "sip:sip.example.com"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	testEpoch  = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
)

// seqReader is a deterministic Rand: bytes 0, 1, 2, ... wrapping.
type seqReader struct {
	mu sync.Mutex
	n  byte
}

func (r *seqReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// clock is an injectable, movable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(t testing.TB, mod func(*Options)) (*Authenticator, *clock) {
	t.Helper()
	clk := &clock{t: testEpoch}
	o := Options{Realm: testRealm, Secret: testSecret, Now: clk.Now, Rand: &seqReader{}}
	if mod != nil {
		mod(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a, clk
}

// users is the password store of the tests; ha1 is computed independently
// of the package with crypto/md5 and crypto/sha256.
var users = map[string]string{"alice": "wonderland", "bob": "s3cr\"et:x"}

func hexMD5(s string) string    { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
func hexSHA256(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

func hashFor(alg string) func(string) string {
	if alg == "SHA-256" {
		return hexSHA256
	}
	return hexMD5
}

func lookup(user, alg string) (string, bool) {
	pw, ok := users[user]
	if !ok {
		return "", false
	}
	return hashFor(alg)(user + ":" + testRealm + ":" + pw), true
}

// clientCreds builds what a phone would send, computing the response
// independently (RFC 7616 §3.4.1, RFC 2069 without qop).
func clientCreds(alg, user, pw, nonce, opaque, nc, qop string) Credentials {
	H := hashFor(alg)
	ha1 := H(user + ":" + testRealm + ":" + pw)
	ha2 := H(testMethod + ":" + testURI)
	c := Credentials{Username: user, Realm: testRealm, Nonce: nonce, URI: testURI,
		Algorithm: alg, Opaque: opaque, QOP: qop}
	if qop == "" {
		c.Response = H(ha1 + ":" + nonce + ":" + ha2)
		return c
	}
	c.NC, c.CNonce = nc, "0a4f113b"
	c.Response = H(ha1 + ":" + nonce + ":" + nc + ":" + c.CNonce + ":" + qop + ":" + ha2)
	return c
}

// challenge returns the nonce and opaque of a fresh challenge.
func challenge(t testing.TB, a *Authenticator) (nonce, opaque string) {
	t.Helper()
	v := a.Challenges(false)[0]
	get := func(name string) string {
		i := strings.Index(v, name+`="`)
		if i < 0 {
			t.Fatalf("no %s in %q", name, v)
		}
		rest := v[i+len(name)+2:]
		return rest[:strings.IndexByte(rest, '"')]
	}
	return get("nonce"), get("opaque")
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
		err  string
	}{
		{"defaults", func(o *Options) { o.Now, o.Rand = nil, nil }, ""},
		{"empty realm", func(o *Options) { o.Realm = "" }, "realm is empty"},
		{"crlf realm", func(o *Options) { o.Realm = "a\r\nVia: x" }, "control character"},
		{"short secret", func(o *Options) { o.Secret = o.Secret[:31] }, "at least 32"},
		{"negative ttl", func(o *Options) { o.NonceTTL = -time.Second }, "negative nonce ttl"},
		{"negative max", func(o *Options) { o.MaxNonces = -1 }, "negative max nonces"},
		{"sess", func(o *Options) { o.Algorithms = []string{"MD5-sess"} }, "unsupported algorithm"},
		{"empty alg", func(o *Options) { o.Algorithms = []string{""} }, "unsupported algorithm"},
		{"twice", func(o *Options) { o.Algorithms = []string{"md5", "MD5"} }, "listed twice"},
		{"sha-512-256", func(o *Options) { o.Algorithms = []string{"SHA-512-256"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Realm: testRealm, Secret: testSecret}
			tt.mod(&o)
			_, err := New(o)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("New: %v, want %q", err, tt.err)
			}
		})
	}
}

func TestChallengesGolden(t *testing.T) {
	a, _ := newTest(t, func(o *Options) { o.Realm = `switch "board"` })
	var b bytes.Buffer
	for _, stale := range []bool{false, true} {
		for _, v := range a.Challenges(stale) {
			b.WriteString(v + "\n")
		}
	}
	a3, _ := newTest(t, func(o *Options) { o.Algorithms = []string{"md5", "sha-512-256", "sha-256"} })
	for _, v := range a3.Challenges(false) {
		b.WriteString(v + "\n")
	}
	path := filepath.Join("testdata", "challenges.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("Challenges differ from %s (go test -update):\n%s", path, b.Bytes())
	}
}

func TestChallengesShareNonceAndParse(t *testing.T) {
	a, _ := newTest(t, nil)
	ch := a.Challenges(true)
	if len(ch) != 2 || !strings.Contains(ch[0], "algorithm=SHA-256") || !strings.Contains(ch[1], "algorithm=MD5") {
		t.Fatalf("order: %q", ch)
	}
	n0, n1 := ch[0][strings.Index(ch[0], "nonce="):], ch[1][strings.Index(ch[1], "nonce="):]
	if n0[:56] != n1[:56] {
		t.Errorf("nonces differ: %s / %s", n0, n1)
	}
	for _, v := range ch {
		if !strings.HasSuffix(v, ", stale=true") || !strings.Contains(v, `qop="auth"`) {
			t.Errorf("challenge %q", v)
		}
	}
	if a.Challenges(false)[0] == ch[0] {
		t.Error("nonce reused between challenges")
	}
}

// TestRFC7616Example checks the request-digest computation against the
// example of RFC 7616 §3.9.1 (Mufasa / Circle of Life), for SHA-256 and MD5,
// and that the example Authorization header parses.
func TestRFC7616Example(t *testing.T) {
	const hdr = `Digest username="Mufasa",
       realm="http-auth@example.org",
       uri="/dir/index.html",
       algorithm=%s,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       nc=00000001,
       cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
       qop=auth,
       response="%s",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	for _, tt := range []struct{ alg, want string }{
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			c, err := ParseCredentials(fmt.Sprintf(hdr, tt.alg, tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if c.Username != "Mufasa" || c.Realm != "http-auth@example.org" || c.URI != "/dir/index.html" ||
				c.NC != "00000001" || c.NonceCount != 1 || c.QOP != "auth" || c.Algorithm != tt.alg {
				t.Fatalf("parsed %+v", c)
			}
			ha1, err := HA1(tt.alg, "Mufasa", "http-auth@example.org", "Circle of Life")
			if err != nil {
				t.Fatal(err)
			}
			if want := hashFor(tt.alg)("Mufasa:http-auth@example.org:Circle of Life"); ha1 != want {
				t.Fatalf("HA1 %s, want %s", ha1, want)
			}
			a, _ := newTest(t, nil)
			al, _ := parseAlgo(tt.alg)
			s := a.getScratch()
			if got := string(a.response(s, al, strings.ToUpper(ha1), c, "GET")); got != tt.want {
				t.Errorf("response %s, want %s", got, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name string
		alg  string // sent algorithm
		qop  string
		mod  func(*Options)
		edit func(*Credentials)
		want error
	}{
		{name: "md5 qop", alg: "MD5", qop: "auth"},
		{name: "sha256 qop", alg: "SHA-256", qop: "auth"},
		{name: "absent algorithm is md5", alg: "", qop: "auth"},
		{name: "lowercase algorithm", alg: "sha-256", qop: "auth", edit: func(c *Credentials) {
			// the client hashes with SHA-256 but writes the name in lower case
			d := clientCreds("SHA-256", "alice", users["alice"], c.Nonce, c.Opaque, c.NC, c.QOP)
			c.Response = d.Response
		}},
		{name: "qop upper case", alg: "MD5", qop: "AUTH"},
		{name: "upper case response", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.Response = strings.ToUpper(c.Response) }},
		{name: "no qop (RFC 2069) when allowed", alg: "MD5", qop: "", mod: allowNoQOP},
		{name: "no qop sha256 when allowed", alg: "SHA-256", qop: "", mod: allowNoQOP},
		{name: "no opaque tolerated", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.Opaque = "" }},
		{name: "no qop refused by default", alg: "MD5", qop: "", want: ErrAlgorithm},
		{name: "md5 not offered", alg: "MD5", qop: "auth", mod: func(o *Options) { o.Algorithms = []string{"SHA-256"} }, want: ErrAlgorithm},
		{name: "absent alg, md5 not offered", alg: "", qop: "auth", mod: func(o *Options) { o.Algorithms = []string{"SHA-256"} }, want: ErrAlgorithm},
		{name: "sess", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.Algorithm = "MD5-sess" }, want: ErrAlgorithm},
		{name: "auth-int", alg: "MD5", qop: "auth-int", want: ErrAlgorithm},
		{name: "userhash", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.UserHash = true }, want: ErrAlgorithm},
		{name: "bad nc", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.NC = "1" }, want: ErrMalformed},
		{name: "zero nc", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.NC = "00000000" }, want: ErrMalformed},
		{name: "no cnonce", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.CNonce = "" }, want: ErrMalformed},
		{name: "nc without qop", alg: "MD5", qop: "", mod: allowNoQOP, edit: func(c *Credentials) { c.NC = "00000001" }, want: ErrMalformed},
		{name: "wrong password", alg: "MD5", qop: "auth", edit: func(c *Credentials) {
			*c = clientCreds("MD5", "alice", "guess", c.Nonce, c.Opaque, c.NC, c.QOP)
		}, want: ErrInvalid},
		{name: "unknown user", alg: "SHA-256", qop: "auth", edit: func(c *Credentials) {
			*c = clientCreds("SHA-256", "mallory", "guess", c.Nonce, c.Opaque, c.NC, c.QOP)
		}, want: ErrInvalid},
		{name: "wrong realm", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.Realm = "other" }, want: ErrInvalid},
		{name: "wrong opaque", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.Opaque = "x" }, want: ErrInvalid},
		{name: "other uri", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.URI = "sip:evil" }, want: ErrInvalid},
		{name: "other cnonce", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.CNonce = "x" }, want: ErrInvalid},
		{name: "short response", alg: "SHA-256", qop: "auth", edit: func(c *Credentials) { c.Response = c.Response[:32] }, want: ErrInvalid},
		{name: "garbage nonce", alg: "MD5", qop: "auth", edit: func(c *Credentials) { c.Nonce = "abc" }, want: ErrNonce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newTest(t, tt.mod)
			nonce, opaque := challenge(t, a)
			hashAlg := tt.alg
			if hashAlg == "" {
				hashAlg = "MD5"
			}
			c := clientCreds(hashAlg, "alice", users["alice"], nonce, opaque, "00000001", tt.qop)
			c.Algorithm = tt.alg
			if tt.edit != nil {
				tt.edit(&c)
			}
			err := a.Verify(c, testMethod, lookup)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func allowNoQOP(o *Options) { o.AllowNoQOP = true }

// TestNonceBoundToClient: a nonce is accepted only from the address it was
// issued to (the /64 for IPv6); from elsewhere it is stale, whatever the
// password, and never ErrInvalid (no ban evidence, no password oracle).
func TestNonceBoundToClient(t *testing.T) {
	a, _ := newTest(t, nil)
	issuedTo := netip.MustParseAddr("192.0.2.10")
	v6 := netip.MustParseAddr("2001:db8:1:2::10")
	tests := []struct {
		name   string
		issued netip.Addr
		from   netip.Addr
		pw     string
		want   error
	}{
		{"same address", issuedTo, issuedTo, users["alice"], nil},
		{"same address, v4-mapped", issuedTo, netip.AddrFrom16(issuedTo.As16()), users["alice"], nil},
		{"same address, wrong password", issuedTo, issuedTo, "guess", ErrInvalid},
		{"other address, right password", issuedTo, netip.MustParseAddr("192.0.2.11"), users["alice"], ErrForeignNonce},
		{"other address, wrong password", issuedTo, netip.MustParseAddr("192.0.2.11"), "guess", ErrForeignNonce},
		{"unbound nonce from an address", netip.Addr{}, issuedTo, "guess", ErrForeignNonce},
		{"same ipv6 /64", v6, netip.MustParseAddr("2001:db8:1:2::99"), users["alice"], nil},
		{"other ipv6 /64", v6, netip.MustParseAddr("2001:db8:1:3::10"), "guess", ErrForeignNonce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := a.ChallengesFor(false, tt.issued)[0]
			nonce := parseParam(t, ch, "nonce")
			c := clientCreds("SHA-256", "alice", tt.pw, nonce, parseParam(t, ch, "opaque"), "00000001", "auth")
			err := a.VerifyFrom(c, testMethod, tt.from, lookup)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyFrom: %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrForeignNonce) && (!errors.Is(err, ErrStale) || errors.Is(err, ErrInvalid)) {
				t.Fatalf("foreign nonce: %v, want ErrStale and not ErrInvalid", err)
			}
		})
	}
}

// parseParam returns a quoted parameter of a challenge.
func parseParam(t testing.TB, v, name string) string {
	t.Helper()
	i := strings.Index(v, name+`="`)
	if i < 0 {
		t.Fatalf("no %s in %q", name, v)
	}
	rest := v[i+len(name)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestVerifyEscapedPassword(t *testing.T) {
	// bob's password contains a quote and a colon: only the HA1 matters.
	a, _ := newTest(t, nil)
	nonce, opaque := challenge(t, a)
	c := clientCreds("SHA-256", "bob", users["bob"], nonce, opaque, "00000001", "auth")
	if err := a.Verify(c, testMethod, lookup); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownUserSameAsWrongPassword(t *testing.T) {
	a, _ := newTest(t, nil)
	nonce, opaque := challenge(t, a)
	wrong := a.Verify(clientCreds("MD5", "alice", "nope", nonce, opaque, "00000001", "auth"), testMethod, lookup)
	unknown := a.Verify(clientCreds("MD5", "nobody", "nope", nonce, opaque, "00000001", "auth"), testMethod, lookup)
	if wrong != ErrInvalid || unknown != ErrInvalid {
		t.Fatalf("wrong password %v, unknown user %v: want both the bare ErrInvalid", wrong, unknown)
	}
	// Even if the dummy HA1 were guessed, an unknown user never passes.
	al, _ := parseAlgo("MD5")
	dummy := func(string, string) (string, bool) { return a.dummyHA1[al], false }
	c := clientCreds("MD5", "nobody", "", nonce, opaque, "00000002", "auth")
	s := a.getScratch()
	c.Response = string(a.response(s, al, a.dummyHA1[al], c, testMethod))
	if err := a.Verify(c, testMethod, dummy); err != ErrInvalid {
		t.Fatalf("unknown user with dummy response: %v", err)
	}
}

// TestUnknownUserSameWork counts the HA1 lookups and the hashes computed
// for a wrong password and for an unknown user: the same work, so neither
// timing nor load tells them apart.
func TestUnknownUserSameWork(t *testing.T) {
	a, _ := newTest(t, nil)
	var hashes, lookups int
	a.hashed = func(algo) { hashes++ }
	counted := func(user, alg string) (string, bool) { lookups++; return lookup(user, alg) }
	work := func(user, pw string) (int, int, error) {
		hashes, lookups = 0, 0
		nonce, opaque := challenge(t, a)
		err := a.Verify(clientCreds("SHA-256", user, pw, nonce, opaque, "00000001", "auth"), testMethod, counted)
		return hashes, lookups, err
	}
	goodH, goodL, err := work("alice", users["alice"])
	if err != nil {
		t.Fatal(err)
	}
	wrongH, wrongL, errW := work("alice", "nope")
	unknownH, unknownL, errU := work("nobody", "nope")
	if errW != ErrInvalid || errU != ErrInvalid {
		t.Fatalf("wrong %v unknown %v", errW, errU)
	}
	if wrongH != unknownH || wrongL != unknownL || wrongH != goodH || wrongL != goodL || goodH == 0 || goodL != 1 {
		t.Fatalf("work (hashes, lookups): good %d,%d wrong %d,%d unknown %d,%d; want all equal, one lookup",
			goodH, goodL, wrongH, wrongL, unknownH, unknownL)
	}
}

func TestBadStoredHA1(t *testing.T) {
	a, _ := newTest(t, nil)
	nonce, opaque := challenge(t, a)
	c := clientCreds("MD5", "alice", users["alice"], nonce, opaque, "00000001", "auth")
	err := a.Verify(c, testMethod, func(string, string) (string, bool) { return "abc", true })
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want an internal error", err)
	}
}

func TestStale(t *testing.T) {
	a, clk := newTest(t, func(o *Options) { o.NonceTTL = time.Minute })
	nonce, opaque := challenge(t, a)
	ok := clientCreds("SHA-256", "alice", users["alice"], nonce, opaque, "00000001", "auth")
	clk.Add(time.Minute) // exactly at TTL: still fresh
	if err := a.Verify(ok, testMethod, lookup); err != nil {
		t.Fatalf("at TTL: %v", err)
	}
	clk.Add(time.Nanosecond)
	ok.NC = "00000002"
	ok = clientCreds("SHA-256", "alice", users["alice"], nonce, opaque, "00000002", "auth")
	if err := a.Verify(ok, testMethod, lookup); !errors.Is(err, ErrStale) {
		t.Fatalf("after TTL: %v, want ErrStale", err)
	}
	// Stale is only for a correct response (RFC 7616 §3.3).
	bad := clientCreds("SHA-256", "alice", "guess", nonce, opaque, "00000003", "auth")
	if err := a.Verify(bad, testMethod, lookup); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong password after TTL: %v, want ErrInvalid", err)
	}
	// RFC 2069 clients go stale too.
	a2, clk2 := newTest(t, func(o *Options) { o.NonceTTL = time.Minute; o.AllowNoQOP = true })
	nonce, opaque = challenge(t, a2)
	clk2.Add(time.Minute + time.Nanosecond)
	old := clientCreds("MD5", "alice", users["alice"], nonce, opaque, "", "")
	if err := a2.Verify(old, testMethod, lookup); !errors.Is(err, ErrStale) {
		t.Fatalf("no qop after TTL: %v, want ErrStale", err)
	}
}

func TestFutureNonce(t *testing.T) {
	a, clk := newTest(t, nil)
	clk.Add(time.Hour)
	nonce, opaque := challenge(t, a)
	clk.Add(-time.Hour)
	c := clientCreds("MD5", "alice", users["alice"], nonce, opaque, "00000001", "auth")
	if err := a.Verify(c, testMethod, lookup); !errors.Is(err, ErrNonce) {
		t.Fatalf("future nonce: %v", err)
	}
}

func TestTamperedNonce(t *testing.T) {
	a, _ := newTest(t, nil)
	nonce, opaque := challenge(t, a)
	for i := range nonce {
		b := []byte(nonce)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		// the client computes a correct response over the tampered nonce
		c := clientCreds("MD5", "alice", users["alice"], string(b), opaque, "00000001", "auth")
		// Characters from 38 on encode only the address-bound tag: a
		// nonce we issued, but not to this address.
		want := ErrNonce
		if i >= 38 {
			want = ErrForeignNonce
		}
		if err := a.Verify(c, testMethod, lookup); !errors.Is(err, want) {
			t.Fatalf("byte %d: %v, want %v", i, err, want)
		}
	}
	// A nonce from another realm or secret is worthless here.
	for _, mod := range []func(*Options){
		func(o *Options) { o.Realm = "other.example.com" },
		func(o *Options) { o.Secret = bytes.Repeat([]byte{7}, 32) },
	} {
		b, _ := newTest(t, mod)
		n, _ := challenge(t, b)
		c := clientCreds("MD5", "alice", users["alice"], n, opaque, "00000001", "auth")
		if err := a.Verify(c, testMethod, lookup); !errors.Is(err, ErrNonce) {
			t.Fatalf("foreign nonce: %v", err)
		}
	}
}

func TestReplay(t *testing.T) {
	a, _ := newTest(t, nil)
	nonce, opaque := challenge(t, a)
	verify := func(nc uint32) error {
		c := clientCreds("SHA-256", "alice", users["alice"], nonce, opaque, fmt.Sprintf("%08x", nc), "auth")
		return a.Verify(c, testMethod, lookup)
	}
	steps := []struct {
		nc   uint32
		want error
	}{
		{1, nil},
		{1, ErrReplay},    // same nc twice
		{3, nil},          // skip ahead
		{2, nil},          // out of order but unseen
		{2, ErrReplay},    // now seen
		{3, ErrReplay},    //
		{100, nil},        // far ahead
		{37, nil},         // 63 below the highest: still in the window
		{36, ErrReplay},   // 64 below: too old to tell, rejected
		{5, ErrReplay},    // far below the window
		{101, nil},        //
		{0xffffffff, nil}, // highest count
		{100, ErrReplay},  // window slid past
	}
	for i, s := range steps {
		err := verify(s.nc)
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("step %d nc=%d: %v, want %v", i, s.nc, err, s.want)
		}
		// A replay is re-challenged with stale=true, not a failure.
		if err != nil && (!errors.Is(err, ErrStale) || errors.Is(err, ErrInvalid)) {
			t.Fatalf("step %d: replay %v is not ErrStale alone", i, err)
		}
	}
	// A wrong password must not burn a count of a legitimate client.
	bad := clientCreds("SHA-256", "alice", "guess", nonce, opaque, "00000200", "auth")
	if err := a.Verify(bad, testMethod, lookup); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	n2, _ := challenge(t, a)
	c := clientCreds("SHA-256", "alice", users["alice"], n2, opaque, "00000001", "auth")
	if err := a.Verify(c, testMethod, lookup); err != nil {
		t.Fatalf("other nonce nc=1: %v", err)
	}
	// RFC 2069 style (no qop, no nc) is refused unless allowed.
	if err := a.Verify(clientCreds("MD5", "alice", users["alice"], n2, opaque, "", ""), testMethod, lookup); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("no qop: %v, want ErrAlgorithm", err)
	}
}

func TestReplayStateExpires(t *testing.T) {
	a, clk := newTest(t, nil)
	for range 100 {
		clk.Add(time.Millisecond)
		nonce, opaque := challenge(t, a)
		if err := a.Verify(clientCreds("MD5", "alice", users["alice"], nonce, opaque, "00000001", "auth"), testMethod, lookup); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.replays.size(); n != 100 {
		t.Fatalf("size %d, want 100", n)
	}
	clk.Add(DefaultNonceTTL + time.Second)
	// Fresh traffic on every shard sweeps the expired entries.
	for range 2000 {
		clk.Add(time.Millisecond) // seqReader repeats every 256 bytes
		nonce, opaque := challenge(t, a)
		if err := a.Verify(clientCreds("MD5", "alice", users["alice"], nonce, opaque, "00000001", "auth"), testMethod, lookup); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.replays.size(); n != 2000 {
		t.Fatalf("size %d, want 2000 (expired entries swept)", n)
	}
}

func TestConcurrentVerify(t *testing.T) {
	a, _ := newTest(t, nil)
	nonce, opaque := challenge(t, a)
	var wg sync.WaitGroup
	errs := make([]error, 128)
	for i := range errs {
		wg.Go(func() {
			nc := fmt.Sprintf("%08x", i%64+1) // each count sent twice, all in one window
			errs[i] = a.Verify(clientCreds("SHA-256", "alice", users["alice"], nonce, opaque, nc, "auth"), testMethod, lookup)
			a.Challenges(false)
		})
	}
	wg.Wait()
	var ok, replay int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrReplay):
			replay++
		default:
			t.Fatal(err)
		}
	}
	if ok != 64 || replay != 64 {
		t.Fatalf("ok %d replay %d, want 64 each", ok, replay)
	}
}

func TestHA1(t *testing.T) {
	got, err := HA1("SHA-256", "alice", testRealm, "wonderland")
	if err != nil || got != hexSHA256("alice:"+testRealm+":wonderland") {
		t.Fatalf("HA1 = %s, %v", got, err)
	}
	if _, err := HA1("MD5-sess", "a", "b", "c"); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("HA1 sess: %v", err)
	}
}
