package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Attacks on digest authentication and on the ban logic, from other
// loopback addresses (issue 10, "Digest and bans").

// banConfig bans at 10 failures, as badinput_test does, and at 5
// usernames. It lists the user itself (the harness adds u1000 only to a
// config without "users:").
const banConfig = `security:
  ban: {failures: 10, window: 1m, duration: 15m, scan_users: 5}
users:
  - {username: u1000, password: secret}
`

// wrongAuth answers challenges (from a 401) for user with a wrong password.
func wrongAuth(t *testing.T, res *sipResponse, user string) string {
	t.Helper()
	auth, err := digestAuthorization(res.Headers["www-authenticate"], "REGISTER", "sip:example.com", user, "wrong")
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// TestSpoofedFailuresDoNotBanVictim: an attacker who cannot receive the
// victim's traffic (a blind UDP spoofer) sends wrong-password REGISTERs
// with the victim's source address, using a nonce the attacker was issued
// at its own address. None counts: the victim is not banned and registers.
// The same attacker guessing from its own address is banned (the nonce
// was issued to it: evidence).
func TestSpoofedFailuresDoNotBanVictim(t *testing.T) {
	t.Parallel()
	g := startGateway(t, banConfig)
	const victim, attacker = "127.0.0.5", "127.0.0.9"

	a := dialSIP(t, "udp", attacker, g.UDP)
	chal := a.roundTrip(a.request("REGISTER", "sip:example.com", "u1000", a.contact("u1000")))
	if chal.Status != 401 {
		t.Fatalf("attacker's first REGISTER: %d", chal.Status)
	}
	// The "spoofed" datagrams: sent from the victim's address (another
	// port), with the attacker's nonce. The spoofer would never see the
	// answers; the test drains them.
	spoof := dialSIP(t, "udp", victim, g.UDP)
	var notStale []string
	for i := range 15 {
		spoof.send(spoof.request("REGISTER", "sip:example.com", "u1000", spoof.contact("u1000"),
			"Authorization: "+wrongAuth(t, chal, "u1000")))
		r, err := spoof.read(2 * time.Second)
		if err != nil {
			t.Fatalf("spoofed REGISTER #%d not answered (victim banned: %v): %v", i+1, hasBan(g.bans(), victim), err)
		}
		if r.Status != 401 || !strings.Contains(strings.Join(r.Headers["www-authenticate"], " "), "stale=true") {
			notStale = append(notStale, fmt.Sprintf("#%d: %d", i+1, r.Status))
		}
	}
	// Blind spoofers may also make nonces up: those count no more.
	forged := regexp.MustCompile(`nonce="[^"]*"`).ReplaceAllString(wrongAuth(t, chal, "u1000"),
		`nonce="`+strings.Repeat("A", 48)+`"`)
	for i := range 12 {
		spoof.send(spoof.request("REGISTER", "sip:example.com", "u1000", spoof.contact("u1000"), "Authorization: "+forged))
		if r, err := spoof.read(2 * time.Second); err != nil || r.Status != 401 {
			t.Fatalf("spoofed REGISTER with a made-up nonce #%d: %v %v (victim banned: %v)", i+1, r, err, hasBan(g.bans(), victim))
		}
	}
	if hasBan(g.bans(), victim) {
		t.Fatalf("victim %s banned by spoofed failures: %+v", victim, g.bans())
	}
	// A nonce from another address is re-challenged with stale=true: a
	// phone whose address changed retries at once.
	if len(notStale) > 0 {
		t.Errorf("answers without 401 stale=true: %v", notStale)
	}
	v := dialSIP(t, "udp", victim, g.UDP)
	if res := v.register("u1000", "secret"); res.Status != 200 {
		t.Fatalf("victim's REGISTER after the attack: %d %s", res.Status, res.Reason)
	}

	// Positive control: guessing on its own nonce bans the attacker.
	res := chal
	for i := range 12 {
		a.send(a.request("REGISTER", "sip:example.com", "u1000", a.contact("u1000"), "Authorization: "+wrongAuth(t, res, "u1000")))
		r, err := a.read(time.Second)
		if err != nil {
			if i < 10 {
				t.Fatalf("attacker's guess #%d unanswered before the threshold", i+1)
			}
			continue
		}
		res = r
	}
	if !hasBan(g.bans(), attacker) {
		t.Fatalf("attacker %s not banned after 12 failures on its own nonce: %+v", attacker, g.bans())
	}
	// The ban is written to the store off the request path, and survives
	// a restart.
	g.restart()
	if !hasBan(g.bans(), attacker) || hasBan(g.bans(), victim) {
		t.Fatalf("bans after a restart: %+v, want %s only", g.bans(), attacker)
	}
}

// TestTrunkAddressNeverBanned: the PBX's address (a trunk target) sends
// bad REGISTERs over TCP (evidence the gateway would otherwise count) and
// a scanner User-Agent: it is never banned, so a misconfigured phone
// behind the PBX, or an attacker relayed by it, cannot cut the trunk.
func TestTrunkAddressNeverBanned(t *testing.T) {
	t.Parallel()
	const pbx = "127.0.0.7"
	// Something to probe: a UDP socket on the trunk's address.
	pc, err := net.ListenPacket("udp", pbx+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	g := startGateway(t, banConfig+fmt.Sprintf(`
trunks:
  - name: pbx
    target: "sip:%s;transport=udp"
    match: ["9"]
`, pc.LocalAddr()))
	c := dialSIP(t, "tcp", pbx, g.TCP)
	res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000")))
	for i := range 15 {
		res = c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", c.contact("u1000"), "Authorization: "+wrongAuth(t, res, "u1000")))
		if res.Status != 401 {
			t.Fatalf("bad REGISTER #%d from the PBX: %d", i+1, res.Status)
		}
	}
	c.send(c.request("OPTIONS", "sip:example.com", "u1000", "User-Agent: friendly-scanner"))
	time.Sleep(200 * time.Millisecond)
	if bs := g.bans(); len(bs) != 0 {
		t.Fatalf("trunk address banned: %+v", bs)
	}
	u := dialSIP(t, "udp", pbx, g.UDP)
	if r := u.roundTrip(u.request("OPTIONS", "sip:example.com", "u1000")); r.Status != 200 {
		t.Fatalf("PBX not served after the bad REGISTERs: %d", r.Status)
	}
}

// TestScannersBannedEarly: a scanner User-Agent over TCP bans its source
// at once (the connection proves the address); over UDP (forgeable) it is
// dropped unanswered and nobody is banned. Wrong passwords for five
// distinct usernames from one source ban it as a scanner, before ten
// failures of one username would.
func TestScannersBannedEarly(t *testing.T) {
	t.Parallel()
	g := startGateway(t, banConfig)

	const tcpScanner, udpScanner, guesser = "127.0.0.10", "127.0.0.11", "127.0.0.12"
	c := dialSIP(t, "tcp", tcpScanner, g.TCP)
	c.send(c.request("OPTIONS", "sip:100@example.com", "100", "User-Agent: friendly-scanner"))
	if r, err := c.read(time.Second); err == nil {
		t.Fatalf("scanner OPTIONS over TCP answered: %d", r.Status)
	}
	if !hasBan(g.bans(), tcpScanner) {
		t.Fatalf("TCP scanner %s not banned at first sight: %+v", tcpScanner, g.bans())
	}
	u := dialSIP(t, "udp", tcpScanner, g.UDP)
	u.expectNoResponse(u.request("OPTIONS", "sip:example.com", "u1000", "User-Agent: Yealink"), time.Second)

	s := dialSIP(t, "udp", udpScanner, g.UDP)
	s.expectNoResponse(s.request("REGISTER", "sip:example.com", "100", s.contact("100"), "User-Agent: sipvicious"), time.Second)
	if hasBan(g.bans(), udpScanner) {
		t.Fatalf("UDP scanner banned on a forgeable datagram")
	}
	if r := s.roundTrip(s.request("OPTIONS", "sip:example.com", "u1000")); r.Status != 200 {
		t.Fatalf("normal OPTIONS from %s: %d", udpScanner, r.Status)
	}

	// Enumerating usernames over TCP (REGISTER without credentials for
	// users that do not exist, as svwar does) bans as well.
	const enumerator = "127.0.0.15"
	e := dialSIP(t, "tcp", enumerator, g.TCP)
	for i := range 5 {
		user := fmt.Sprintf("%d", 200+i)
		e.send(e.request("REGISTER", "sip:example.com", user, e.contact(user)))
		if _, err := e.read(time.Second); err != nil && i < 4 {
			t.Fatalf("REGISTER for %s unanswered", user)
		}
	}
	if !hasBan(g.bans(), enumerator) {
		t.Fatalf("5 unknown usernames over TCP from %s: not banned: %+v", enumerator, g.bans())
	}

	m := dialSIP(t, "udp", guesser, g.UDP)
	for i := range 5 {
		user := fmt.Sprintf("%d", 100+i)
		r := m.roundTrip(m.request("REGISTER", "sip:example.com", user, m.contact(user)))
		m.send(m.request("REGISTER", "sip:example.com", user, m.contact(user), "Authorization: "+wrongAuth(t, r, user)))
		if _, err := m.read(time.Second); err != nil && i < 4 {
			t.Fatalf("guess %d unanswered", i+1)
		}
	}
	if !hasBan(g.bans(), guesser) {
		t.Fatalf("5 distinct usernames failing from %s: not banned: %+v", guesser, g.bans())
	}

	// Over a WebSocket the connection proves the address as well.
	w := dialWS(t, "ws", g.WS, g.WSPath)
	w.write(ws.NewFrame(ws.OpText, true, []byte(w.request("OPTIONS", "100", "User-Agent: VaxSIPUserAgent/3.1"))))
	if f, err := w.readFrame(time.Second); err == nil && f.Header.OpCode == ws.OpText {
		t.Fatalf("scanner OPTIONS over WebSocket answered: %q", f.Payload)
	}
	if !hasBan(g.bans(), "127.0.0.1") {
		t.Fatalf("WebSocket scanner not banned: %+v", g.bans())
	}
}

// TestDigestRules: a replayed nonce count is re-challenged with
// stale=true (not a failure); credentials computed for another Request-URI
// are refused with 400; credentials without qop are not accepted.
func TestDigestRules(t *testing.T) {
	t.Parallel()
	g := startGateway(t, banConfig)

	t.Run("replayed nonce count is stale", func(t *testing.T) {
		c := dialSIP(t, "udp", "127.0.0.13", g.UDP)
		contact := c.contact("u1000")
		res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact))
		auth, err := digestAuthorization(res.Headers["www-authenticate"], "REGISTER", "sip:example.com", "u1000", "secret")
		if err != nil {
			t.Fatal(err)
		}
		if ok := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact, "Authorization: "+auth)); ok.Status != 200 {
			t.Fatalf("REGISTER: %d", ok.Status)
		}
		for i := range 12 { // more replays than the ban threshold
			r := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact, "Authorization: "+auth))
			if r.Status != 401 || !strings.Contains(strings.Join(r.Headers["www-authenticate"], " "), "stale=true") {
				t.Fatalf("replay #%d: %d %q, want 401 with stale=true", i+1, r.Status, r.Headers["www-authenticate"])
			}
		}
		if hasBan(g.bans(), "127.0.0.13") {
			t.Fatalf("replays counted as failures: %+v", g.bans())
		}
	})

	// Credentials made for another Request-URI (say, captured from a
	// request to another domain) do not authenticate this one.
	t.Run("register with another uri", func(t *testing.T) {
		c := dialSIP(t, "udp", "127.0.0.16", g.UDP)
		contact := c.contact("u1000")
		res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact))
		other, err := digestAuthorization(res.Headers["www-authenticate"], "REGISTER", "sip:other.example.net", "u1000", "secret")
		if err != nil {
			t.Fatal(err)
		}
		if r := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact, "Authorization: "+other)); r.Status != 400 {
			t.Fatalf("digest uri of another request: %d %s, want 400", r.Status, r.Reason)
		}
	})

	// The same on the B2BUA's 407: credentials an attacker saw for a call
	// to 1000 do not place a call to another number.
	t.Run("invite with another uri", func(t *testing.T) {
		c := dialSIP(t, "udp", "127.0.0.17", g.UDP)
		res := c.roundTrip(c.request("INVITE", "sip:0900123456@example.com", "u1000", "Contact: <sip:u1000@127.0.0.17>"))
		if res.Status != 407 {
			t.Fatalf("INVITE: %d, want 407", res.Status)
		}
		pa, err := digestAuthorization(res.Headers["proxy-authenticate"], "INVITE", "sip:1000@example.com", "u1000", "secret")
		if err != nil {
			t.Fatal(err)
		}
		r := c.roundTrip(c.request("INVITE", "sip:0900123456@example.com", "u1000", "Contact: <sip:u1000@127.0.0.17>", "Proxy-Authorization: "+pa))
		if r.Status != 400 || !strings.Contains(r.Reason, "Proxy-Authorization") {
			t.Fatalf("INVITE with the digest uri of another call: %d %s, want 400 (Proxy-Authorization)", r.Status, r.Reason)
		}
	})

	// RFC 2069 credentials (no qop, no nonce count): refused by default.
	t.Run("no qop", func(t *testing.T) {
		c := dialSIP(t, "udp", "127.0.0.18", g.UDP)
		contact := c.contact("u1000")
		res := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact))
		var noQOP []string
		for _, ch := range res.Headers["www-authenticate"] {
			noQOP = append(noQOP, strings.Replace(ch, `qop="auth"`, "", 1))
		}
		old, err := digestAuthorization(noQOP, "REGISTER", "sip:example.com", "u1000", "secret")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(old, "qop=") {
			t.Fatalf("test client sent qop: %s", old)
		}
		if r := c.roundTrip(c.request("REGISTER", "sip:example.com", "u1000", contact, "Authorization: "+old)); r.Status != 401 {
			t.Fatalf("credentials without qop: %d, want 401", r.Status)
		}
	})
}

