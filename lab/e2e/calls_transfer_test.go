package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Transfers through the gateway (RFC 3515, RFC 3891, RFC 5589): the phone
// u1000 talks to 2000 on the PBX and transfers it to 2001 on the PBX. At
// the end 2000 and 2001 have RTP flowing through the relay, and the phone
// got NOTIFY sipfrag 100 then 200, and a BYE for each of its calls.

// expectNotify waits for the next NOTIFY on callID and checks its sipfrag
// status line.
func (p *testPhone) expectNotify(callID, status string) {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-p.notifies:
			if n.CallID().Value() != callID {
				continue
			}
			if ev := n.GetHeader("Event"); ev == nil || !strings.HasPrefix(ev.Value(), "refer;id=") {
				p.t.Errorf("NOTIFY Event %v, want refer;id=<REFER CSeq> (RFC 3515 §2.4.6)", ev)
			}
			if ct := n.GetHeader("Content-Type"); ct == nil || !strings.HasPrefix(ct.Value(), "message/sipfrag") {
				p.t.Errorf("NOTIFY Content-Type %v, want message/sipfrag", ct)
			}
			if got := strings.TrimSpace(string(n.Body())); got != status {
				p.t.Fatalf("NOTIFY sipfrag %q, want %q", got, status)
			}
			return
		case <-timeout:
			p.t.Fatalf("no NOTIFY %q", status)
		}
	}
}

// expectBye waits for BYEs for every Call-ID given.
func (p *testPhone) expectBye(callIDs ...string) {
	p.t.Helper()
	want := map[string]bool{}
	for _, id := range callIDs {
		want[id] = true
	}
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case id := <-p.byes:
			delete(want, id)
		case <-timeout:
			p.t.Fatalf("no BYE for %v", want)
		}
	}
}

// bothWays checks RTP flows between two PBX calls through the relay.
func bothWays(t *testing.T, b, c *farCall) {
	t.Helper()
	if n := flows(t, b.rtp, b.relayAddr(), c.rtp, 0); n < 15 {
		t.Errorf("%s→%s: %d/20 packets", b.user, c.user, n)
	}
	if n := flows(t, c.rtp, c.relayAddr(), b.rtp, 0); n < 15 {
		t.Errorf("%s→%s: %d/20 packets", c.user, b.user, n)
	}
}

