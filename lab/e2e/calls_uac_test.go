package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// The client side of the gateway's INVITEs towards trunks (issue 11):
// lost ACKs, forks downstream, challenges, CANCEL races, the socket
// requests leave from. The trunk is a rawPBX (calls_stray_test.go): it
// sends what a real PBX sends, and drops what a lossy network drops.

// rawTrunkConfig routes 2000 to a rawPBX on 127.0.0.2:port; extra goes
// inside the trunk's entry (indented "    key: value" lines).
func rawTrunkConfig(port int, extra string) string {
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%d
    probe: {interval: 0s}
    match: ["2000"]
%s`, port, extra)
}

// pbxMsg is one request the rawPBX read.
type pbxMsg struct {
	raw  string
	from net.Addr
}

// collect reads every request for d (skipping INVITE retransmissions).
func (p *rawPBX) collect(d time.Duration) []pbxMsg {
	var out []pbxMsg
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return out
		}
		msg, from := p.next(left, "ACK", "BYE", "CANCEL", "INVITE", "OPTIONS")
		if msg == "" {
			return out
		}
		out = append(out, pbxMsg{msg, from})
	}
}

func method(msg string) string { m, _, _ := strings.Cut(msg, " "); return m }

func hasTag(msg, tag string) bool { return strings.Contains(header(msg, "To"), "tag="+tag) }

// TestLostACKAndForkedAnswer: the trunk's 200 is retransmitted because
// our ACK was lost, then a fork behind the PBX answers too with another
// To tag. The gateway ACKs the retransmission (RFC 3261 §13.2.2.4; sipgo
// hands it only to OnRetransmission), ACKs and BYEs the second dialog,
// and the call stays up on the first one.
func TestLostACKAndForkedAnswer(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, rawTrunkConfig(pbx.port(), ""))
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the trunk got no INVITE")
	}
	contact := fmt.Sprintf("sip:2000@127.0.0.2:%d", pbx.port())
	ok200 := response(inv, 200, "OK", "uas1", contact, pbxSDP)
	pbx.send(ok200, from)
	if ack, _ := pbx.next(3*time.Second, "ACK"); ack == "" {
		t.Fatal("no ACK for the 200")
	} // ... and the network loses it: the PBX retransmits its 200.
	if err := <-answered; err != nil {
		t.Fatalf("caller not answered: %v", err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	pbx.send(ok200, from)
	ack, _ := pbx.next(3*time.Second, "ACK")
	if ack == "" {
		t.Fatalf("no ACK for the retransmitted 200: the callee would hang up after 32 s\n%s", g.log.String())
	}
	if !hasTag(ack, "uas1") || header(ack, "Call-ID") != header(inv, "Call-ID") {
		t.Errorf("ACK for the retransmission is not in the call's dialog:\n%s", ack)
	}

	// A fork behind the PBX answers as well: another dialog, to be ACKed
	// and hung up (RFC 3261 §13.2.2.4).
	pbx.send(response(inv, 200, "OK", "fork2", contact, pbxSDP), from)
	var gotAck, gotBye bool
	for _, m := range pbx.collect(2 * time.Second) {
		switch {
		case method(m.raw) == "ACK" && hasTag(m.raw, "fork2"):
			gotAck = true
		case method(m.raw) == "BYE" && hasTag(m.raw, "fork2"):
			gotBye = true
			pbx.send(response(m.raw, 200, "OK", "", "", ""), m.from)
		case method(m.raw) == "BYE":
			t.Errorf("BYE on the answered dialog:\n%s", m.raw)
		}
	}
	if !gotAck || !gotBye {
		t.Fatalf("second dialog: ACK %v, BYE %v; want both\n%s", gotAck, gotBye, g.log.String())
	}

	// The call is still up: the caller's BYE reaches the first dialog.
	byeDone := make(chan error, 1)
	go func() { byeDone <- s.Bye(ctx) }()
	bye, byeFrom := pbx.next(3*time.Second, "BYE")
	if bye == "" || !hasTag(bye, "uas1") {
		t.Fatalf("the caller's BYE did not reach the answered dialog: %q", bye)
	}
	pbx.send(response(bye, 200, "OK", "", "", ""), byeFrom)
	if err := <-byeDone; err != nil {
		t.Fatalf("caller's BYE: %v", err)
	}
}

// checkDigest verifies a digest response (RFC 7616 §3.4.1, qop=auth) the
// way a PBX does, with the test's own hashing, not the gateway's code.
func checkDigest(t *testing.T, authz, method, uri, user, password, realm, nonce, alg string) {
	t.Helper()
	p := parseDigest(authz)
	if p == nil {
		t.Fatalf("not a Digest credential: %q", authz)
	}
	h := func(s string) string {
		if alg == "SHA-256" {
			x := sha256.Sum256([]byte(s))
			return hex.EncodeToString(x[:])
		}
		return md5hex(s)
	}
	for k, want := range map[string]string{"username": user, "realm": realm, "nonce": nonce, "uri": uri, "qop": "auth"} {
		if p[k] != want {
			t.Errorf("%s=%q, want %q in %q", k, p[k], want, authz)
		}
	}
	if got := p["algorithm"]; !strings.EqualFold(got, alg) && !(alg == "MD5" && got == "") {
		t.Errorf("algorithm=%q, want %s", got, alg)
	}
	ha1, ha2 := h(user+":"+realm+":"+password), h(method+":"+uri)
	want := h(ha1 + ":" + nonce + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	if p["response"] != want || p["cnonce"] == "" || p["nc"] == "" {
		t.Errorf("digest response %q does not verify (want %q): %q", p["response"], want, authz)
	}
}

// TestTrunkChallengesInvite: a trunk that challenges every INVITE
// (Asterisk/FreePBX, 3CX, BroadWorks) gets it again with credentials:
// CSeq + 1, same Call-ID and From tag, a digest that verifies, SHA-256
// or MD5 as the challenge asks, 407 and 401 alike (RFC 3261 §22.2). A
// trunk without credentials fails the call with 403, not 503.
func TestTrunkChallengesInvite(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, rawTrunkConfig(pbx.port(), "    auth: {user: gw, password: \"s3cret\"}\n")+
		fmt.Sprintf("  - {name: noauth, target: \"sip:127.0.0.2:%d\", probe: {interval: 0s}, match: [\"3000\"]}\n", pbx.port()))
	contact := fmt.Sprintf("sip:2000@127.0.0.2:%d", pbx.port())

	for _, tc := range []struct {
		code              int
		challenge, answer string
		alg, nonce, realm string
	}{
		{407, "Proxy-Authenticate", "Proxy-Authorization", "SHA-256", "n407", "asterisk"},
		{401, "WWW-Authenticate", "Authorization", "MD5", "n401", "3cx"},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			ph := newPhone(t)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
			if err != nil {
				t.Fatal(err)
			}
			answered := make(chan error, 1)
			go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()
			inv, from := pbx.next(5*time.Second, "INVITE")
			if inv == "" {
				t.Fatal("the trunk got no INVITE")
			}
			ch := response(inv, tc.code, "Auth Required", "ch1", "", "")
			ch = strings.Replace(ch, "Content-Length:", fmt.Sprintf(
				"%s: Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"\r\n%s: Digest realm=\"%s\", nonce=\"other\", algorithm=MD5, qop=\"auth\"\r\nContent-Length:",
				tc.challenge, tc.realm, tc.nonce, tc.alg, tc.challenge, tc.realm), 1)
			pbx.send(ch, from)
			var again string
			for _, m := range pbx.collect(3 * time.Second) {
				if method(m.raw) == "INVITE" && header(m.raw, "CSeq") != header(inv, "CSeq") {
					again, from = m.raw, m.from
					break
				}
			}
			if again == "" {
				t.Fatalf("no INVITE with credentials after the %d\n%s", tc.code, g.log.String())
			}
			if got, want := header(again, "CSeq"), "2 INVITE"; got != want {
				t.Errorf("CSeq %q, want %q", got, want)
			}
			if header(again, "Call-ID") != header(inv, "Call-ID") || header(again, "From") != header(inv, "From") {
				t.Errorf("Call-ID or From changed:\n%s\n---\n%s", inv, again)
			}
			ruri := strings.Fields(again)[1]
			checkDigest(t, header(again, tc.answer), "INVITE", ruri, "gw", "s3cret", tc.realm, tc.nonce, tc.alg)
			pbx.send(response(again, 200, "OK", "uas1", contact, pbxSDP), from)
			if err := <-answered; err != nil {
				t.Fatalf("caller not answered: %v", err)
			}
			_ = s.Ack(ctx)
			go func() { _ = s.Bye(ctx) }()
			if bye, byeFrom := pbx.next(3*time.Second, "BYE"); bye != "" {
				pbx.send(response(bye, 200, "OK", "", "", ""), byeFrom)
			}
		})
	}

	t.Run("no credentials", func(t *testing.T) {
		ph := newPhone(t)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		s, err := call(ctx, ph, g.UDP, "3000", phoneSDP)
		if err != nil {
			t.Fatal(err)
		}
		answered := make(chan error, 1)
		go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()
		inv, from := pbx.next(5*time.Second, "INVITE")
		if inv == "" {
			t.Fatal("the trunk got no INVITE")
		}
		ch := response(inv, 407, "Proxy Authentication Required", "ch1", "", "")
		ch = strings.Replace(ch, "Content-Length:", "Proxy-Authenticate: Digest realm=\"pbx\", nonce=\"n\", qop=\"auth\"\r\nContent-Length:", 1)
		pbx.send(ch, from)
		if code := responseCode(<-answered); code != 403 {
			t.Fatalf("caller got %d, want 403", code)
		}
	})
}

// rawInvite is an INVITE from the raw caller c for number at gw with
// extra header lines and an SDP body.
func rawInvite(c *sipConn, gw, number, branch string, extra ...string) string {
	c.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE sip:%s@%s SIP/2.0\r\n", number, gw)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", c.conn.LocalAddr(), branch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:u1000@example.com>;tag=%s\r\nTo: <sip:%s@example.com>\r\n", c.tag, number)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d INVITE\r\nContact: <sip:u1000@%s>\r\n", c.callID, c.cseq, c.conn.LocalAddr())
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(phoneSDP), phoneSDP)
	return b.String()
}

// rawCancel is the CANCEL of an INVITE sent by rawInvite (RFC 3261 §9.1).
func rawCancel(c *sipConn, gw, number, branch string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CANCEL sip:%s@%s SIP/2.0\r\n", number, gw)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", c.conn.LocalAddr(), branch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:u1000@example.com>;tag=%s\r\nTo: <sip:%s@example.com>\r\n", c.tag, number)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d CANCEL\r\nContent-Length: 0\r\n\r\n", c.callID, c.cseq)
	return b.String()
}

// TestCancelCrossesAnswer: the trunk's 200 reaches the gateway while the
// caller's CANCEL does too (here: the 2xx waits for the PRACK of a
// reliable 183 the caller never sends, RFC 3262 §3, and the caller gives
// up). The caller gets 487; the callee, answered to nobody, gets ACK and
// a BYE with Reason: SIP;cause=487 (RFC 3326) at once, not after the
// media timeout.
func TestCancelCrossesAnswer(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, rawTrunkConfig(pbx.port(), ""))
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	branch := "z9hG4bK" + randHex(8)
	c.send(rawInvite(c, g.UDP, "2000", branch, "Require: 100rel", "Supported: 100rel"))
	for {
		r, err := c.read(3 * time.Second)
		if err != nil {
			t.Fatalf("no 407 for the caller: %v", err)
		}
		if r.Status == 407 {
			authz, err := digestAuthorization(r.Headers["proxy-authenticate"], "INVITE", "sip:2000@"+g.UDP, "u1000", "secret")
			if err != nil {
				t.Fatal(err)
			}
			c.send(strings.Replace(rawCancel(c, g.UDP, "2000", branch), "CANCEL", "ACK", 2))
			branch = "z9hG4bK" + randHex(8)
			c.send(rawInvite(c, g.UDP, "2000", branch, "Require: 100rel", "Supported: 100rel", "Proxy-Authorization: "+authz))
			break
		}
	}
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the trunk got no INVITE")
	}
	contact := fmt.Sprintf("sip:2000@127.0.0.2:%d", pbx.port())
	pbx.send(response(inv, 183, "Session Progress", "uas1", contact, pbxSDP), from)
	for {
		r, err := c.read(3 * time.Second)
		if err != nil {
			t.Fatalf("no reliable 183 for the caller: %v", err)
		}
		if r.Status == 183 && r.get("RSeq") != "" {
			break
		}
	}
	pbx.send(response(inv, 200, "OK", "uas1", contact, pbxSDP), from)
	if ack, _ := pbx.next(3*time.Second, "ACK"); ack == "" {
		t.Fatal("no ACK for the 200")
	}
	c.send(rawCancel(c, g.UDP, "2000", branch))
	got487 := false
	for !got487 {
		r, err := c.read(3 * time.Second)
		if err != nil {
			t.Fatalf("caller got no 487: %v", err)
		}
		if r.Status == 200 && strings.HasSuffix(r.get("CSeq"), "INVITE") {
			t.Fatalf("caller got a 200 after its CANCEL was answered")
		}
		got487 = r.Status == 487
	}
	bye, byeFrom := pbx.next(5*time.Second, "BYE")
	if bye == "" {
		t.Fatalf("the callee got no BYE: answered to nobody\n%s", g.log.String())
	}
	pbx.send(response(bye, 200, "OK", "", "", ""), byeFrom)
	if !hasTag(bye, "uas1") || !strings.Contains(header(bye, "Reason"), "cause=487") {
		t.Errorf("BYE not in the answered dialog or without Reason cause=487:\n%s", bye)
	}
}

// nextReq reads the next request on c whose method is one of methods;
// "" after timeout.
func nextReq(c *sipConn, timeout time.Duration, methods ...string) string {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65535)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		n, err := c.conn.Read(buf)
		if err != nil {
			return ""
		}
		msg := string(buf[:n])
		for _, m := range methods {
			if strings.HasPrefix(msg, m+" ") {
				return msg
			}
		}
	}
}

// TestCancelWaitsForProvisional: the caller hangs up while the callee's
// devices have not sent even a 100 (RFC 3261 §9.1: no CANCEL then). The
// gateway holds the CANCEL until a device sends a provisional, then
// sends it; a device that answers instead gets ACK and BYE.
func TestCancelWaitsForProvisional(t *testing.T) {
	g := startGateway(t, localUsers)
	devs := []*sipConn{dialSIP(t, "udp", "127.0.0.1", g.UDP), dialSIP(t, "udp", "127.0.0.1", g.UDP)}
	for i, d := range devs {
		if res := d.register("u1001", "secret", fmt.Sprintf("Contact: <sip:u1001@%s>", d.conn.LocalAddr())); res.Status != 200 {
			t.Fatalf("register device %d: %d", i, res.Status)
		}
	}
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "1001", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	wctx, hangUp := context.WithCancel(ctx)
	defer hangUp()
	answered := make(chan error, 1)
	go func() { answered <- s.WaitAnswer(wctx, answerOpts()) }()
	invs := make([]string, len(devs))
	for i, d := range devs {
		if invs[i] = nextReq(d, 5*time.Second, "INVITE"); invs[i] == "" {
			t.Fatalf("device %d got no INVITE", i)
		}
	}
	hangUp() // the caller's CANCEL; the devices have said nothing yet
	if err := <-answered; err == nil {
		t.Fatal("call answered, want cancelled")
	}
	for i, d := range devs {
		if c := nextReq(d, time.Second, "CANCEL"); c != "" {
			t.Fatalf("device %d got a CANCEL before any provisional (RFC 3261 §9.1):\n%s", i, c)
		}
	}
	// Device 0 rings: now its CANCEL may go, for the INVITE's branch.
	write := func(d *sipConn, msg string) {
		if _, err := d.conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	write(devs[0], response(invs[0], 180, "Ringing", "d0", "", ""))
	c := nextReq(devs[0], 3*time.Second, "CANCEL")
	if c == "" {
		t.Fatalf("no CANCEL after the device's 180\n%s", g.log.String())
	}
	if header(c, "Via") != header(invs[0], "Via") || header(c, "Call-ID") != header(invs[0], "Call-ID") {
		t.Errorf("CANCEL does not match the INVITE:\n%s\n---\n%s", invs[0], c)
	}
	write(devs[0], response(c, 200, "OK", "d0", "", ""))
	write(devs[0], response(invs[0], 487, "Request Terminated", "d0", "", ""))

	// Device 1 answers without a provisional: ACK and BYE.
	contact := fmt.Sprintf("sip:u1001@%s", devs[1].conn.LocalAddr())
	write(devs[1], response(invs[1], 200, "OK", "d1", contact, phoneAnswerSDP))
	if ack := nextReq(devs[1], 3*time.Second, "ACK"); ack == "" {
		t.Fatal("no ACK for the answer after the caller left")
	}
	bye := nextReq(devs[1], 3*time.Second, "BYE", "CANCEL")
	if method(bye) != "BYE" || !hasTag(bye, "d1") {
		t.Fatalf("want a BYE for the answer after the caller left, got:\n%s", bye)
	}
	write(devs[1], response(bye, 200, "OK", "", "", ""))
}

// TestTrunkRequestsFromListener: every request to a UDP trunk (REGISTER,
// INVITE, ACK, BYE) leaves from the gateway's SIP listener, the port
// the PBX knows and the firewall opened, not from an ephemeral port.
func TestTrunkRequestsFromListener(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, rawTrunkConfig(pbx.port(), "    register: {user: gw, password: pw}\n"))
	reg, regFrom := pbx.next(5*time.Second, "REGISTER")
	if reg == "" {
		t.Fatal("no REGISTER")
	}
	ok := response(reg, 200, "OK", "r1", "", "")
	ok = strings.Replace(ok, "Content-Length:", "Contact: "+header(reg, "Contact")+";expires=600\r\nContent-Length:", 1)
	pbx.send(ok, regFrom)
	if regFrom.String() != g.UDP {
		t.Errorf("REGISTER came from %s, want the listener %s", regFrom, g.UDP)
	}

	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the trunk got no INVITE")
	}
	if from.String() != g.UDP {
		t.Errorf("INVITE came from %s, want the listener %s", from, g.UDP)
	}
	pbx.send(response(inv, 200, "OK", "uas1", fmt.Sprintf("sip:2000@127.0.0.2:%d", pbx.port()), pbxSDP), from)
	ack, ackFrom := pbx.next(3*time.Second, "ACK")
	if ack == "" {
		t.Fatal("no ACK")
	}
	if ackFrom.String() != g.UDP {
		t.Errorf("ACK came from %s, want the listener %s", ackFrom, g.UDP)
	}
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	_ = s.Ack(ctx)
	go func() { _ = s.Bye(ctx) }()
	bye, byeFrom := pbx.next(3*time.Second, "BYE")
	if bye == "" {
		t.Fatal("no BYE")
	}
	pbx.send(response(bye, 200, "OK", "", "", ""), byeFrom)
	if byeFrom.String() != g.UDP {
		t.Errorf("BYE came from %s, want the listener %s", byeFrom, g.UDP)
	}
}
