package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPickupAfterReliableEarlyAnswer: the PBX calls u1001 requiring 100rel
// and offering PCMU and PCMA; u1001's phone answers PCMA only in a
// reliable 183 (early media, RFC 3262), which the PBX PRACKs: the PBX's
// offer/answer is complete. Another device of u1001 then picks the
// ringing call up (RFC 3891 §3) offering PCMU first.
//   - the 2xx to the PBX carries the answer of the 183 again, unchanged
//     (RFC 3261 §13.2.1, RFC 6337 §3.1.1: no new answer once one was
//     given reliably), not a new answer from the picker's offer;
//   - the picker is answered with the codec the PBX was told (PCMA), so
//     both ends send what the other expects.
//
// Before, the 2xx to the PBX carried a new answer built from the picker's
// offer (PCMU), which the PBX ignores: it kept sending PCMA to a picker
// told to expect PCMU.
func TestPickupAfterReliableEarlyAnswer(t *testing.T) {
	g, caller, callee := pbxCallsPhone(t)

	cid, from := randHex(8), "<sip:5551234@example.com>;tag="+caller.tag
	caller.request("INVITE", "sip:1001@example.com", from, "<sip:1001@example.com>", cid, 1,
		mediaBody("127.0.0.2", 31000, "", 0, 8), "Require: 100rel", "Supported: 100rel",
		"Allow: INVITE, ACK, BYE, CANCEL, PRACK, UPDATE")
	inv := callee.next("INVITE at the device", 5*time.Second, isMethod("INVITE"))
	callee.reliable(inv, 183, "Session Progress", mediaBody("127.0.0.1", 32000, "", 8), 1)

	r183 := caller.next("183 at the PBX", 5*time.Second, isStatus(183, "INVITE"))
	if !strings.Contains(r183.Body, "m=audio") {
		t.Fatalf("183 without SDP:\n%s", r183.Raw)
	}
	rseq, err := strconv.ParseUint(r183.get("RSeq"), 10, 32)
	if err != nil {
		t.Fatalf("183 not reliable: RSeq %q", r183.get("RSeq"))
	}
	caller.request("PRACK", contactURI(t, r183), from, r183.get("To"), cid, 2, "", fmt.Sprintf("RAck: %d 1 INVITE", rseq))
	caller.next("200 to the PRACK", 5*time.Second, isStatus(200, "PRACK"))

	// The ringing device: 200 to the CANCEL the pickup causes, then 487.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case m := <-callee.msgs:
				if m.Method == "CANCEL" {
					callee.respond(m, 200, "OK", "")
					callee.respond(inv, 487, "Request Terminated", "")
				}
			case <-stop:
				return
			}
		}
	}()

	picker := dialSIP(t, "udp", "127.0.0.3", g.UDP)
	rtpP := newRTPPort(t, "127.0.0.3")
	res := pickupAs(t, picker, "u1001", inv, callee.tag, rtpP) // offers PCMU, PCMA
	if res.Status != 200 {
		t.Fatalf("pickup: %d %s", res.Status, res.Reason)
	}
	picker.send(fmt.Sprintf("ACK sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:u1001@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		picker.conn.LocalAddr(), randHex(8), picker.tag, res.get("To"), picker.callID, picker.cseq))
	toPicker := res.Raw[strings.Index(res.Raw, "\r\n\r\n")+4:]
	if m := sdpLine(toPicker, "m="); m != "m=audio "+strconv.Itoa(int(sdpAddr(t, toPicker).Port()))+" RTP/AVP 8" {
		t.Errorf("answer to the picker %q, want PCMA (8) only: the codec the PBX was told", m)
	}

	ok := caller.next("200 at the PBX", 10*time.Second, isStatus(200, "INVITE"))
	caller.request("ACK", contactURI(t, ok), from, ok.get("To"), cid, 1, "")
	for _, l := range []string{"o=", "c=", "m="} {
		if got, want := sdpLine(ok.Body, l), sdpLine(r183.Body, l); got != want {
			t.Errorf("2xx to the PBX %q, want the 183's answer again %q (RFC 3262 §5)", got, want)
		}
	}
	g.waitLog(`msg="call picked up"`, 5*time.Second)
	caller.request("BYE", contactURI(t, ok), from, ok.get("To"), cid, 3, "")
	caller.next("200 to the BYE", 5*time.Second, isStatus(200, "BYE"))
	answerBye(t, picker)
}

// TestPickupAfterLateEarlyAnswer: as TestPickupAfterReliableEarlyAnswer
// with a late offer (lateoffer.go): the PBX's INVITE has no SDP, our
// offer goes in the reliable 183 and the PBX answers PCMA only in its
// PRACK (RFC 3262 §5). The picker is then answered PCMA only, the 2xx
// repeats the 183's offer and the PBX's ACK without SDP keeps the call.
// Before, the picker was answered with every codec of our offer and the
// 2xx carried a second, new offer.
func TestPickupAfterLateEarlyAnswer(t *testing.T) {
	g, caller, callee := pbxCallsPhone(t)
	cid, from := randHex(8), "<sip:5551234@example.com>;tag="+caller.tag
	caller.request("INVITE", "sip:1001@example.com", from, "<sip:1001@example.com>", cid, 1, "",
		"Require: 100rel", "Supported: 100rel", "Allow: INVITE, ACK, BYE, CANCEL, PRACK, UPDATE")
	inv := callee.next("INVITE at the device", 5*time.Second, isMethod("INVITE"))
	callee.respond(inv, 183, "Session Progress", mediaBody("127.0.0.1", 32000, "", 0, 8))
	r183 := caller.next("183 at the PBX", 5*time.Second, isStatus(183, "INVITE"))
	if !strings.Contains(r183.Body, "m=audio") {
		t.Fatalf("183 to the late-offer caller without our offer:\n%s", r183.Raw)
	}
	rseq, _ := strconv.ParseUint(r183.get("RSeq"), 10, 32)
	caller.request("PRACK", contactURI(t, r183), from, r183.get("To"), cid, 2,
		mediaBody("127.0.0.2", 31000, "", 8), fmt.Sprintf("RAck: %d 1 INVITE", rseq))
	caller.next("200 to the PRACK", 5*time.Second, isStatus(200, "PRACK"))

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case m := <-callee.msgs:
				if m.Method == "CANCEL" {
					callee.respond(m, 200, "OK", "")
					callee.respond(inv, 487, "Request Terminated", "")
				}
			case <-stop:
				return
			}
		}
	}()
	picker := dialSIP(t, "udp", "127.0.0.3", g.UDP)
	rtpP := newRTPPort(t, "127.0.0.3")
	res := pickupAs(t, picker, "u1001", inv, callee.tag, rtpP) // offers PCMU, PCMA
	if res.Status != 200 {
		t.Fatalf("pickup: %d %s", res.Status, res.Reason)
	}
	picker.send(fmt.Sprintf("ACK sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:u1001@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		picker.conn.LocalAddr(), randHex(8), picker.tag, res.get("To"), picker.callID, picker.cseq))
	toPicker := res.Raw[strings.Index(res.Raw, "\r\n\r\n")+4:]
	if m := sdpLine(toPicker, "m="); !strings.HasSuffix(m, " RTP/AVP 8") {
		t.Errorf("answer to the picker %q, want PCMA (8) only: what the PBX answered", m)
	}
	ok := caller.next("200 at the PBX", 10*time.Second, isStatus(200, "INVITE"))
	for _, l := range []string{"o=", "c=", "m="} {
		if got, want := sdpLine(ok.Body, l), sdpLine(r183.Body, l); got != want {
			t.Errorf("2xx to the PBX %q, want the 183's offer again %q", got, want)
		}
	}
	caller.request("ACK", contactURI(t, ok), from, ok.get("To"), cid, 1, "")
	g.waitLog(`msg="call picked up"`, 5*time.Second)
	caller.request("BYE", contactURI(t, ok), from, ok.get("To"), cid, 3, "")
	if r := caller.next("answer to the BYE", 5*time.Second, func(m *sipMsg) bool { return m.Status >= 200 && strings.Contains(m.get("CSeq"), "BYE") }); r.Status != 200 {
		t.Errorf("BYE: %d, want 200 (the call was up)", r.Status)
	}
	if strings.Contains(g.log.String(), "without a usable answer") {
		t.Errorf("the ACK without SDP was taken for a missing answer")
	}
	answerBye(t, picker)
}

// sdpLine is the first line of body that starts with prefix ("" if none).
func sdpLine(body, prefix string) string {
	for _, l := range strings.Split(body, "\r\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
