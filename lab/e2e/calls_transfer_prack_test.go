package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestBlindTransferTargetPRACK: the transfer target (a local device)
// rings with a reliable 180 (Require: 100rel, RSeq); the gateway PRACKs
// it in the early dialog (RFC 3262 §4, RAck naming the RSeq and the
// INVITE) before the target answers and the transfer completes.
func TestBlindTransferTargetPRACK(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, localUsers+strings.TrimPrefix(dialogConfig(pbx.agent.addr), "registrar: {algorithms: [MD5, SHA-256]}\n"))
	dev := newRawPhone(t, g, "u1001", phoneMode{answer: 300 * time.Millisecond, reliable: true})
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	pbx.get("2000")
	res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:1001@example.com>"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	cid := s.InviteRequest.CallID().Value()
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	ph.expectNotify(cid, "SIP/2.0 200 OK")
	ph.expectBye(cid)
	inv := dev.wait(5*time.Second, "INVITE", isMethod("INVITE"))
	pr := dev.wait(5*time.Second, "PRACK", isMethod("PRACK"))
	if got, want := pr.get("RAck"), "1 "+strings.Fields(inv.get("CSeq"))[0]+" INVITE"; got != want {
		t.Errorf("PRACK RAck %q, want %q", got, want)
	}
	if pr.get("Call-ID") != inv.get("Call-ID") {
		t.Errorf("PRACK outside the INVITE's dialog")
	}
	dev.wait(5*time.Second, "ACK", isMethod("ACK"))
	g.waitLog(`msg="call transferred"`, 5*time.Second)
}