// TestBlindTransfer: the phone holds 2000 and REFERs it to 2001 (RFC 5589
// §6). The gateway calls 2001, takes 2000 off hold, NOTIFYs 100 and 200
// and hangs up the phone.
func TestBlindTransfer(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	b := pbx.get("2000")
	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendonly", 0, 101), 2))
	if res.StatusCode != 200 {
		t.Fatalf("hold: %d", res.StatusCode)
	}
	pbx.next(sip.INVITE)

	res = inDialog(ctx, t, s, sip.REFER, "", "",
		sip.NewHeader("Refer-To", "<sip:2001@example.com>"), sip.NewHeader("Referred-By", "<sip:u1000@example.com>"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s\n%s", res.StatusCode, res.Reason, g.log.String())
	}
	cid := s.InviteRequest.CallID().Value()
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	c := pbx.get("2001")
	if d := sdpDir(c.first); d != "sendrecv" {
		t.Errorf("2001 offered %s, want sendrecv", d)
	}
	if resume := pbx.next(sip.INVITE); sdpDir(string(resume.Body())) != "sendrecv" {
		t.Errorf("2000 re-INVITEd with %s, want sendrecv (off hold)", sdpDir(string(resume.Body())))
	}
	ph.expectNotify(cid, "SIP/2.0 200 OK")
	ph.expectBye(cid)
	bothWays(t, b, c)
	g.waitLog(`msg="call transferred"`, 5*time.Second)

	// 2001 hangs up: the record of the call names the transfer.
	if err := agentBye(ctx, c.dlg, pbx.agent.addr); err != nil {
		t.Fatalf("BYE from 2001: %v", err)
	}
	if r := waitCDR(t, g, "u1000"); r.TransferredTo != "2001" || r.Attended || r.Callee != "2000" {
		t.Errorf("record after a blind transfer: %+v", r)
	}
}

// TestAttendedTransfer: the phone talks to 2000 (held) and to 2001, then
// REFERs 2000 to 2001 with Replaces naming its call with 2001 (RFC 5589
// §7, RFC 3891). The gateway joins 2000 and 2001 and ends both of the
// phone's calls.
func TestAttendedTransfer(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp1, rtp2 := newRTPPort(t, "127.0.0.1"), newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s1 := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp1.port, "", 0))
	b := pbx.get("2000")
	if res := inDialog(ctx, t, s1, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp1.port, "sendonly", 0), 2)); res.StatusCode != 200 {
		t.Fatalf("hold: %d", res.StatusCode)
	}
	pbx.next(sip.INVITE)
	s2 := ph.dial(ctx, g.UDP, "2001", mediaBody("127.0.0.1", rtp2.port, "", 0))
	c := pbx.get("2001")

	cid1, cid2 := s1.InviteRequest.CallID().Value(), s2.InviteRequest.CallID().Value()
	toTag, _ := s2.InviteResponse.To().Params.Get("tag")
	fromTag, _ := s2.InviteRequest.From().Params.Get("tag")
	rep := url.QueryEscape(cid2 + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	res := inDialog(ctx, t, s1, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com?Replaces="+rep+">"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	ph.expectNotify(cid1, "SIP/2.0 100 Trying")
	ph.expectNotify(cid1, "SIP/2.0 200 OK")
	ph.expectBye(cid1, cid2)
	bothWays(t, b, c)
	g.waitLog(`msg="call transferred"`, 5*time.Second)
}

// TestReferErrors: REFER to a number without a route gets 202 and a final
// NOTIFY 404, and the call goes on; Replaces naming no dialog gets a
// NOTIFY 481; an INVITE with Replaces for an unknown dialog gets 481
// (RFC 3891 §3).
func TestReferErrors(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2005", mediaBody("127.0.0.1", rtp.port, "", 0))
	cid := s.InviteRequest.CallID().Value()
	res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:9999@example.com>"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d", res.StatusCode)
	}
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	ph.expectNotify(cid, "SIP/2.0 404 Not Found")
	rep := url.QueryEscape("nosuchcall;to-tag=1;from-tag=2")
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com?Replaces="+rep+">")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d", res.StatusCode)
	}
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	ph.expectNotify(cid, "SIP/2.0 481 Call/Transaction Does Not Exist")
	// Refer-Sub: false (RFC 4488): 202 with Refer-Sub: false, no NOTIFY.
	res = inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:9999@example.com>"), sip.NewHeader("Refer-Sub", "false"))
	if h := res.GetHeader("Refer-Sub"); res.StatusCode != 202 || h == nil || h.Value() != "false" {
		t.Fatalf("REFER with Refer-Sub: false: %d %v", res.StatusCode, h)
	}
	select {
	case n := <-ph.notifies:
		t.Errorf("NOTIFY despite Refer-Sub: false:\n%s", n)
	case <-time.After(500 * time.Millisecond):
	}
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf", "1"); res.StatusCode != 200 {
		t.Errorf("call gone after failed transfers: INFO %d", res.StatusCode)
	}

	raw := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	repl := "Replaces: nosuchcall;to-tag=1;from-tag=2"
	rr := raw.roundTrip(raw.request("INVITE", "sip:2000@example.com", "u1000", repl))
	if rr.Status != 407 {
		t.Fatalf("INVITE with Replaces without credentials: %d, want 407", rr.Status)
	}
	auth, err := digestAuthorization(rr.Headers["proxy-authenticate"], "INVITE", "sip:2000@example.com", "u1000", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if res := raw.roundTrip(raw.request("INVITE", "sip:2000@example.com", "u1000", repl, "Proxy-Authorization: "+auth)); res.Status != 481 {
		t.Errorf("INVITE with Replaces for no dialog: %d, want 481", res.Status)
	}
	_ = s.Bye(ctx)
}

// TestBlindTransferToLocalUser: the transfer target is a registered user
// (extension 1001), reached like any dialled number: its device rings and
// answers, the phone gets NOTIFY 200 and BYE, and the PBX call stays up.
func TestBlindTransferToLocalUser(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, localUsers+strings.TrimPrefix(dialogConfig(pbx.agent.addr), "registrar: {algorithms: [MD5, SHA-256]}\n"))
	dev := newRawPhone(t, g, "u1001", phoneMode{answer: 100 * time.Millisecond})
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
	if from := inv.get("From"); !strings.Contains(from, "sip:2000@") {
		t.Errorf("device INVITE From %q, want the transferee 2000", from)
	}
	dev.wait(5*time.Second, "ACK", isMethod("ACK"))
	if pbx.next(sip.INVITE) == nil { // the transferee re-INVITEd towards the device
		t.Fatal("no re-INVITE to the PBX")
	}
	g.waitLog(`msg="call transferred"`, 5*time.Second)
}

