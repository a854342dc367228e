package e2e

// Attacks on established calls and on the B2BUA's transfer, Replaces and
// stray-response handling (issue 10, "Calls may only go where policy
// allows"). The attacker sends from 127.0.0.9; the phone is on 127.0.0.1
// and the PBX on 127.0.0.2.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// rawInDialog is an in-dialog request as an attacker writes it: the
// dialog's Call-ID and tags as the attacker believes them, sent from
// conn.
func rawInDialog(c *sipConn, method, ruri, callID, fromTag, toTag string, cseq int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", c.conn.LocalAddr(), randHex(8))
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:u1000@example.com>;tag=%s\r\nTo: <sip:2000@example.com>", fromTag)
	if toTag != "" {
		b.WriteString(";tag=" + toTag)
	}
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", callID, cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:evil@%s>\r\n", c.conn.LocalAddr())
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// finalAnswer sends msg on c and returns its final response, skipping
// provisionals and retransmitted answers to earlier requests (matched by
// CSeq).
func finalAnswer(t *testing.T, c *sipConn, msg string) *sipResponse {
	t.Helper()
	cseq := header(msg, "CSeq")
	c.send(msg)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := c.read(time.Until(deadline))
		if err != nil {
			t.Fatalf("no final answer to %s: %v", firstLine(msg), err)
		}
		if res.Status >= 200 && res.get("CSeq") == cseq {
			return res
		}
	}
}

// TestForgedInDialog: a stranger on 127.0.0.9 who knows a live call's
// Call-ID and tags (leaked, or the To tag fished out of a 407 by sending
// an INVITE with the call's Call-ID and From tag) sends BYE and
// re-INVITE on either leg. Each gets 481 (RFC 3261 §12.2.2), is counted
// in switchboard_sip_foreign_in_dialog_total, and the call stays up:
// the phone's own INFO still reaches the PBX, nobody got a BYE or a
// re-INVITE.
func TestForgedInDialog(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	fc := pbx.get("2000")

	callID := s.InviteRequest.CallID().Value()
	fromTag, _ := s.InviteRequest.From().Params.Get("tag")
	toTag, _ := s.InviteResponse.To().Params.Get("tag")
	evil := dialSIP(t, "udp", "127.0.0.9", g.UDP)
	ruri := "sip:2000@" + g.UDP

	// The 407 to an INVITE with the call's Call-ID and From tag must not
	// reveal the dialog's tag.
	res := finalAnswer(t, evil, rawInDialog(evil, "INVITE", ruri, callID, fromTag, "", 1))
	t.Logf("fishing INVITE: %d %s, To %s", res.Status, res.Reason, res.get("To"))
	fished := ""
	if i := strings.Index(res.get("To"), "tag="); i >= 0 {
		fished = res.get("To")[i+4:]
	}
	if fished == toTag {
		t.Errorf("the %d to a stranger's INVITE carries the live dialog's tag %s", res.Status, toTag)
	}

	attacks := []struct{ name, msg string }{
		{"BYE with the fished tag", rawInDialog(evil, "BYE", ruri, callID, fromTag, fished, 100)},
		{"BYE with the leaked tags", rawInDialog(evil, "BYE", ruri, callID, fromTag, toTag, 101)},
		{"re-INVITE with the leaked tags", rawInDialog(evil, "INVITE", ruri, callID, fromTag, toTag, 102)},
	}
	// The B leg as the PBX sees it: the gateway's From tag, the PBX's To tag.
	bCallID := fc.dlg.InviteRequest.CallID().Value()
	bOurTag, _ := fc.dlg.InviteRequest.From().Params.Get("tag")
	bPBXTag, _ := fc.dlg.InviteResponse.To().Params.Get("tag")
	attacks = append(attacks,
		struct{ name, msg string }{"BYE as the PBX", rawInDialog(evil, "BYE", ruri, bCallID, bPBXTag, bOurTag, 100)},
		struct{ name, msg string }{"re-INVITE as the PBX", rawInDialog(evil, "INVITE", ruri, bCallID, bPBXTag, bOurTag, 101)},
	)
	for _, a := range attacks {
		if res := finalAnswer(t, evil, a.msg); res.Status != 481 {
			t.Errorf("%s: %d %s, want 481", a.name, res.Status, res.Reason)
		}
	}
	// All but the first (its tag names no dialog) named a live dialog.
	if got := g.metric("switchboard_sip_foreign_in_dialog_total"); got != float64(len(attacks)-1) {
		t.Errorf("foreign in-dialog requests counted %v, want %d", got, len(attacks)-1)
	}

	// The call is intact: nobody got a BYE or a re-INVITE, and the
	// phone's INFO reaches the PBX.
	select {
	case u := <-pbx.byes:
		t.Fatalf("the PBX got a BYE for %s", u)
	case id := <-ph.byes:
		t.Fatalf("the phone got a BYE for %s", id)
	case r := <-ph.reinvites:
		t.Fatalf("the phone got a re-INVITE:\n%s", r)
	default:
	}
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf", "5"); res.StatusCode != 200 {
		t.Fatalf("the phone's INFO after the attacks: %d, want 200 (call intact)", res.StatusCode)
	}
	if got := pbx.next(sip.INFO); string(got.Body()) != "5" {
		t.Errorf("PBX INFO body %q", got.Body())
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pbx.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("the phone's own BYE did not reach the PBX")
	}
}

