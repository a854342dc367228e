package e2e

// Attacks on established calls and on the B2BUA's transfer, Replaces and
// stray-response handling (issue 10, "Calls may only go where policy
// allows"). The attacker sends from 127.0.0.9; the phone is on 127.0.0.1
// and the PBX on 127.0.0.2.

import (
	"context"
	"fmt"
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