// TestPathFromStrangerIgnored: a REGISTER with a Path (RFC 3327) from a
// source that is not a configured edge proxy must not route the user's
// calls through the attacker's host: the binding is stored without the
// Path and none is echoed. From a configured edge proxy it is kept.
func TestPathFromStrangerIgnored(t *testing.T) {
	t.Parallel()
	const edge, stranger = "127.0.0.14", "127.0.0.9"
	g := startGateway(t, "registrar: {edge_proxies: ["+edge+"]}\nusers:\n  - {username: u1000, password: secret}\n  - {username: u1001, password: secret}\n")

	s := dialSIP(t, "udp", stranger, g.UDP)
	res := s.register("u1000", "secret", "Supported: path", "Path: <sip:evil@"+stranger+":5999;lr>")
	if res.Status != 200 {
		t.Fatalf("REGISTER with Path: %d", res.Status)
	}
	if p := res.Headers["path"]; len(p) != 0 {
		t.Errorf("Path from a stranger echoed: %q", p)
	}
	e := dialSIP(t, "udp", edge, g.UDP)
	if res := e.register("u1001", "secret", "Supported: path", "Path: <sip:"+edge+":5060;lr>"); res.Status != 200 || len(res.Headers["path"]) != 1 {
		t.Fatalf("REGISTER via the edge proxy: %d, Path %q", res.Status, res.Headers["path"])
	}
	regs := byAOR(g.waitRegistrations(5*time.Second, "two bindings", func(rs []registration) bool { return len(rs) == 2 }))
	if p := regs["u1000@example.com"].Path; len(p) != 0 {
		t.Errorf("Path from a stranger stored: %q", p)
	}
	if p := regs["u1001@example.com"].Path; len(p) != 1 {
		t.Errorf("Path from the edge proxy not stored: %q", p)
	}
}