// forged200 is a 200 OK to an INVITE of callID whose Contact and
// Record-Route name victim.
func forged200(via, callID, victim string) string {
	return fmt.Sprintf("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:u1000@example.com>;tag=%s\r\nTo: <sip:2000@example.com>;tag=%s\r\n"+
		"Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:victim@%s>\r\nRecord-Route: <sip:%s;lr>\r\n"+
		"Content-Length: 0\r\n\r\n", via, randHex(8), randHex(6), randHex(6), callID, victim, victim)
}

// TestForged2xxNamesThirdParty: a 200 OK that answers no INVITE of ours,
// sent from 127.0.0.9 with a Contact and Record-Route naming a victim on
// 127.0.0.10, makes the gateway send nothing to the victim (nor back).
// A late 200 for an INVITE the gateway did make (its Call-ID), whose
// Contact names the victim, is ACKed and BYEd towards where it came
// from, never towards the victim.
func TestForged2xxNamesThirdParty(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	victim := newRawPBX(t, "127.0.0.10")
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", failover_timeout: 300ms, timeout: 2s, probe: {interval: 0s}, match: ["2000"]}
`, pbx.port()))
	victimAddr := victim.conn.LocalAddr().String()

	// A stranger's 200 for a Call-ID the gateway never made.
	evil := dialSIP(t, "udp", "127.0.0.9", g.UDP)
	for i := 0; i < 3; i++ {
		evil.send(forged200(evil.conn.LocalAddr().String(), randHex(10)+"@evil", victimAddr))
	}
	if msg, _ := victim.next(time.Second, "ACK", "BYE", "INVITE"); msg != "" {
		t.Errorf("a forged 200 made the gateway send to the host it named:\n%s", msg)
	}
	if res, err := evil.read(200 * time.Millisecond); err == nil {
		t.Errorf("the forger got %d back", res.Status)
	}

	// A late 200 for an INVITE the gateway gave up on, naming the victim.
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan int, 1)
	go func() { answered <- responseCode(s.WaitAnswer(ctx, answerOpts())) }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the trunk got no INVITE")
	}
	if code := <-answered; code != 503 {
		t.Fatalf("caller got %d, want 503 once the trunk timed out", code)
	}
	ok200 := response(inv, 200, "OK", "late1", "sip:victim@"+victimAddr, pbxSDP)
	ok200 = strings.Replace(ok200, "Content-Type:", "Record-Route: <sip:"+victimAddr+";lr>\r\nContent-Type:", 1)
	pbx.send(ok200, from)
	if ack, _ := pbx.next(3*time.Second, "ACK"); ack == "" {
		t.Error("no ACK for the late 200 at its source")
	}
	bye, byeFrom := pbx.next(3*time.Second, "BYE")
	if bye == "" {
		t.Error("no BYE for the late 200 at its source")
	} else {
		pbx.send(response(bye, 200, "OK", "", "", ""), byeFrom)
	}
	if msg, _ := victim.next(500*time.Millisecond, "ACK", "BYE", "INVITE"); msg != "" {
		t.Errorf("a late 200 made the gateway send to the host its Contact named:\n%s", msg)
	}
	if got := g.metric("switchboard_sip_stray_2xx_foreign_total"); got != 3 {
		t.Errorf("foreign stray 2xx counted %v, want 3", got)
	}
}

// awaitFinal reads c until the final response whose CSeq is cseq,
// skipping provisionals, other responses and requests (NOTIFY).
func awaitFinal(t *testing.T, c *sipConn, cseq string) *sipResponse {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		res, err := c.read(time.Until(deadline))
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				break
			}
			continue // a request, not a response
		}
		if res.Status >= 200 && res.get("CSeq") == cseq {
			return res
		}
	}
	t.Fatalf("no final response for %s", cseq)
	return nil
}

// callIn places a call from c to number without credentials (c is on a
// trunk's address or in security.trusted_callers), ACKs the 2xx and returns the
// To tag: the caller side of an answered call, as raw SIP.
func callIn(t *testing.T, c *sipConn, gw, number string) string {
	t.Helper()
	local := c.conn.LocalAddr().String()
	body := mediaBody(strings.Split(local, ":")[0], 40000, "", 0)
	inv := fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:5551234@%s>;tag=%s\r\nTo: <sip:%s@example.com>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:5551234@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		number, gw, local, randHex(8), strings.Split(local, ":")[0], c.tag, number, c.callID, local, len(body), body)
	c.send(inv)
	res := awaitFinal(t, c, "1 INVITE")
	if res.Status != 200 {
		t.Fatalf("call in to %s: %d %s", number, res.Status, res.Reason)
	}
	to := res.get("To")
	tag := to[strings.Index(to, "tag=")+4:]
	c.send(fmt.Sprintf("ACK sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:5551234@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
		number, gw, local, randHex(8), strings.Split(local, ":")[0], c.tag, to, c.callID))
	return tag
}

// referIn sends REFER on the call callIn placed and returns its final
// response.
func referIn(t *testing.T, c *sipConn, gw, number, toTag, target string, cseq int, extra ...string) *sipResponse {
	t.Helper()
	hs := ""
	for _, e := range extra {
		hs += e + "\r\n"
	}
	local := c.conn.LocalAddr().String()
	c.send(fmt.Sprintf("REFER sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:5551234@%s>;tag=%s\r\nTo: <sip:%s@example.com>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d REFER\r\n"+
		"Contact: <sip:5551234@%s>\r\nRefer-To: <%s>\r\n%sContent-Length: 0\r\n\r\n",
		number, gw, local, randHex(8), strings.Split(local, ":")[0], c.tag, number, toTag, c.callID, cseq, local, target, hs))
	return awaitFinal(t, c, fmt.Sprintf("%d REFER", cseq))
}

// TestReferFromTrunkRefused: a caller who came in over the trunk (no
// credentials) and reached a user sends REFER Refer-To: sip:0900... The
// gateway must not dial it: 403 to the REFER, no INVITE reaches the
// trunk's PBX (a raw UDP peer at the trunk's target), the call goes on.
// The same from a security.trusted_callers host that is no trunk (127.0.0.9).
// A REFER to a local user is what such a caller could dial itself: it is
// carried out.
func TestReferFromTrunkRefused(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.9/32], exempt_sources: [127.0.0.9/32]}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", probe: {interval: 0s}, match: ["0x", "8000"]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
  - {username: u1002, password: secret, extension: "1002"}
`, pbx.port()))
	dev := newRawPhone(t, g, "u1001", phoneMode{answer: 50 * time.Millisecond})
	dev2 := newRawPhone(t, g, "u1002", phoneMode{answer: 50 * time.Millisecond})

	for _, src := range []string{"127.0.0.2", "127.0.0.9"} {
		c := dialSIP(t, "udp", src, g.UDP)
		tag := callIn(t, c, g.UDP, "1001")
		// Refer-Sub: false (RFC 4488): no NOTIFY to wait for, the call
		// would go out at once.
		if res := referIn(t, c, g.UDP, "1001", tag, "sip:09001234567@example.com", 2, "Refer-Sub: false"); res.Status != 403 {
			t.Errorf("REFER to 0900 from %s: %d %s, want 403", src, res.Status, res.Reason)
		}
		if inv, _ := pbx.next(time.Second, "INVITE"); inv != "" {
			t.Errorf("REFER from %s made the gateway dial out on the trunk:\n%s", src, inv)
		}
		if dev.has(isMethod("BYE")) {
			t.Fatalf("the user's call from %s ended", src)
		}
		// The call is intact: the caller's OPTIONS in the dialog gets 200.
		c.send(fmt.Sprintf("OPTIONS sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:5551234@%s>;tag=%s\r\nTo: <sip:1001@example.com>;tag=%s\r\nCall-ID: %s\r\nCSeq: 3 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			g.UDP, c.conn.LocalAddr(), randHex(8), src, c.tag, tag, c.callID))
		if res := awaitFinal(t, c, "3 OPTIONS"); res.Status != 200 {
			t.Errorf("in-dialog OPTIONS after the refused REFER: %d, want 200 (call intact)", res.Status)
		}
	}

	// To a local user: allowed, as a call in to 1002 would be.
	c := dialSIP(t, "udp", "127.0.0.2", g.UDP)
	tag := callIn(t, c, g.UDP, "1001")
	if res := referIn(t, c, g.UDP, "1001", tag, "sip:1002@example.com", 2); res.Status != 202 {
		t.Fatalf("REFER to local user 1002 from the trunk: %d %s, want 202", res.Status, res.Reason)
	}
	// The transferor hears of the outcome in NOTIFYs (RFC 3515 §2.4.4),
	// then gets a BYE.
	buf := make([]byte, 65535)
	for bye := false; !bye; {
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.conn.Read(buf)
		if err != nil {
			t.Fatalf("no NOTIFY and BYE for the transfer to 1002: %v", err)
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, "NOTIFY ") || strings.HasPrefix(msg, "BYE ") {
			c.send(response(msg, 200, "OK", "", "", ""))
			bye = strings.HasPrefix(msg, "BYE ")
		}
	}
	dev2.wait(5*time.Second, "INVITE", isMethod("INVITE"))
	g.waitLog(`msg="call transferred"`, 5*time.Second)
}

// TestReplacesFromOutsider: an INVITE with Replaces naming u1000's call
// to the PBX, from 127.0.0.9: without credentials it gets 407; with the
// credentials of another user (u1001), who is no party of that call, 403
// (RFC 3891 §7). Either way the call is intact: the PBX is not
// re-INVITEd, the phone gets no BYE, and the phone's INFO still passes.
func TestReplacesFromOutsider(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, localUsers+strings.TrimPrefix(dialogConfig(pbx.agent.addr), "registrar: {algorithms: [MD5, SHA-256]}\n"))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	pbx.get("2000")
	fromTag, _ := s.InviteRequest.From().Params.Get("tag")
	toTag, _ := s.InviteResponse.To().Params.Get("tag")
	replaces := fmt.Sprintf("Replaces: %s;to-tag=%s;from-tag=%s", s.InviteRequest.CallID().Value(), toTag, fromTag)

	evil := dialSIP(t, "udp", "127.0.0.9", g.UDP)
	ruri := "sip:2000@example.com"
	body := mediaBody("127.0.0.9", 41000, "", 0)
	invite := func(extra ...string) string {
		hs := append([]string{evil.contact("u1001"), replaces, "Content-Type: application/sdp"}, extra...)
		msg := evil.request("INVITE", ruri, "u1001", hs...)
		msg = strings.Replace(msg, "Content-Length: 0\r\n\r\n", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body), 1)
		return strings.Replace(msg, "To: <sip:u1001@example.com>", "To: <sip:2000@example.com>", 1)
	}
	res := finalAnswer(t, evil, invite())
	if res.Status != 407 {
		t.Fatalf("INVITE with Replaces without credentials: %d %s, want 407", res.Status, res.Reason)
	}
	auth, err := digestAuthorization(res.Headers["proxy-authenticate"], "INVITE", ruri, "u1001", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if res := finalAnswer(t, evil, invite("Proxy-Authorization: "+auth)); res.Status != 403 {
		t.Errorf("INVITE with Replaces from u1001, no party of the call: %d %s, want 403", res.Status, res.Reason)
	}

	select {
	case id := <-ph.byes:
		t.Fatalf("the phone's call was replaced: BYE for %s", id)
	case <-time.After(300 * time.Millisecond):
	}
	pbx.mu.Lock()
	n := len(pbx.reqs)
	pbx.mu.Unlock()
	if n != 0 {
		t.Errorf("the PBX got %d in-dialog requests (%s), want none", n, (<-pbx.reqs).Method)
	}
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf", "7"); res.StatusCode != 200 {
		t.Fatalf("the phone's INFO after the attack: %d, want 200 (call intact)", res.StatusCode)
	}
	_ = s.Bye(ctx)
}

