package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Class of service, call caps and ringing caps (issue 10): attacks on the
// running gateway by an authenticated user dialling where its class does
// not allow, a user over its concurrent-call cap, and a source flooding
// INVITEs that ring.

// cosConfig routes every 0... number (CH numbering) and 2000 to a trunk
// at the raw PBX pbxPort on 127.0.0.2.
func cosConfig(pbxPort int, extra string) string {
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
numbering: {region: CH}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", failover_timeout: 1s, timeout: 3s, probe: {interval: 0s}, match: ["0x", "2000"]}
%s`, pbxPort, extra)
}

// dialStatus calls number from u1000 through the gateway and returns the
// final status and reason phrase (200 "" when answered).
func dialStatus(t *testing.T, g *gateway, number string, timeout time.Duration) (int, string) {
	t.Helper()
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, number, phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		var e *sipgo.ErrDialogResponse
		if errors.As(err, &e) {
			ra := ""
			if h := e.Res.GetHeader("Retry-After"); h != nil {
				ra = h.Value()
			}
			return e.Res.StatusCode, e.Res.Reason + "|" + ra
		}
		return 0, err.Error()
	}
	_ = s.Ack(ctx)
	_ = s.Bye(ctx)
	return 200, ""
}

// TestCoSDefaultClassRefusesInternationalAndPremium: an authenticated
// user of the default class dials an international number, a premium
// number and a number on the deny-list: each gets 403 with the rule in
// the reason phrase, and none of them reaches the trunk. A national
// number still does.
func TestCoSDefaultClassRefusesInternationalAndPremium(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, cosConfig(pbx.port(), ""))
	for _, tt := range []struct{ number, reason string }{
		{"0044207946000", "international"},
		{"0900123456", "premium"},
		{"0097912345678", "denied"},
	} {
		code, reason := dialStatus(t, g, tt.number, 10*time.Second)
		if code != 403 || !strings.Contains(reason, tt.reason) {
			t.Errorf("u1000 dials %s: %d %q, want 403 naming %q", tt.number, code, reason, tt.reason)
		}
	}
	// The national call is the first INVITE the trunk sees.
	done := make(chan int, 1)
	go func() { c, _ := dialStatus(t, g, "0441234567", 10*time.Second); done <- c }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the national call never reached the trunk")
	}
	if first := firstLine(inv); !strings.Contains(first, "0441234567") {
		t.Errorf("the trunk got %q: a refused number reached it\n%s", first, tail(g.log.String(), 2000))
	}
	pbx.send(response(inv, 486, "Busy Here", "pbx1", "", ""), from)
	if c := <-done; c != 486 {
		t.Errorf("national call: %d, want the trunk's 486", c)
	}
	if again, _ := pbx.next(500*time.Millisecond, "INVITE"); again != "" && !strings.Contains(firstLine(again), "0441234567") {
		t.Errorf("a refused number reached the trunk: %s", firstLine(again))
	}
	_, metrics := g.api("GET", "/metrics")
	for _, want := range []string{`switchboard_calls_refused_total{reason="category"} 2`, `switchboard_calls_refused_total{reason="denied"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestCoSConcurrentCallCap: u1000's class allows two calls at once. Two
// calls ring at the trunk; the third is refused 503 with Retry-After and
// never reaches the trunk.
func TestCoSConcurrentCallCap(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, cosConfig(pbx.port(), `users:
  - {username: u1000, password: secret, class: two}
call_policy:
  classes:
    - {name: two, allow: [internal, private, national], max_calls: 2}
`))
	type ringing struct {
		inv  string
		from net.Addr
	}
	results := make(chan int, 2)
	var held []ringing
	for i := 0; i < 2; i++ {
		go func() { c, _ := dialStatus(t, g, "0441234567", 20*time.Second); results <- c }()
		inv, from := pbx.next(5*time.Second, "INVITE")
		if inv == "" {
			t.Fatalf("call %d never reached the trunk", i+1)
		}
		pbx.send(response(inv, 180, "Ringing", fmt.Sprintf("r%d", i), "", ""), from)
		held = append(held, ringing{inv, from})
	}
	code, reason := dialStatus(t, g, "0441234567", 10*time.Second)
	if code != 503 || !strings.Contains(reason, "too many calls") || strings.HasSuffix(reason, "|") {
		t.Errorf("third call: %d %q, want 503 too many calls with Retry-After", code, reason)
	}
	if inv, _ := pbx.next(300*time.Millisecond, "INVITE"); inv != "" && header(inv, "Call-ID") != header(held[0].inv, "Call-ID") &&
		header(inv, "Call-ID") != header(held[1].inv, "Call-ID") {
		t.Errorf("the third call reached the trunk:\n%s", inv)
	}
	for i, r := range held {
		pbx.send(response(r.inv, 486, "Busy Here", fmt.Sprintf("r%d", i), "", ""), r.from)
	}
	for range held {
		if c := <-results; c != 486 {
			t.Errorf("ringing call ended with %d, want 486", c)
		}
	}
	// The slots are back: a new call reaches the trunk again.
	go func() { c, _ := dialStatus(t, g, "0441234567", 10*time.Second); results <- c }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	for inv != "" && (header(inv, "Call-ID") == header(held[0].inv, "Call-ID") || header(inv, "Call-ID") == header(held[1].inv, "Call-ID")) {
		inv, from = pbx.next(5*time.Second, "INVITE")
	}
	if inv == "" {
		t.Fatal("no call reaches the trunk after the two ended")
	}
	pbx.send(response(inv, 486, "Busy Here", "r9", "", ""), from)
	<-results
}

// floodInvite is an INVITE with SDP from conn for number, with its own
// Call-ID and branch, so that a CANCEL can follow.
type floodInvite struct {
	callID, branch, tag string
}

func (f floodInvite) build(conn net.Conn, method, number string) string {
	body := ""
	if method == "INVITE" {
		body = phoneSDP
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@example.com SIP/2.0\r\n", method, number)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", conn.LocalAddr(), f.branch)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:+41791234567@carrier.example>;tag=%s\r\n", f.tag)
	fmt.Fprintf(&b, "To: <sip:%s@example.com>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n", number, f.callID, method)
	fmt.Fprintf(&b, "Contact: <sip:caller@%s>\r\n", conn.LocalAddr())
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// floodOutcome sends n INVITEs for number from c and returns, per
// Call-ID, the first response that is 180 or final.
func floodOutcome(t *testing.T, c *sipConn, number string, n int) ([]floodInvite, map[string]*sipResponse) {
	t.Helper()
	var invs []floodInvite
	for i := 0; i < n; i++ {
		f := floodInvite{callID: randHex(8), branch: "z9hG4bK" + randHex(8), tag: randHex(4)}
		invs = append(invs, f)
		c.send(f.build(c.conn, "INVITE", number))
	}
	got := map[string]*sipResponse{}
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		res, err := c.read(time.Until(deadline))
		if err != nil {
			break
		}
		if res.Status == 180 || res.Status >= 200 {
			if id := res.get("Call-ID"); got[id] == nil {
				got[id] = res
			}
		}
	}
	return invs, got
}

// TestRingingCapPerSource: a host the gateway lets call local users
// without credentials (security.trusted_callers) floods INVITEs to a phone that
// rings and never answers. Past max_ringing_per_source its INVITEs get
// 503 with Retry-After instead of relay ports; another source still gets
// through.
func TestRingingCapPerSource(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
call_policy: {max_ringing_per_source: 3}
users:
  - {username: u1001, password: secret, extension: "1001"}
`)
	newRawPhone(t, g, "u1001", phoneMode{}) // rings forever
	attacker := dialSIP(t, "udp", "127.0.0.9", g.UDP)
	const n = 8
	invs, got := floodOutcome(t, attacker, "1001", n)
	rang, refused := 0, 0
	for _, f := range invs {
		switch res := got[f.callID]; {
		case res == nil:
			t.Errorf("INVITE %s: no 180 or final response", f.callID)
		case res.Status == 180:
			rang++
		case res.Status == 503 && res.get("Retry-After") != "":
			refused++
		default:
			t.Errorf("INVITE %s: %d %s", f.callID, res.Status, res.Reason)
		}
	}
	if rang != 3 || refused != n-3 {
		t.Errorf("flood of %d INVITEs from one source: %d rang, %d refused 503 with Retry-After; want 3 and %d", n, rang, refused, n-3)
	}
	other := dialSIP(t, "udp", "127.0.0.7", g.UDP)
	oinvs, ogot := floodOutcome(t, other, "1001", 1)
	if res := ogot[oinvs[0].callID]; res == nil || res.Status != 180 {
		t.Errorf("another source during the flood: %+v, want 180", res)
	}
	// Hang up what rings, so the gateway stops at once.
	for _, call := range []struct {
		c   *sipConn
		inv []floodInvite
		got map[string]*sipResponse
	}{{attacker, invs, got}, {other, oinvs, ogot}} {
		for _, f := range call.inv {
			if res := call.got[f.callID]; res != nil && res.Status == 180 {
				call.c.send(f.build(call.c.conn, "CANCEL", "1001"))
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
}

// TestCoSDiversionCountsAgainstDivertingUser: u1001 (default class, no
// device registered) diverts its calls to an international number. A
// call to u1001 from u1000 is not a way past u1001's class: the
// diversion is refused 403 and never reaches the trunk, while u1002's
// diversion to a national number does.
func TestCoSDiversionCountsAgainstDivertingUser(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, cosConfig(pbx.port(), `users:
  - {username: u1000, password: secret, extension: "1000", class: unrestricted}
  - {username: u1001, password: secret, extension: "1001", divert: {busy: "0044207946000"}}
  - {username: u1002, password: secret, extension: "1002", divert: {busy: "0441234567"}}
`))
	code, reason := dialStatus(t, g, "1001", 10*time.Second)
	if code != 403 || !strings.Contains(reason, "international") {
		t.Errorf("call to u1001 diverted abroad: %d %q, want 403 (u1001's class)", code, reason)
	}
	done := make(chan int, 1)
	go func() { c, _ := dialStatus(t, g, "1002", 10*time.Second); done <- c }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("u1002's national diversion never reached the trunk")
	}
	if first := firstLine(inv); !strings.Contains(first, "0441234567") {
		t.Errorf("the trunk got %q: u1001's international diversion reached it", first)
	}
	pbx.send(response(inv, 486, "Busy Here", "pbx1", "", ""), from)
	if c := <-done; c != 486 {
		t.Errorf("diverted call: %d, want the trunk's 486", c)
	}
}

// TestCoSTransferUsesTransferorClass: u1000 (default class) talks to
// 2000 and REFERs it to a premium number. The transfer is a call by the
// transferor: refused by u1000's class, reported 403 in the NOTIFY
// (RFC 3515 §2.4.5), and the premium number is never called.
func TestCoSTransferUsesTransferorClass(t *testing.T) {
	pbx := newFarEnd(t, nil)
	_, port, _ := net.SplitHostPort(pbx.agent.addr)
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
numbering: {region: CH}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%s", probe: {interval: 0s}, match: ["200x", "0x"]}
`, port))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	pbx.get("2000")
	res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:0900123456@example.com>"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	cid := s.InviteRequest.CallID().Value()
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	ph.expectNotify(cid, "SIP/2.0 403 Forbidden (premium calls not allowed)")
	pbx.mu.Lock()
	called := pbx.byTo["0900123456"] != nil
	pbx.mu.Unlock()
	if called {
		t.Error("the premium transfer target was called")
	}
	_ = s.Bye(ctx)
}