// TestTrustConfig: the old security.trusted (calls without credentials
// and no bans at once) is refused with a message naming its two
// replacements; a trusted prefix wider than /24 loads with a warning, from
// check-config and in the log at start.
func TestTrustConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "old.yaml")
	if err := os.WriteFile(old, []byte("domain: example.com\nsecurity:\n  trusted: [10.0.0.5]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, "check-config", old)
	if code != 1 || !strings.Contains(errOut, old+":3: security.trusted:") ||
		!strings.Contains(errOut, "security.trusted_callers") || !strings.Contains(errOut, "security.exempt_sources") {
		t.Errorf("security.trusted: exit %d\n%s%s", code, out, errOut)
	}
	wide := filepath.Join(dir, "wide.yaml")
	if err := os.WriteFile(wide, []byte("domain: example.com\nsecurity:\n  trusted_callers: [10.0.0.0/8]\n  exempt_sources: ['2001:db8::/48', 192.0.2.1]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, "check-config", wide)
	if code != 0 || !strings.Contains(errOut, wide+":3: security.trusted_callers[0]: warning: 10.0.0.0/8 is wider than /24") ||
		!strings.Contains(errOut, wide+":4: security.exempt_sources[0]: warning: 2001:db8::/48 is wider than /64") ||
		strings.Contains(errOut, "192.0.2.1") {
		t.Errorf("wide prefixes: exit %d\n%s%s", code, out, errOut)
	}

	g := startGateway(t, "security: {trusted_callers: [127.0.0.0/16]}\n")
	g.waitLog("127.0.0.0/16 is wider than /24", 5*time.Second)
}