// callAs places an authenticated call from c as user to number (407,
// then the INVITE with credentials), ACKs the 2xx and returns the To tag.
func callAs(t *testing.T, c *sipConn, gw, user, number string) string {
	t.Helper()
	local := c.conn.LocalAddr().String()
	host := strings.Split(local, ":")[0]
	ruri := "sip:" + number + "@example.com"
	body := mediaBody(host, 42000, "", 0)
	inv := func(cseq int, extra string) string {
		return fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:%s@example.com>;tag=%s\r\nTo: <sip:%s@example.com>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"+
			"Contact: <sip:%s@%s>\r\n%sContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			ruri, local, randHex(8), user, c.tag, number, c.callID, cseq, user, local, extra, len(body), body)
	}
	c.send(inv(1, ""))
	res := awaitFinal(t, c, "1 INVITE")
	if res.Status != 407 {
		t.Fatalf("INVITE as %s: %d, want 407", user, res.Status)
	}
	auth, err := digestAuthorization(res.Headers["proxy-authenticate"], "INVITE", ruri, user, "secret")
	if err != nil {
		t.Fatal(err)
	}
	c.send(inv(2, "Proxy-Authorization: "+auth+"\r\n"))
	if res = awaitFinal(t, c, "2 INVITE"); res.Status != 200 {
		t.Fatalf("INVITE as %s with credentials: %d %s", user, res.Status, res.Reason)
	}
	to := res.get("To")
	c.send(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%s@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n",
		ruri, local, randHex(8), user, c.tag, to, c.callID))
	return to[strings.Index(to, "tag=")+4:]
}

