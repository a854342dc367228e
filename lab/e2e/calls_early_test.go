package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Early dialogs with raw UDP peers on both sides: reliable provisionals
// (RFC 3262) and UPDATE before the answer (RFC 3311).

// rawEnd is a raw SIP endpoint on a UDP socket connected to the gateway:
// it reads every message into msgs and answers what the test tells it to.
type rawEnd struct {
	t    *testing.T
	c    *sipConn
	tag  string
	msgs chan *sipMsg
}

// pbxCallsPhone starts a gateway with a trunk to a PBX on 127.0.0.2 and
// registers u1001 from a raw UDP device on 127.0.0.1: the caller is the
// PBX's raw end, the callee the device's. The gateway's log is shown when
// the test fails.
func pbxCallsPhone(t *testing.T) (g *gateway, caller, callee *rawEnd) {
	t.Helper()
	pbxPort := freeUDPPort(t, "127.0.0.2")
	g = startGateway(t, inboundConfig(pbxPort, ""))
	dev := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := dev.register("u1001", "secret"); res.Status != 200 {
		t.Fatalf("register: %d %s", res.Status, res.Reason)
	}
	callee = newRawEnd(t, dev)
	caller = newRawEnd(t, dialSIP(t, "udp", "127.0.0.2", g.UDP))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", g.log.String())
		}
	})
	return g, caller, callee
}

