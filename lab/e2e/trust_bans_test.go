package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Attacks on the ban counters and on the split of the old
// security.trusted (issue 10, "Digest and bans" and "Split
// security.trusted"), from other loopback addresses against the binary.

// guess sends one REGISTER for user with a wrong password answering the
// challenge in res, and returns the answer (nil once the source is
// banned: banned sources are dropped unanswered).
func guess(t *testing.T, c *sipConn, res *sipResponse, user string) *sipResponse {
	t.Helper()
	c.send(c.request("REGISTER", "sip:example.com", user, c.contact(user), "Authorization: "+wrongAuth(t, res, user)))
	r, err := c.read(time.Second)
	if err != nil {
		return nil
	}
	return r
}

// challenge sends a REGISTER without credentials for user and returns
// the 401.
func challenge(t *testing.T, c *sipConn, user string) *sipResponse {
	t.Helper()
	res := c.roundTrip(c.request("REGISTER", "sip:example.com", user, c.contact(user)))
	if res.Status != 401 {
		t.Fatalf("REGISTER for %s from %s without credentials: %d, want 401", user, c.conn.LocalAddr(), res.Status)
	}
	return res
}

// banOf returns the ban of ip, if any.
func banOf(bs []ban, ip string) (ban, bool) {
	for _, b := range bs {
		if b.IP == ip {
			return b, true
		}
	}
	return ban{}, false
}

// TestBanCountsPerSourceAndUser: failures are counted per (source,
// username) and per username, and a success resets only its own pair.
//
//   - An attacker on 127.0.0.40 guesses u1000's password 9 times (one short
//     of the ban), then registers its own account u1001 correctly, then
//     guesses once more: banned. A success that reset the source's count
//     would let it guess for ever, 9 at a time.
//   - Five sources (127.0.0.41-45) guess u1001's password 5 times each, in
//     turns: no source reaches 10, but u1001 is under a distributed attack
//     (20 failures), so every source that failed on it is banned. u1001's
//     owner, from an address that never failed, still registers.
func TestBanCountsPerSourceAndUser(t *testing.T) {
	t.Parallel()
	g := startGateway(t, `security:
  ban: {failures: 10, window: 1m, duration: 15m, scan_users: 5}
users:
  - {username: u1000, password: secret}
  - {username: u1001, password: secret}
`)

	const attacker = "127.0.0.40"
	a := dialSIP(t, "udp", attacker, g.UDP)
	res := challenge(t, a, "u1000")
	for i := range 9 {
		if res = guess(t, a, res, "u1000"); res == nil || res.Status != 401 {
			t.Fatalf("guess #%d for u1000: %v, want 401 (banned before the threshold: %v)", i+1, res, g.bans())
		}
	}
	if r := a.register("u1001", "secret"); r.Status != 200 {
		t.Fatalf("the attacker's own REGISTER as u1001: %d %s", r.Status, r.Reason)
	}
	if hasBan(g.bans(), attacker) {
		t.Fatalf("%s banned after 9 failures: %+v", attacker, g.bans())
	}
	res = challenge(t, a, "u1000")
	guess(t, a, res, "u1000") // the 10th failure for u1000 from this source
	if b, ok := banOf(g.bans(), attacker); !ok || b.Reason != "auth failures" {
		t.Fatalf("9 failures on u1000, a success as u1001, 1 failure on u1000 from %s: ban %+v (%v), want banned for auth failures; bans %+v",
			attacker, b, ok, g.bans())
	}

	// The distributed attack on u1001.
	var conns []*sipConn
	var last []*sipResponse
	for i := range 5 {
		c := dialSIP(t, "udp", fmt.Sprintf("127.0.0.%d", 41+i), g.UDP)
		conns = append(conns, c)
		last = append(last, challenge(t, c, "u1001"))
	}
	for round := range 5 {
		for i, c := range conns {
			if last[i] == nil {
				continue // banned
			}
			r := guess(t, c, last[i], "u1001")
			if r == nil && round < 3 {
				t.Fatalf("%s banned after %d failures, before the username's count reached 20: %+v",
					c.conn.LocalAddr(), round+1, g.bans())
			}
			last[i] = r
		}
	}
	bs := g.bans()
	for i := range 5 {
		ip := fmt.Sprintf("127.0.0.%d", 41+i)
		if b, ok := banOf(bs, ip); !ok || !strings.Contains(b.Reason, "under attack") {
			t.Errorf("%s (5 failures on u1001, 25 in all): ban %+v (%v), want banned as part of an attack on the username", ip, b, ok)
		}
	}
	owner := dialSIP(t, "udp", "127.0.0.46", g.UDP)
	if r := owner.register("u1001", "secret"); r.Status != 200 {
		t.Errorf("u1001's owner on a clean address after the attack: %d %s, want 200", r.Status, r.Reason)
	}
	if hasBan(g.bans(), "127.0.0.46") {
		t.Errorf("the owner's address was banned: %+v", g.bans())
	}
}

