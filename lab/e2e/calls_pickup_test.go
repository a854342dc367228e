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

// pickupInvite is an INVITE from c as user to 1001 with Replaces naming
// the early dialog of inv (the gateway's INVITE to a ringing device, whose
// tag is devTag), an SDP offer from rtp, and extra header lines.
func pickupInvite(c *sipConn, user string, inv *sipMsg, devTag string, rtp *rtpPort, extra ...string) string {
	host, _, _ := strings.Cut(c.conn.LocalAddr().String(), ":")
	from := inv.get("From")
	gwTag := from[strings.Index(from, "tag=")+4:]
	if i := strings.IndexByte(gwTag, ';'); i >= 0 {
		gwTag = gwTag[:i]
	}
	body := mediaBody(host, rtp.port, "", 0, 8)
	hs := append([]string{c.contact(user),
		fmt.Sprintf("Replaces: %s;to-tag=%s;from-tag=%s", inv.get("Call-ID"), gwTag, devTag),
		"Content-Type: application/sdp"}, extra...)
	msg := c.request("INVITE", "sip:1001@example.com", user, hs...)
	msg = strings.Replace(msg, "To: <sip:"+user+"@example.com>", "To: <sip:1001@example.com>", 1)
	return strings.Replace(msg, "Content-Length: 0\r\n\r\n", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body), 1)
}

// pickupAs sends the pickup INVITE as user, answering the 407 with
// user's credentials, and returns the final response.
func pickupAs(t *testing.T, c *sipConn, user string, inv *sipMsg, devTag string, rtp *rtpPort) *sipResponse {
	t.Helper()
	res := finalAnswer(t, c, pickupInvite(c, user, inv, devTag, rtp))
	if res.Status != 407 {
		return res
	}
	auth, err := digestAuthorization(res.Headers["proxy-authenticate"], "INVITE", "sip:1001@example.com", user, "secret")
	if err != nil {
		t.Fatal(err)
	}
	return finalAnswer(t, c, pickupInvite(c, user, inv, devTag, rtp, "Proxy-Authorization: "+auth))
}

// ringingCall has u1000 (a sipgo phone with RTP at rtp) call 1001, whose
// one device rings forever; it returns the device, the gateway's INVITE
// to it, and the caller's outcome (its answered session, or an error).
func ringingCall(t *testing.T, g *gateway, rtp *rtpPort) (*rawPhone, *sipMsg, chan error, chan func()) {
	t.Helper()
	dev := newRawPhone(t, g, "u1001", phoneMode{})
	ph := newTestPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	outcome, hangup := make(chan error, 1), make(chan func(), 1)
	go func() {
		s, err := call(ctx, ph.d, g.UDP, "1001", mediaBody("127.0.0.1", rtp.port, "", 0, 8))
		if err == nil {
			if err = s.WaitAnswer(ctx, answerOpts()); err == nil {
				err = s.Ack(ctx)
				hangup <- func() { _ = s.Bye(ctx) }
			}
		}
		outcome <- err
	}()
	inv := dev.wait(5*time.Second, "INVITE", isMethod("INVITE"))
	time.Sleep(100 * time.Millisecond) // its 180 is in
	return dev, inv, outcome, hangup
}

