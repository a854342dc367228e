package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLateOfferEarlyMedia: the PBX calls u1001 with an INVITE without SDP
// (Cisco UCM's delayed offer) that requires 100rel; u1001's phone sends a
// 183 with SDP (early media: an announcement, a ringback tone).
//   - the PBX gets our offer in a reliable 183 (RFC 3261 §13.2.1: the
//     offer goes in the first reliable non-failure response) and answers
//     it in its PRACK (RFC 3262 §5): 200 to the PRACK;
//   - the phone's early media reaches the PBX through the relay;
//   - the 2xx repeats that offer unchanged (RFC 6337 §3.1.1) and an ACK
//     without SDP is fine: the call stays up until the PBX hangs up.
//
// Before, a late-offer caller got its 18x without SDP and heard nothing
// until the answer.
func TestLateOfferEarlyMedia(t *testing.T) {
	g, caller, callee := pbxCallsPhone(t)
	rtpDev, rtpPBX := newRTPPort(t, "127.0.0.1"), newRTPPort(t, "127.0.0.2")

	cid, from := randHex(8), "<sip:5551234@example.com>;tag="+caller.tag
	caller.request("INVITE", "sip:1001@example.com", from, "<sip:1001@example.com>", cid, 1, "",
		"Require: 100rel", "Supported: 100rel", "Allow: INVITE, ACK, BYE, CANCEL, PRACK, UPDATE")
	inv := callee.next("INVITE at the device", 5*time.Second, isMethod("INVITE"))
	if !strings.Contains(inv.Body, "m=audio") {
		t.Fatalf("the device's INVITE carries no offer of ours:\n%s", inv.Raw)
	}
	devSDP := mediaBody("127.0.0.1", rtpDev.port, "", 0)
	callee.respond(inv, 183, "Session Progress", devSDP)

	r183 := caller.next("183 at the PBX", 5*time.Second, isStatus(183, "INVITE"))
	if !strings.Contains(r183.Body, "m=audio") {
		t.Fatalf("183 to the late-offer caller without our offer:\n%s", r183.Raw)
	}
	rseq, err := strconv.ParseUint(r183.get("RSeq"), 10, 32)
	if err != nil || !strings.Contains(r183.get("Require"), "100rel") {
		t.Fatalf("183 with an offer not reliable: Require %q RSeq %q (RFC 3261 §13.2.1)", r183.get("Require"), r183.get("RSeq"))
	}
	caller.request("PRACK", contactURI(t, r183), from, r183.get("To"), cid, 2,
		mediaBody("127.0.0.2", rtpPBX.port, "", 0), fmt.Sprintf("RAck: %d 1 INVITE", rseq))
	caller.next("200 to the PRACK with the answer", 5*time.Second, isStatus(200, "PRACK"))

	if n := flows(t, rtpDev, sdpAddr(t, inv.Body), rtpPBX, 0); n < 15 {
		t.Errorf("early media device→PBX: %d/20 packets", n)
	}

	callee.respond(inv, 200, "OK", devSDP)
	callee.next("ACK at the device", 5*time.Second, isMethod("ACK"))
	ok := caller.next("200 at the PBX", 10*time.Second, isStatus(200, "INVITE"))
	for _, l := range []string{"o=", "c=", "m="} {
		if got, want := sdpLine(ok.Body, l), sdpLine(r183.Body, l); got != want {
			t.Errorf("2xx to the PBX %q, want the 183's offer again %q", got, want)
		}
	}
	caller.request("ACK", contactURI(t, ok), from, ok.get("To"), cid, 1, "")
	if n := flows(t, rtpPBX, sdpAddr(t, ok.Body), rtpDev, 0); n < 15 {
		t.Errorf("after the answer PBX→device: %d/20 packets", n)
	}
	if strings.Contains(g.log.String(), "without a usable answer") {
		t.Errorf("the ACK without SDP was taken for a missing answer")
	}
	caller.request("BYE", contactURI(t, ok), from, ok.get("To"), cid, 3, "")
	if res := caller.next("answer to the BYE", 5*time.Second, func(m *sipMsg) bool { return m.Status >= 200 && strings.Contains(m.get("CSeq"), "BYE") }); res.Status != 200 {
		t.Errorf("BYE: %d, want 200 (the call was up)", res.Status)
	}
	bye := callee.next("BYE at the device", 5*time.Second, isMethod("BYE"))
	callee.respond(bye, 200, "OK", "")
}

// TestLateOfferCallerNarrowsCodecs: the PBX calls u1001 without SDP and
// no 100rel; the phone answers our offer with PCMU and PCMA, which goes
// to the PBX as our offer in the 2xx; the PBX answers PCMA only in its
// ACK. The phone is then re-INVITEd with PCMA only (RFC 3264 §8), so it
// does not send PCMU the PBX refused. Before, the caller's answer stayed
// with its leg and the phone went on with both.
func TestLateOfferCallerNarrowsCodecs(t *testing.T) {
	_, caller, callee := pbxCallsPhone(t)
	cid, from := randHex(8), "<sip:5551234@example.com>;tag="+caller.tag
	caller.request("INVITE", "sip:1001@example.com", from, "<sip:1001@example.com>", cid, 1, "")
	inv := callee.next("INVITE at the device", 5*time.Second, isMethod("INVITE"))
	callee.respond(inv, 200, "OK", mediaBody("127.0.0.1", 32000, "", 0, 8))
	callee.next("ACK at the device", 5*time.Second, isMethod("ACK"))
	ok := caller.next("200 at the PBX", 10*time.Second, isStatus(200, "INVITE"))
	if m := sdpLine(ok.Body, "m="); !strings.HasSuffix(m, " 0 8") {
		t.Fatalf("our offer in the 2xx %q, want PCMU and PCMA", m)
	}
	caller.request("ACK", contactURI(t, ok), from, ok.get("To"), cid, 1, mediaBody("127.0.0.2", 31000, "", 8))
	re := callee.next("re-INVITE at the device with the PBX's codec", 5*time.Second, isMethod("INVITE"))
	if m := sdpLine(re.Body, "m="); !strings.HasSuffix(m, " RTP/AVP 8") {
		t.Errorf("re-INVITE to the device %q, want PCMA (8) only", m)
	}
	callee.respond(re, 200, "OK", mediaBody("127.0.0.1", 32000, "", 8))
	callee.next("ACK of the re-INVITE", 5*time.Second, isMethod("ACK"))
	caller.request("BYE", contactURI(t, ok), from, ok.get("To"), cid, 2, "")
	if r := caller.next("answer to the BYE", 5*time.Second, func(m *sipMsg) bool { return m.Status >= 200 && strings.Contains(m.get("CSeq"), "BYE") }); r.Status != 200 {
		t.Errorf("BYE: %d, want 200 (the call was up)", r.Status)
	}
	bye := callee.next("BYE at the device", 5*time.Second, isMethod("BYE"))
	callee.respond(bye, 200, "OK", "")
}