func newRawEnd(t *testing.T, c *sipConn) *rawEnd {
	e := &rawEnd{t: t, c: c, tag: randHex(4), msgs: make(chan *sipMsg, 256)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for ctx.Err() == nil {
			_ = c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := c.conn.Read(buf)
			if err != nil || strings.Trim(string(buf[:n]), "\r\n") == "" {
				continue
			}
			select {
			case e.msgs <- parseSIP(string(buf[:n])):
			default:
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// next returns the first message ok accepts within timeout; the others
// (retransmissions, 100 Trying) are passed over.
func (e *rawEnd) next(what string, timeout time.Duration, ok func(*sipMsg) bool) *sipMsg {
	e.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-e.msgs:
			if ok(m) {
				return m
			}
			e.t.Logf("%s: passed over %s", what, firstLine(m.Raw))
		case <-deadline:
			e.t.Fatalf("%s: nothing within %v", what, timeout)
			return nil
		}
	}
}

func isStatus(code int, method string) func(*sipMsg) bool {
	return func(m *sipMsg) bool { return m.Status == code && strings.HasSuffix(m.get("CSeq"), " "+method) }
}

func (e *rawEnd) local() string { return e.c.conn.LocalAddr().String() }

// respond answers req (RFC 3261 §8.2.6.2): its Via, From, To with our tag,
// Call-ID and CSeq, our Contact, extra header lines and an SDP body.
func (e *rawEnd) respond(req *sipMsg, code int, reason, body string, extra ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.all("Via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	to := req.get("To")
	if !strings.Contains(to, "tag=") {
		to += ";tag=" + e.tag
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", req.get("From"), to, req.get("Call-ID"), req.get("CSeq"))
	fmt.Fprintf(&b, "Contact: <sip:end@%s>\r\n", e.local())
	e.send(&b, body, extra)
}

// request sends an in-dialog request: from and to are whole header
// values with their tags.
func (e *rawEnd) request(method, ruri, from, to, callID string, cseq int, body string, extra ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n", method, ruri, e.local(), randHex(8))
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", from, to, callID, cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:end@%s>\r\n", e.local())
	e.send(&b, body, extra)
}

func (e *rawEnd) send(b *strings.Builder, body string, extra []string) {
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	e.c.send(b.String())
}

// reliable sends a reliable provisional with rseq, retransmitted until its
// PRACK, which is answered 200.
func (e *rawEnd) reliable(inv *sipMsg, code int, reason, body string, rseq int) {
	e.t.Helper()
	rack := fmt.Sprintf("%d %s", rseq, inv.get("CSeq"))
	for i := 0; i < 10; i++ {
		e.respond(inv, code, reason, body, "Require: 100rel", "RSeq: "+strconv.Itoa(rseq))
		wait := time.After(500 * time.Millisecond)
		for {
			select {
			case m := <-e.msgs:
				if m.Method == "PRACK" && m.get("RAck") == rack {
					e.respond(m, 200, "OK", "")
					return
				}
				e.t.Logf("waiting for PRACK %s: passed over %s", rack, firstLine(m.Raw))
				continue
			case <-wait:
			}
			break
		}
	}
	e.t.Fatalf("no PRACK with RAck %s", rack)
}

// contactURI is the URI of a message's Contact header.
func contactURI(t *testing.T, m *sipMsg) string {
	t.Helper()
	v := m.get("Contact")
	if v == "" {
		v = m.get("m")
	}
	s, e := strings.Index(v, "<"), strings.Index(v, ">")
	if s < 0 || e < s {
		t.Fatalf("no Contact URI in\n%s", m.Raw)
	}
	return v[s+1 : e]
}

// TestEarlyDialogs: the PBX (a raw UDP peer on the trunk's address) calls
// u1001 requiring 100rel; u1001 (a raw UDP device) sends a reliable 180
// and at once a reliable 183 with SDP, then an UPDATE with an offer in its
// early dialog, before answering.
//   - both 18x reach the PBX, in order, the 183 only after the PBX's PRACK
//     of the 180 (RFC 3262 §3: one unacknowledged reliable 1xx at a time),
//     with consecutive RSeq; the device's are PRACKed per RSeq;
//   - the PBX's PRACK of the 183 carries an offer (RFC 3262 §5): it reaches
//     the device as an early UPDATE and the answer comes back in the 200
//     to the PRACK;
//   - the device's early UPDATE with SDP reaches the PBX, whose answer
//     comes back (RFC 3311 §5.1); the PBX's own early UPDATE reaches the
//     device the same way;
//   - the call is then answered and hung up as usual.
func TestEarlyDialogs(t *testing.T) {
	_, caller, callee := pbxCallsPhone(t)

	// The PBX's INVITE, requiring 100rel.
	cid, from := randHex(8), "<sip:5551234@example.com>;tag="+caller.tag
	caller.request("INVITE", "sip:1001@example.com", from, "<sip:1001@example.com>", cid, 1,
		mediaBody("127.0.0.2", 31000, "", 0), "Require: 100rel", "Supported: 100rel",
		"Allow: INVITE, ACK, BYE, CANCEL, PRACK, UPDATE")
	inv := callee.next("INVITE at the device", 5*time.Second, isMethod("INVITE"))
	gwB := contactURI(t, inv)
	if !strings.Contains(inv.get("Supported"), "100rel") {
		t.Fatalf("INVITE to the device without Supported: 100rel:\n%s", inv.Raw)
	}
	// Like a real UAS, the device sends its reliable 18x one at a time,
	// each retransmitted until its PRACK comes (RFC 3262 §3). The
	// gateway PRACKs at once: the PBX gets the second while it has not
	// acknowledged the first.
	callee.reliable(inv, 180, "Ringing", "", 1)
	callee.reliable(inv, 183, "Session Progress", mediaBody("127.0.0.1", 32000, "", 0), 2)

	// The 180 reaches the PBX reliably; the 183 waits for its PRACK.
	r180 := caller.next("180 at the PBX", 5*time.Second, isStatus(180, "INVITE"))
	rseq, err := strconv.ParseUint(r180.get("RSeq"), 10, 32)
	if err != nil || !strings.Contains(r180.get("Require"), "100rel") {
		t.Fatalf("180 not reliable: Require %q RSeq %q", r180.get("Require"), r180.get("RSeq"))
	}
	if !strings.Contains(r180.get("Allow"), "UPDATE") {
		t.Errorf("180 Allow %q, want UPDATE listed (RFC 3311 §5.1)", r180.get("Allow"))
	}
	hold := time.After(700 * time.Millisecond) // T1 retransmissions of the 180 only
	for waiting := true; waiting; {
		select {
		case m := <-caller.msgs:
			if m.Status == 183 {
				t.Fatalf("183 sent before the 180 was acknowledged (RFC 3262 §3)")
			}
		case <-hold:
			waiting = false
		}
	}
	toA := r180.get("To")
	gwA := contactURI(t, r180)
	cseq := 2
	caller.request("PRACK", gwA, from, toA, cid, cseq, "", fmt.Sprintf("RAck: %d 1 INVITE", rseq))
	// The 200 to the PRACK and the 183 it lets go may cross.
	var r183 *sipMsg
	caller.next("200 to the first PRACK", 5*time.Second, func(m *sipMsg) bool {
		if m.Status == 183 && r183 == nil {
			r183 = m
		}
		return isStatus(200, "PRACK")(m)
	})
	if r183 == nil {
		r183 = caller.next("183 at the PBX", 5*time.Second, isStatus(183, "INVITE"))
	}
	if got := r183.get("RSeq"); got != strconv.FormatUint(rseq+1, 10) {
		t.Errorf("183 RSeq %q, want %d", got, rseq+1)
	}
	if !strings.Contains(r183.Body, "m=audio") {
		t.Fatalf("183 without SDP:\n%s", r183.Raw)
	}

	// The PRACK of the 183 carries a new offer (RFC 3262 §5).
	cseq++
	caller.request("PRACK", gwA, from, toA, cid, cseq, mediaBody("127.0.0.2", 31002, "sendonly", 0),
		fmt.Sprintf("RAck: %d 1 INVITE", rseq+1))
	up := callee.next("UPDATE at the device (the PRACK's offer)", 5*time.Second, isMethod("UPDATE"))
	if !strings.Contains(up.Body, "a=sendonly") {
		t.Errorf("UPDATE to the device: want the PRACK's sendonly offer:\n%s", up.Raw)
	}
	callee.respond(up, 200, "OK", mediaBody("127.0.0.1", 32000, "recvonly", 0))
	pr200 := caller.next("200 to the PRACK with an offer", 5*time.Second, isStatus(200, "PRACK"))
	if !strings.Contains(pr200.Body, "a=recvonly") {
		t.Errorf("200 to the PRACK: want the device's recvonly answer:\n%s", pr200.Raw)
	}

	// The device's early UPDATE with an offer reaches the PBX.
	fromB := inv.get("To") + ";tag=" + callee.tag
	callee.request("UPDATE", gwB, fromB, inv.get("From"), inv.get("Call-ID"), 1, mediaBody("127.0.0.1", 32002, "sendonly", 0))
	upA := caller.next("UPDATE at the PBX", 5*time.Second, isMethod("UPDATE"))
	if !strings.Contains(upA.Body, "a=sendonly") || strings.Contains(upA.Body, "32002") {
		t.Errorf("UPDATE to the PBX: want the device's sendonly offer through the relay:\n%s", upA.Raw)
	}
	caller.respond(upA, 200, "OK", mediaBody("127.0.0.2", 31002, "recvonly", 0))
	ans := callee.next("200 to the device's UPDATE", 5*time.Second, isStatus(200, "UPDATE"))
	if !strings.Contains(ans.Body, "a=recvonly") {
		t.Errorf("200 to the device's UPDATE: want the PBX's recvonly answer:\n%s", ans.Raw)
	}

	// The PBX's early UPDATE with an offer reaches the device.
	cseq++
	caller.request("UPDATE", gwA, from, toA, cid, cseq, mediaBody("127.0.0.2", 31004, "", 0))
	upB := callee.next("UPDATE at the device", 5*time.Second, isMethod("UPDATE"))
	if !strings.Contains(upB.Body, "m=audio") || strings.Contains(upB.Body, "31004") {
		t.Errorf("UPDATE to the device: want the PBX's offer through the relay:\n%s", upB.Raw)
	}
	callee.respond(upB, 200, "OK", mediaBody("127.0.0.1", 32004, "", 0))
	ansA := caller.next("200 to the PBX's UPDATE", 5*time.Second, isStatus(200, "UPDATE"))
	if !strings.Contains(ansA.Body, "m=audio") {
		t.Errorf("200 to the PBX's UPDATE without SDP:\n%s", ansA.Raw)
	}

	// Answer, ACK, hang up.
	callee.respond(inv, 200, "OK", mediaBody("127.0.0.1", 32004, "", 0))
	callee.next("ACK at the device", 5*time.Second, isMethod("ACK"))
	ok := caller.next("200 at the PBX", 10*time.Second, isStatus(200, "INVITE"))
	caller.request("ACK", contactURI(t, ok), from, ok.get("To"), cid, 1, "")
	caller.request("BYE", contactURI(t, ok), from, ok.get("To"), cid, cseq+1, "")
	caller.next("200 to the BYE", 5*time.Second, isStatus(200, "BYE"))
	bye := callee.next("BYE at the device", 5*time.Second, isMethod("BYE"))
	callee.respond(bye, 200, "OK", "")
}

// TestEarlyUpdateBothWays: one reliable 183 with SDP, acknowledged on both
// sides; then an UPDATE with an offer from the device in its early dialog
// reaches the PBX and the PBX's answer comes back, and the PBX's own early
// UPDATE reaches the device (RFC 3311 §5.1). Before, the device got 481
// and the PBX 500.
func TestEarlyUpdateBothWays(t *testing.T) {
	_, caller, callee := pbxCallsPhone(t)
	cid, from := randHex(8), "<sip:5551234@example.com>;tag="+caller.tag
	caller.request("INVITE", "sip:1001@example.com", from, "<sip:1001@example.com>", cid, 1,
		mediaBody("127.0.0.2", 31000, "", 0), "Require: 100rel", "Supported: 100rel",
		"Allow: INVITE, ACK, BYE, CANCEL, PRACK, UPDATE")
	inv := callee.next("INVITE at the device", 5*time.Second, isMethod("INVITE"))
	callee.reliable(inv, 183, "Session Progress", mediaBody("127.0.0.1", 32000, "", 0), 1)
	r183 := caller.next("183 at the PBX", 5*time.Second, isStatus(183, "INVITE"))
	toA, gwA := r183.get("To"), contactURI(t, r183)
	caller.request("PRACK", gwA, from, toA, cid, 2, "", "RAck: "+r183.get("RSeq")+" 1 INVITE")
	caller.next("200 to the PRACK", 5*time.Second, isStatus(200, "PRACK"))

	fromB := inv.get("To") + ";tag=" + callee.tag
	callee.request("UPDATE", contactURI(t, inv), fromB, inv.get("From"), inv.get("Call-ID"), 1,
		mediaBody("127.0.0.1", 32002, "sendonly", 0))
	upA := relayedTo(t, callee, caller, "device's early UPDATE")
	if upA.Method != "UPDATE" || !strings.Contains(upA.Body, "a=sendonly") {
		t.Fatalf("PBX got %s, want the device's sendonly offer:\n%s", firstLine(upA.Raw), upA.Raw)
	}
	caller.respond(upA, 200, "OK", mediaBody("127.0.0.2", 31002, "recvonly", 0))
	if ans := callee.next("answer to the device's UPDATE", 5*time.Second, isMethod("")); ans.Status != 200 || !strings.Contains(ans.Body, "a=recvonly") {
		t.Errorf("device's early UPDATE: %d, want 200 with the PBX's recvonly answer:\n%s", ans.Status, ans.Raw)
	}

	caller.request("UPDATE", gwA, from, toA, cid, 3, mediaBody("127.0.0.2", 31004, "", 0))
	upB := relayedTo(t, caller, callee, "PBX's early UPDATE")
	if upB.Method != "UPDATE" || !strings.Contains(upB.Body, "m=audio") {
		t.Fatalf("device got %s, want the PBX's offer", firstLine(upB.Raw))
	}
	callee.respond(upB, 200, "OK", mediaBody("127.0.0.1", 32004, "", 0))
	if ans := caller.next("answer to the PBX's UPDATE", 5*time.Second, isMethod("")); ans.Status != 200 || !strings.Contains(ans.Body, "m=audio") {
		t.Errorf("PBX's early UPDATE: %d, want 200 with the device's answer:\n%s", ans.Status, ans.Raw)
	}
	callee.respond(inv, 486, "Busy Here", "")
	callee.next("ACK at the device", 5*time.Second, isMethod("ACK"))
	caller.next("486 at the PBX", 5*time.Second, isStatus(486, "INVITE"))
}

// relayedTo returns the request to that a request from from became; it
// fails when from gets a final answer first. Provisional responses to the
// INVITE (retransmissions) are passed over.
func relayedTo(t *testing.T, from, to *rawEnd, what string) *sipMsg {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-to.msgs:
			if m.Method != "" {
				return m
			}
		case m := <-from.msgs:
			if m.Status >= 200 {
				t.Fatalf("%s answered %s, not relayed", what, firstLine(m.Raw))
			}
		case <-deadline:
			t.Fatalf("%s: nothing relayed", what)
			return nil
		}
	}
}

// TestEarlyUpdateLocalAnswer: the PBX calls without requiring 100rel (as
// most phones and PBXs do), so its early dialog cannot take an offer
// (RFC 3311 §5.1); the device's early UPDATE with an offer is answered by
// the gateway itself (the relay anchors the media): 200 with the mirrored
// direction and the relay's address, not 481 as before.
func TestEarlyUpdateLocalAnswer(t *testing.T) {
	_, caller, callee := pbxCallsPhone(t)
	cid, from := randHex(8), "<sip:5551234@example.com>;tag="+caller.tag
	caller.request("INVITE", "sip:1001@example.com", from, "<sip:1001@example.com>", cid, 1,
		mediaBody("127.0.0.2", 31000, "", 0), "Supported: 100rel", "Allow: INVITE, ACK, BYE, CANCEL, UPDATE")
	inv := callee.next("INVITE at the device", 5*time.Second, isMethod("INVITE"))
	callee.reliable(inv, 183, "Session Progress", mediaBody("127.0.0.1", 32000, "", 0), 1)
	r183 := caller.next("183 at the PBX", 5*time.Second, isStatus(183, "INVITE"))
	if r183.get("RSeq") != "" {
		t.Errorf("183 to a PBX that did not require 100rel has RSeq %q", r183.get("RSeq"))
	}
	callee.request("UPDATE", contactURI(t, inv), inv.get("To")+";tag="+callee.tag, inv.get("From"), inv.get("Call-ID"), 1,
		mediaBody("127.0.0.1", 32002, "sendonly", 0))
	ans := callee.next("answer to the device's UPDATE", 5*time.Second, isMethod(""))
	if ans.Status != 200 || !strings.Contains(ans.Body, "a=recvonly") || !strings.Contains(ans.Body, "m=audio") {
		t.Fatalf("device's early UPDATE: %d, want 200 with a recvonly answer:\n%s", ans.Status, ans.Raw)
	}
	if strings.Contains(ans.Body, "31000") {
		t.Errorf("answer carries the PBX's own port, not the relay's:\n%s", ans.Body)
	}
	callee.respond(inv, 486, "Busy Here", "")
	callee.next("ACK at the device", 5*time.Second, isMethod("ACK"))
	m := caller.next("486 at the PBX", 5*time.Second, func(m *sipMsg) bool { return m.Method == "UPDATE" || m.Status == 486 })
	if m.Method == "UPDATE" {
		t.Fatalf("the locally answered offer reached the PBX:\n%s", m.Raw)
	}
}