// TestInviteWithReplaces: a second device of u1000 takes over the first
// one's call to the PBX with an INVITE carrying Replaces (RFC 3891 §3, as
// in a call pick-up or a phone-driven attended transfer): the PBX is
// re-INVITEd towards the new device, the first one gets a BYE, and RTP
// flows between the PBX and the new device.
func TestInviteWithReplaces(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph1, ph2 := newTestPhone(t), newTestPhone(t)
	rtp1, rtp2 := newRTPPort(t, "127.0.0.1"), newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s1 := ph1.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp1.port, "", 0))
	fc := pbx.get("2000")
	toTag, _ := s1.InviteResponse.To().Params.Get("tag")
	fromTag, _ := s1.InviteRequest.From().Params.Get("tag")
	cid1 := s1.InviteRequest.CallID().Value()
	s2 := ph2.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp2.port, "", 0),
		sip.NewHeader("Replaces", cid1+";to-tag="+toTag+";from-tag="+fromTag))
	ph1.expectBye(cid1)
	if re := pbx.next(sip.INVITE); sdpAddr(t, string(re.Body())) != sdpAddr(t, fc.first) {
		t.Errorf("PBX re-INVITEd to %v, want the relay side it had (%v)", sdpAddr(t, string(re.Body())), sdpAddr(t, fc.first))
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp2, 0); n < 15 {
		t.Errorf("PBX→new device: %d/20 packets", n)
	}
	if n := flows(t, rtp2, sdpAddr(t, string(s2.InviteResponse.Body())), fc.rtp, 0); n < 15 {
		t.Errorf("new device→PBX: %d/20 packets", n)
	}
	g.waitLog(`msg="call leg replaced"`, 5*time.Second)
	_ = s2.Bye(ctx)
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

// TestBlindTransferFromPBX: the PBX side transfers the phone (REFER on
// the B leg) to extension 1001, a registered device: the gateway calls
// the device with the phone's media, re-INVITEs the phone, NOTIFYs the
// PBX and hangs up its 2000 leg. The PBX did not authenticate, so it may
// transfer only where it could call in without credentials (local users,
// refer_policy.go): its REFER to 2001, a number on the trunk, gets 403
// and nothing is dialled (TestReferFromTrunkRefused has the attacks).
func TestBlindTransferFromPBX(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, localUsers+strings.TrimPrefix(dialogConfig(pbx.agent.addr), "registrar: {algorithms: [MD5, SHA-256]}\n"))
	dev := newRawPhone(t, g, "u1001", phoneMode{answer: 100 * time.Millisecond})
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	b := pbx.get("2000")
	refer := func(to string) *sip.Response {
		r := sip.NewRequest(sip.REFER, b.dlg.InviteRequest.Contact().Address)
		r.AppendHeader(sip.NewHeader("Refer-To", "<sip:"+to+"@example.com>"))
		res, err := b.dlg.Do(ctx, fromAgent(pbx.agent.addr, r))
		if err != nil {
			t.Fatalf("REFER from the PBX to %s: %v", to, err)
		}
		return res
	}
	if res := refer("2001"); res.StatusCode != 403 {
		t.Fatalf("REFER from the PBX to 2001 (a trunk number): %d, want 403", res.StatusCode)
	}
	if res := refer("1001"); res.StatusCode != 202 {
		t.Fatalf("REFER from the PBX to 1001: %d, want 202", res.StatusCode)
	}
	var frags []string
	for len(frags) < 2 {
		n := pbx.next(sip.NOTIFY)
		frags = append(frags, strings.TrimSpace(string(n.Body())))
	}
	if frags[0] != "SIP/2.0 100 Trying" || frags[1] != "SIP/2.0 200 OK" {
		t.Errorf("PBX NOTIFYs %q", frags)
	}
	inv := dev.wait(5*time.Second, "INVITE", isMethod("INVITE"))
	if d := sdpDir(inv.Body); d != "" && d != "sendrecv" {
		t.Errorf("the device was offered %s, want sendrecv", d)
	}
	dev.wait(5*time.Second, "ACK", isMethod("ACK"))
	select {
	case r := <-ph.reinvites:
		if sdpDir(string(r.Body())) != "sendrecv" {
			t.Errorf("phone re-INVITEd with %s", sdpDir(string(r.Body())))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("phone not re-INVITEd towards 1001")
	}
	select {
	case user := <-pbx.byes:
		if user != "2000" {
			t.Errorf("BYE for %s, want 2000 (the transferor)", user)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the transferor's leg got no BYE")
	}
	pbx.mu.Lock()
	_, dialled := pbx.byTo["2001"]
	pbx.mu.Unlock()
	if dialled {
		t.Error("the refused REFER made the gateway call 2001")
	}
	g.waitLog(`msg="call transferred"`, 5*time.Second)
	_ = s.Bye(ctx)
	dev.wait(5*time.Second, "BYE", isMethod("BYE"))
}