// TestRingingCapPerTrunk: INVITEs from a trunk's address (the PBX, or
// anyone spoofing it over UDP) to a phone that never answers: past the
// trunk's limits.max_ringing they get 503 with Retry-After, so they
// cannot take every relay port.
func TestRingingCapPerTrunk(t *testing.T) {
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", probe: {interval: 0s}, match: ["2000"], limits: {max_ringing: 2}}
users:
  - {username: u1001, password: secret, extension: "1001"}
`, freeUDPPort(t, "127.0.0.2")))
	newRawPhone(t, g, "u1001", phoneMode{}) // rings forever
	pbx := dialSIP(t, "udp", "127.0.0.2", g.UDP)
	const n = 5
	invs, got := floodOutcome(t, pbx, "1001", n)
	rang, refused := 0, 0
	for _, f := range invs {
		switch res := got[f.callID]; {
		case res == nil:
			t.Errorf("INVITE %s: no 180 or final response", f.callID)
		case res.Status == 180:
			rang++
			pbx.send(f.build(pbx.conn, "CANCEL", "1001"))
		case res.Status == 503 && res.get("Retry-After") != "":
			refused++
		default:
			t.Errorf("INVITE %s: %d %s", f.callID, res.Status, res.Reason)
		}
	}
	if rang != 2 || refused != n-2 {
		t.Errorf("%d INVITEs from the trunk: %d rang, %d refused 503 with Retry-After; want 2 and %d", n, rang, refused, n-2)
	}
	time.Sleep(300 * time.Millisecond)
}
