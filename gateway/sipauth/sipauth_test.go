package sipauth

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/digest"
)

type obs struct {
	mu     sync.Mutex
	failed []string // "ip user"
	passed int
}

func (o *obs) AuthFailed(ip netip.Addr, user string) {
	o.mu.Lock()
	o.failed = append(o.failed, ip.String()+" "+user)
	o.mu.Unlock()
}
func (o *obs) AuthSucceeded(netip.Addr, string) { o.mu.Lock(); o.passed++; o.mu.Unlock() }

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

func ha1(user, alg string) (string, bool) {
	if user != "u1000" {
		return "", false
	}
	h, _ := digest.HA1(alg, user, "example.com", "secret")
	return h, true
}

func newChecker(t *testing.T) (*Checker, *obs) {
	t.Helper()
	a, err := digest.New(digest.Options{Realm: "example.com", Secret: []byte(strings.Repeat("s", 32)), Algorithms: []string{"MD5"}})
	if err != nil {
		t.Fatal(err)
	}
	o := &obs{}
	return &Checker{Auth: a, HA1: ha1, Observer: o}, o
}

// request builds a REGISTER to ruri from src over transport.
func request(t *testing.T, ruri, src, transport string, extra ...string) *sip.Request {
	t.Helper()
	raw := "REGISTER " + ruri + " SIP/2.0\r\nVia: SIP/2.0/" + transport + " " + src + ";branch=z9hG4bK" + fmt.Sprint(time.Now().UnixNano()) +
		"\r\nFrom: <sip:u1000@example.com>;tag=a\r\nTo: <sip:u1000@example.com>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"
	for _, h := range extra {
		raw += h + "\r\n"
	}
	raw += "Content-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetSource(src)
	req.SetTransport(transport)
	return req
}

// answer computes an Authorization for the first challenge.
func answer(chal, user, pw, uri, nc string) string {
	get := func(name string) string {
		i := strings.Index(chal, name+`="`)
		rest := chal[i+len(name)+2:]
		return rest[:strings.IndexByte(rest, '"')]
	}
	nonce := get("nonce")
	resp := md5hex(md5hex(user+":example.com:"+pw) + ":" + nonce + ":" + nc + ":cn:auth:" + md5hex("REGISTER:"+uri))
	return fmt.Sprintf(`Digest username="%s", realm="example.com", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="cn", opaque="%s"`,
		user, nonce, uri, resp, nc, get("opaque"))
}

func TestCheckEvidence(t *testing.T) {
	const victim, attacker = "192.0.2.10:5060", "192.0.2.66:5060"
	tests := []struct {
		name      string
		issuedTo  string // the nonce was issued to this source
		from      string // the request comes from here
		transport string
		pw, uri   string
		want      Outcome
		counted   bool
	}{
		{"right password", victim, victim, "UDP", "secret", "sip:example.com", OK, false},
		{"wrong password on own nonce", victim, victim, "UDP", "guess", "sip:example.com", Failed, true},
		{"wrong password on another's nonce, UDP", victim, attacker, "UDP", "guess", "sip:example.com", Stale, false},
		{"right password on another's nonce", victim, attacker, "UDP", "secret", "sip:example.com", Stale, false},
		{"another's nonce over TCP", victim, attacker, "TCP", "guess", "sip:example.com", Stale, false},
		{"uri of another request", victim, victim, "UDP", "secret", "sip:evil.example.net", Malformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, o := newChecker(t)
			first := request(t, "sip:example.com", tt.issuedTo, tt.transport)
			chal := c.Challenges(first, false)[0]
			auth := answer(chal, "u1000", tt.pw, tt.uri, "00000001")
			req := request(t, "sip:example.com", tt.from, tt.transport, "Authorization: "+auth)
			_, got := c.Check(req, req.GetHeader("Authorization"))
			if got != tt.want {
				t.Fatalf("outcome %d, want %d", got, tt.want)
			}
			if counted := len(o.failed) > 0; counted != tt.counted {
				t.Fatalf("counted %v (%v), want %v", counted, o.failed, tt.counted)
			}
		})
	}
}

func TestForgedNonceCountedOnlyOverStreams(t *testing.T) {
	forged := `Digest username="u1000", realm="example.com", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:example.com", response="00000000000000000000000000000000", algorithm=MD5, qop=auth, nc=00000001, cnonce="x"`
	for _, tp := range []string{"UDP", "TCP", "TLS", "WSS"} {
		c, o := newChecker(t)
		req := request(t, "sip:example.com", "192.0.2.10:5060", tp, "Authorization: "+forged)
		if _, got := c.Check(req, req.GetHeader("Authorization")); got != Failed {
			t.Fatalf("%s: outcome %d, want Failed", tp, got)
		}
		if counted := len(o.failed) == 1; counted != (tp != "UDP") {
			t.Errorf("%s: counted %v", tp, o.failed)
		}
	}
}

