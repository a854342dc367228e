package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Call pickup with Replaces (RFC 3891 §3) as PBXs send it.

// TestReplacesFromTrunk: the PBX picks the phone's call to 2000 up on
// another of its extensions (Cisco UCM, Asterisk and BroadWorks do call
// pickup and park retrieval so): it sends, from its own address and
// without credentials, an INVITE with Replaces naming its dialog with us
// (tags from its point of view). The gateway re-INVITEs the phone towards
// the new PBX leg, BYEs the old one, and RTP flows through the relay.
// A Replaces with early-only naming that answered dialog gets 486 (§3).
func TestReplacesFromTrunk(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	b := pbx.get("2000")
	// The PBX's dialog: its tag is the To tag, ours the From tag.
	pbxTag, _ := b.dlg.InviteResponse.To().Params.Get("tag")
	ourTag, _ := b.dlg.InviteRequest.From().Params.Get("tag")
	replaces := fmt.Sprintf("Replaces: %s;to-tag=%s;from-tag=%s", b.dlg.InviteRequest.CallID().Value(), ourTag, pbxTag)

	pick := dialSIP(t, "udp", "127.0.0.2", g.UDP)
	newRTP := newRTPPort(t, "127.0.0.2")
	body := mediaBody("127.0.0.2", newRTP.port, "", 0, 8)
	ruri := "sip:u1000@" + g.UDP
	invite := func(rep string) string {
		msg := pick.request("INVITE", ruri, "2001", pick.contact("2001"), rep, "Content-Type: application/sdp")
		msg = strings.Replace(msg, "To: <sip:2001@example.com>", "To: <sip:u1000@example.com>", 1)
		return strings.Replace(msg, "Content-Length: 0\r\n\r\n", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body), 1)
	}
	if res := finalAnswer(t, pick, invite(replaces+";early-only")); res.Status != 486 {
		t.Errorf("Replaces early-only naming an answered dialog: %d %s, want 486 (RFC 3891 §3)", res.Status, res.Reason)
	}
	res := finalAnswer(t, pick, invite(replaces))
	if res.Status != 200 {
		t.Fatalf("INVITE with Replaces from the trunk: %d %s\n%s", res.Status, res.Reason, g.log.String())
	}
	to := res.get("To")
	pick.send(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:2001@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		ruri, pick.conn.LocalAddr(), randHex(8), pick.tag, to, pick.callID, pick.cseq))
	select {
	case r := <-ph.reinvites:
		if !strings.Contains(string(r.Body()), "m=audio") {
			t.Errorf("phone re-INVITEd without SDP")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("phone not re-INVITEd towards the picking-up extension")
	}
	select {
	case user := <-pbx.byes:
		if user != "2000" {
			t.Errorf("BYE for %s, want the replaced 2000 leg", user)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the replaced PBX leg got no BYE")
	}
	answer := res.Raw[strings.Index(res.Raw, "\r\n\r\n")+4:]
	if n := flows(t, newRTP, sdpAddr(t, answer), rtp, 0); n < 15 {
		t.Errorf("new PBX leg→phone: %d/20 packets", n)
	}
	g.waitLog(`msg="call leg replaced"`, 5*time.Second)
	_ = s.Bye(ctx)
}