// inviteFrom sends an INVITE to number from c without credentials, with
// From fromUser@fromHost, and returns the final answer; a 2xx is ACKed.
func inviteFrom(t *testing.T, c *sipConn, gw, number, fromUser, fromHost string) *sipResponse {
	t.Helper()
	local := c.conn.LocalAddr().String()
	host := strings.Split(local, ":")[0]
	body := mediaBody(host, 40000, "", 0)
	c.send(fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%s@%s>;tag=%s\r\nTo: <sip:%s@example.com>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:%s@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		number, gw, local, randHex(8), fromUser, fromHost, c.tag, number, c.callID, fromUser, local, len(body), body))
	res := awaitFinal(t, c, "1 INVITE")
	if res.Status/100 == 2 {
		c.send(fmt.Sprintf("ACK sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:%s@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
			number, gw, local, randHex(8), fromUser, fromHost, c.tag, res.get("To"), c.callID))
	}
	return res
}

// burst sends n OPTIONS from c at once and counts the answers (until 2 s
// pass without one).
func burst(c *sipConn, n int) int {
	for range n {
		c.send(c.request("OPTIONS", "sip:example.com", "u1000"))
	}
	got := 0
	for {
		if _, err := c.read(2 * time.Second); err != nil {
			return got
		}
		got++
	}
}

// TestTrustedCallersAndExemptSources: the two meanings of the old
// security.trusted, each on its own address.
//
//   - 127.0.0.50 (trusted_callers) calls local user 1001 without
//     credentials and the phone rings; but a From naming one of our users
//     must authenticate (407), its failures over TCP ban it, and another
//     trusted caller (127.0.0.52) is rate-limited.
//   - 127.0.0.51 (exempt_sources) gets 407 for the same call, but it is
//     neither rate-limited nor banned.
func TestTrustedCallersAndExemptSources(t *testing.T) {
	t.Parallel()
	const caller, exempt, caller2 = "127.0.0.50", "127.0.0.51", "127.0.0.52"
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security:
  trusted_callers: [%s, %s/32]
  exempt_sources: [%s/32]
  rate_limit: {requests_per_second: 1, burst: 10}
  ban: {failures: 3, window: 1m, duration: 15m}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
`, caller, caller2, exempt))
	dev := newRawPhone(t, g, "u1001", phoneMode{answer: 50 * time.Millisecond})

	// Calls without credentials.
	c := dialSIP(t, "udp", caller, g.UDP)
	if res := inviteFrom(t, c, g.UDP, "1001", "5551234", caller); res.Status != 200 {
		t.Fatalf("INVITE to 1001 from trusted caller %s: %d %s, want 200", caller, res.Status, res.Reason)
	}
	dev.wait(5*time.Second, "the trusted caller's INVITE", isMethod("INVITE"))
	c2 := dialSIP(t, "udp", caller, g.UDP)
	if res := inviteFrom(t, c2, g.UDP, "1001", "u1000", "example.com"); res.Status != 407 {
		t.Errorf("INVITE from trusted caller %s with From u1000 (one of our users): %d %s, want 407", caller, res.Status, res.Reason)
	}
	e := dialSIP(t, "udp", exempt, g.UDP)
	if res := inviteFrom(t, e, g.UDP, "1001", "5551234", exempt); res.Status != 407 {
		t.Errorf("INVITE to 1001 from exempt source %s: %d %s, want 407 (exempt is no licence to call)", exempt, res.Status, res.Reason)
	}

	// Bans: wrong passwords over TCP (a connection proves the address).
	for _, src := range []string{exempt, caller} {
		tc := dialSIP(t, "tcp", src, g.TCP)
		res := tc.roundTrip(tc.request("REGISTER", "sip:example.com", "u1000", tc.contact("u1000")))
		for i := 0; i < 4 && res != nil && res.Status == 401; i++ {
			tc.send(tc.request("REGISTER", "sip:example.com", "u1000", tc.contact("u1000"), "Authorization: "+wrongAuth(t, res, "u1000")))
			res, _ = tc.read(time.Second)
		}
	}
	if hasBan(g.bans(), exempt) {
		t.Errorf("exempt source %s banned: %+v", exempt, g.bans())
	}
	if !hasBan(g.bans(), caller) {
		t.Errorf("trusted caller %s not banned after 4 wrong passwords over TCP: %+v", caller, g.bans())
	}

	// Rate limits: 40 OPTIONS at once against a burst of 10, from the
	// exempt source and from another trusted caller.
	ce, cc := dialSIP(t, "udp", exempt, g.UDP), dialSIP(t, "udp", caller2, g.UDP)
	if got := burst(ce, 40); got != 40 {
		t.Errorf("exempt source: %d/40 OPTIONS answered, want all (never rate-limited)", got)
	}
	if got := burst(cc, 40); got > 20 {
		t.Errorf("trusted caller %s: %d/40 OPTIONS answered past a burst of 10, want it rate-limited", caller2, got)
	}
	if hasBan(g.bans(), exempt) || hasBan(g.bans(), caller2) {
		t.Errorf("a burst of OPTIONS banned: %+v", g.bans())
	}
}