func TestReplayIsStaleNotFailure(t *testing.T) {
	c, o := newChecker(t)
	src := "192.0.2.10:5060"
	chal := c.Challenges(request(t, "sip:example.com", src, "UDP"), false)[0]
	auth := answer(chal, "u1000", "secret", "sip:example.com", "00000001")
	for i, want := range []Outcome{OK, Stale, Stale} {
		req := request(t, "sip:example.com", src, "UDP", "Authorization: "+auth)
		if _, got := c.Check(req, req.GetHeader("Authorization")); got != want {
			t.Fatalf("use %d: outcome %d, want %d", i+1, got, want)
		}
	}
	if len(o.failed) != 0 {
		t.Fatalf("replays counted as failures: %v", o.failed)
	}
}

func TestSameURI(t *testing.T) {
	tests := []struct {
		digest, ruri string
		want         bool
	}{
		{"sip:example.com", "sip:example.com", true},
		{"sip:EXAMPLE.com", "sip:example.com", true},
		{"sip:example.com;transport=tcp", "sip:example.com;transport=TCP", true},
		{"sip:example.com;foo=1", "sip:example.com", true}, // other params: compared only when in both
		{"sip:example.com;foo=1", "sip:example.com;foo=2", false},
		{"sip:example.com;transport=tcp", "sip:example.com", false},
		{"sip:example.com:5060", "sip:example.com", false},
		{"sips:example.com", "sip:example.com", false},
		{"sip:Alice@example.com", "sip:alice@example.com", false},
		{"sip:1000@192.0.2.1", "sip:1000@192.0.2.1", true},
		{"sip:1000@[2001:db8::1]", "sip:1000@[2001:DB8::1]", true},
		{"sip:1000@example.com", "sip:1001@example.com", false},
		{"sip:evil.example.net", "sip:example.com", false},
		{"", "sip:example.com", false},
		{"/dir/index.html", "sip:example.com", false},
	}
	for _, tt := range tests {
		var u sip.Uri
		if err := sip.ParseUri(tt.ruri, &u); err != nil {
			t.Fatal(err)
		}
		if got := SameURI(tt.digest, &u); got != tt.want {
			t.Errorf("SameURI(%q, %q) = %v, want %v", tt.digest, tt.ruri, got, tt.want)
		}
	}
}

type prober struct {
	obs
	probed []string
}

func (p *prober) Probe(_ netip.Addr, name string) { p.probed = append(p.probed, name) }

// TestUnknownProbedOnlyOverStreams: only requests for usernames that do not
// exist, over a connection (unspoofable), count as probing.
func TestUnknownProbedOnlyOverStreams(t *testing.T) {
	c, _ := newChecker(t)
	p := &prober{}
	c.Observer = p
	for _, tc := range []struct{ transport, user string }{
		{"UDP", "100"}, {"TCP", "101"}, {"TLS", "u1000"}, {"WSS", "102"},
	} {
		c.Unknown(request(t, "sip:example.com", "192.0.2.10:5060", tc.transport), tc.user)
	}
	if got := strings.Join(p.probed, ","); got != "101,102" {
		t.Fatalf("probed %q, want 101,102 (not over UDP, not a known user)", got)
	}
}

// TestAnyURI: with the uri check off (registrar.check_digest_uri: false,
// for SIPp without -auth_uri) credentials computed over the server's
// address pass, a wrong password still fails and a replay is still stale.
func TestAnyURI(t *testing.T) {
	a, err := digest.New(digest.Options{Realm: "example.com", Secret: []byte(strings.Repeat("s", 32)),
		Algorithms: []string{"MD5"}, AnyURI: true})
	if err != nil {
		t.Fatal(err)
	}
	o := &obs{}
	c := &Checker{Auth: a, HA1: ha1, Observer: o}
	src := "192.0.2.10:5060"
	chal := c.Challenges(request(t, "sip:example.com", src, "UDP"), false)[0]
	for i, tt := range []struct {
		pw, nc string
		want   Outcome
	}{{"secret", "00000001", OK}, {"secret", "00000001", Stale}, {"guess", "00000002", Failed}} {
		auth := answer(chal, "u1000", tt.pw, "sip:127.0.0.1:5080", tt.nc)
		req := request(t, "sip:example.com", src, "UDP", "Authorization: "+auth)
		if _, got := c.Check(req, req.GetHeader("Authorization")); got != tt.want {
			t.Fatalf("case %d: outcome %d, want %d", i, got, tt.want)
		}
	}
}