// TestDirectedPickup: u1000 calls 1001, whose phone rings; u1002 presses
// the BLF key and its phone sends an INVITE with Replaces naming the
// ringing early dialog (RFC 3891 §3: an early dialog we initiated may be
// replaced). After the 407 it gets 200 with our answer; 1001's phone gets
// CANCEL "Call completed elsewhere" (RFC 3326); the caller gets 200, and
// RTP flows between the caller and u1002 through the relay.
func TestDirectedPickup(t *testing.T) {
	g := startGateway(t, localUsers)
	rtpA := newRTPPort(t, "127.0.0.1")
	dev, inv, outcome, hangup := ringingCall(t, g, rtpA)

	picker := dialSIP(t, "udp", "127.0.0.3", g.UDP)
	rtpP := newRTPPort(t, "127.0.0.3")
	res := pickupAs(t, picker, "u1002", inv, dev.tag, rtpP)
	if res.Status != 200 {
		t.Fatalf("pickup by u1002: %d %s\n%s", res.Status, res.Reason, g.log.String())
	}
	picker.send(fmt.Sprintf("ACK sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:u1002@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		picker.conn.LocalAddr(), randHex(8), picker.tag, res.get("To"), picker.callID, picker.cseq))
	cancel := dev.wait(5*time.Second, "CANCEL", isMethod("CANCEL"))
	if r := cancel.get("Reason"); !strings.Contains(r, "completed elsewhere") {
		t.Errorf("CANCEL to the ringing phone has Reason %q, want Call completed elsewhere", r)
	}
	if err := <-outcome; err != nil {
		t.Fatalf("the caller's call after the pickup: %v", err)
	}
	answer := res.Raw[strings.Index(res.Raw, "\r\n\r\n")+4:]
	toPicker := sdpAddr(t, answer)
	if n := flows(t, rtpP, toPicker, rtpA, 0); n < 15 {
		t.Errorf("picker→caller: %d/20 packets", n)
	}
	g.waitLog(`msg="call picked up"`, 5*time.Second)
	(<-hangup)()
	answerBye(t, picker)
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

// answerBye waits for the BYE the gateway sends c's call and answers 200.
func answerBye(t *testing.T, c *sipConn) {
	t.Helper()
	buf := make([]byte, 65536)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_ = c.conn.SetReadDeadline(deadline)
		n, err := c.conn.Read(buf)
		if err != nil {
			break
		}
		if msg := string(buf[:n]); strings.HasPrefix(msg, "BYE ") {
			c.send(response(msg, 200, "OK", "", "", ""))
			return
		}
	}
	t.Fatal("the picked-up leg got no BYE")
}

// TestDirectedPickupRefused: with call_policy.pickup: false, u1002 (no
// party of the call) gets 403 and the phone rings on; the called user's
// own other device (u1001 from elsewhere) may still pick up. An INVITE
// with Replaces naming the caller's side of the ringing call (an early
// dialog we did not initiate) gets 481 (RFC 3891 §3).
func TestDirectedPickupRefused(t *testing.T) {
	g := startGateway(t, localUsers+"call_policy: {pickup: false}\n")
	rtpA := newRTPPort(t, "127.0.0.1")
	dev, inv, outcome, hangup := ringingCall(t, g, rtpA)

	picker := dialSIP(t, "udp", "127.0.0.3", g.UDP)
	rtpP := newRTPPort(t, "127.0.0.3")
	if res := pickupAs(t, picker, "u1002", inv, dev.tag, rtpP); res.Status != 403 {
		t.Fatalf("pickup by u1002 with pickup off: %d %s, want 403", res.Status, res.Reason)
	}
	if dev.has(isMethod("CANCEL")) {
		t.Fatal("the refused pickup cancelled the ringing phone")
	}
	select {
	case err := <-outcome:
		t.Fatalf("the caller's call ended on a refused pickup: %v", err)
	default:
	}
	own := dialSIP(t, "udp", "127.0.0.4", g.UDP)
	res := pickupAs(t, own, "u1001", inv, dev.tag, newRTPPort(t, "127.0.0.4"))
	if res.Status != 200 {
		t.Fatalf("pickup by u1001's own other device: %d %s, want 200", res.Status, res.Reason)
	}
	own.send(fmt.Sprintf("ACK sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:u1001@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		own.conn.LocalAddr(), randHex(8), own.tag, res.get("To"), own.callID, own.cseq))
	if err := <-outcome; err != nil {
		t.Fatalf("the caller's call after the pickup: %v", err)
	}
	(<-hangup)()
	answerBye(t, own)
}