// TestAttendedTransferOfForeignCall: u1001, calling from 127.0.0.9, sends
// on its own call a REFER whose Refer-To carries Replaces naming u1000's
// call to the PBX (an attended transfer that would join u1001's party to
// u1000's, RFC 5589 §7). u1001 is no party of that call: 403, u1000's
// call is untouched (no BYE, the PBX leg not re-INVITEd).
func TestAttendedTransferOfForeignCall(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, localUsers+strings.TrimPrefix(dialogConfig(pbx.agent.addr), "registrar: {algorithms: [MD5, SHA-256]}\n"))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	pbx.get("2000")
	fromTag, _ := s.InviteRequest.From().Params.Get("tag")
	toTag, _ := s.InviteResponse.To().Params.Get("tag")
	victim := s.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag

	evil := dialSIP(t, "udp", "127.0.0.9", g.UDP)
	tag := callAs(t, evil, g.UDP, "u1001", "2001")
	pbx.get("2001")
	local := evil.conn.LocalAddr().String()
	evil.send(fmt.Sprintf("REFER sip:2001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:u1001@example.com>;tag=%s\r\nTo: <sip:2001@example.com>;tag=%s\r\nCall-ID: %s\r\nCSeq: 3 REFER\r\n"+
		"Contact: <sip:u1001@%s>\r\nRefer-To: <sip:2000@example.com?Replaces=%s>\r\nRefer-Sub: false\r\nContent-Length: 0\r\n\r\n",
		g.UDP, local, randHex(8), evil.tag, tag, evil.callID, local, url.QueryEscape(victim)))
	if res := awaitFinal(t, evil, "3 REFER"); res.Status != 403 {
		t.Errorf("REFER with Replaces for u1000's call from u1001: %d %s, want 403", res.Status, res.Reason)
	}
	select {
	case id := <-ph.byes:
		t.Fatalf("u1000's call was taken over: BYE for %s", id)
	case <-time.After(500 * time.Millisecond):
	}
	for len(pbx.reqs) > 0 {
		if r := <-pbx.reqs; r.Method == sip.INVITE && r.CallID().Value() == pbx.get("2000").dlg.InviteRequest.CallID().Value() {
			t.Errorf("the PBX's 2000 leg was re-INVITEd towards u1001's party")
		}
	}
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf", "3"); res.StatusCode != 200 {
		t.Fatalf("u1000's INFO after the attack: %d, want 200 (call intact)", res.StatusCode)
	}
	_ = s.Bye(ctx)
}
