package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Established-dialog flows through the gateway (issue 5): hold and resume,
// codec change, UPDATE, INFO and RFC 4733 DTMF, glare, in-dialog checks,
// session timer expiry. A sipgo phone calls a sipgo PBX; both send real
// RTP through the relay.

func TestHoldResume(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offer := mediaBody("127.0.0.1", rtp.port, "", 0, 8, 101)
	s := ph.dial(ctx, g.UDP, "2000", offer)
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	fc := pbx.get("2000")

	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
		t.Fatalf("before hold: %d/20 packets PBX→phone", n)
	}
	if n := flows(t, rtp, toPhone, fc.rtp, 0); n < 15 {
		t.Fatalf("before hold: %d/20 packets phone→PBX", n)
	}

	start := time.Now()
	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendonly", 0, 8, 101), 2))
	if res.StatusCode != 200 {
		t.Fatalf("hold re-INVITE: %d %s\n%s", res.StatusCode, res.Reason, g.log.String())
	}
	t.Logf("hold re-INVITE through the gateway and the PBX: %v", time.Since(start)) // a figure, not asserted
	if d := sdpDir(string(res.Body())); d != "recvonly" {
		t.Errorf("phone got %s for its sendonly, want recvonly\n%s", d, res.Body())
	}
	if d := sdpDir(string(pbx.next(sip.INVITE).Body())); d != "sendonly" {
		t.Errorf("PBX got %s, want sendonly (the hold as the phone asked)", d)
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n != 0 {
		t.Errorf("on hold: %d packets PBX→phone, want 0", n)
	}
	if n := flows(t, rtp, toPhone, fc.rtp, 0); n < 15 {
		t.Errorf("on hold: %d/20 packets phone→PBX (sendonly still sends)", n)
	}

	res = inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendrecv", 0, 8, 101), 3))
	if res.StatusCode != 200 || sdpDir(string(res.Body())) != "sendrecv" {
		t.Fatalf("resume: %d %s\n%s", res.StatusCode, res.Reason, res.Body())
	}
	pbx.next(sip.INVITE)
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
		t.Errorf("resumed: %d/20 packets PBX→phone", n)
	}

	// Codec change: PCMA only, end to end.
	res = inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "", 8), 4))
	if res.StatusCode != 200 {
		t.Fatalf("codec change: %d %s", res.StatusCode, res.Reason)
	}
	if f := sdpFormats(string(pbx.next(sip.INVITE).Body())); strings.Join(f, " ") != "8" {
		t.Errorf("PBX offered %v, want [8]", f)
	}
	if f := sdpFormats(string(res.Body())); strings.Join(f, " ") != "8" {
		t.Errorf("phone answered %v, want [8]", f)
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 8); n < 15 {
		t.Errorf("PCMA: %d/20 packets PBX→phone", n)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

func TestUpdateAndDTMF(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2001", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	fc := pbx.get("2001")
	if !strings.Contains(fc.first, "telephone-event/8000") {
		t.Errorf("PBX offer lacks telephone-event:\n%s", fc.first)
	}
	if !strings.Contains(string(s.InviteResponse.Body()), "telephone-event/8000") {
		t.Errorf("phone's answer lacks telephone-event:\n%s", s.InviteResponse.Body())
	}
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	if n := flows(t, rtp, toPhone, fc.rtp, 101); n < 15 {
		t.Errorf("RFC 4733: %d/20 telephone-event packets phone→PBX", n)
	}

	// INFO DTMF towards a PBX that negotiated telephone-event arrives as
	// RFC 4733 events in its RTP, not as INFO (webrtc_dtmf_test.go has
	// the details; INFO passes on when there is no telephone-event).
	for _, tt := range []struct {
		ctype, body string
		code        byte
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", 5},
		{"application/dtmf", "7", 7},
	} {
		evs := make(chan []rtpEvent, 1)
		go func() { evs <- fc.rtp.events(101, 1500*time.Millisecond) }()
		res := inDialog(ctx, t, s, sip.INFO, tt.ctype, tt.body)
		if res.StatusCode != 200 {
			t.Fatalf("INFO %s: %d %s", tt.ctype, res.StatusCode, res.Reason)
		}
		if got := <-evs; endsOf(got, tt.code) != 3 {
			t.Errorf("INFO %s: PBX got RFC 4733 %+v, want event %d with 3 end packets", tt.ctype, got, tt.code)
		}
	}
	select {
	case r := <-pbx.reqs:
		if r.Method == sip.INFO {
			t.Errorf("PBX got the INFO too:\n%s", r)
		}
	default:
	}

	rtp2 := newRTPPort(t, "127.0.0.1")
	res := inDialog(ctx, t, s, sip.UPDATE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp2.port, "", 0, 101), 2))
	if res.StatusCode != 200 || len(res.Body()) == 0 {
		t.Fatalf("UPDATE: %d %s\n%s", res.StatusCode, res.Reason, g.log.String())
	}
	if got := pbx.next(sip.UPDATE); len(got.Body()) == 0 {
		t.Error("PBX UPDATE without SDP")
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp2, 0); n < 15 {
		t.Errorf("after UPDATE: %d/20 packets PBX→phone's new port", n)
	}
	res = inDialog(ctx, t, s, sip.UPDATE, "", "")
	if res.StatusCode != 200 {
		t.Errorf("refresh UPDATE without SDP: %d %s", res.StatusCode, res.Reason)
	}
	_ = s.Bye(ctx)
}

func TestGlare(t *testing.T) {
	glare := make(chan int, 1)
	pbx := newFarEnd(t, func(f *farEnd) {
		f.onReinvite = func(fc *farCall, req *sip.Request) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			inv := sip.NewRequest(sip.INVITE, fc.dlg.InviteRequest.Contact().Address)
			inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			inv.SetBody([]byte(mediaBody("127.0.0.2", fc.rtp.port, "sendonly", 0)))
			res, err := fc.dlg.Do(ctx, fromAgent(f.agent.addr, inv))
			if err != nil {
				glare <- 0
				return
			}
			glare <- res.StatusCode
		}
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2002", mediaBody("127.0.0.1", rtp.port, "", 0))
	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendonly", 0), 2))
	if res.StatusCode != 200 {
		t.Fatalf("phone re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	select {
	case code := <-glare:
		if code != 491 {
			t.Fatalf("PBX re-INVITE during the gateway's: %d, want 491", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PBX never sent its re-INVITE")
	}
	_ = s.Bye(ctx)
}

func TestInDialogChecks(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2003", mediaBody("127.0.0.1", rtp.port, "", 0))
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf", "1"); res.StatusCode != 200 {
		t.Fatalf("INFO: %d", res.StatusCode)
	}
	raw := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	toTag, _ := s.InviteResponse.To().Params.Get("tag")
	fromTag, _ := s.InviteRequest.From().Params.Get("tag")
	inDlg := func(callID, tag string, cseq int) string {
		return fmt.Sprintf("INFO sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:u1000@example.com>;tag=%s\r\nTo: <sip:2003@example.com>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d INFO\r\n"+
			"Content-Type: application/dtmf\r\nContent-Length: 1\r\n\r\n1",
			g.UDP, raw.conn.LocalAddr(), randHex(8), fromTag, tag, callID, cseq)
	}
	if res := raw.roundTrip(inDlg("no-such-call", "x", 5)); res.Status != 481 {
		t.Errorf("unknown dialog: %d, want 481", res.Status)
	}
	if res := raw.roundTrip(strings.Replace(strings.Replace(inDlg("no-such-call", "x", 6), "INFO", "OPTIONS", -1),
		"Content-Type: application/dtmf\r\nContent-Length: 1\r\n\r\n1", "Content-Length: 0\r\n\r\n", 1)); res.Status != 481 {
		t.Errorf("OPTIONS for an unknown dialog: %d, want 481", res.Status)
	}
	if res := raw.roundTrip(raw.request("OPTIONS", "sip:example.com", "u1000")); res.Status != 200 || res.get("Allow") == "" {
		t.Errorf("OPTIONS outside a dialog: %d, Allow %q", res.Status, res.get("Allow"))
	}
	if res := raw.roundTrip(inDlg(s.InviteRequest.CallID().Value(), toTag, 1)); res.Status != 500 {
		t.Errorf("CSeq out of order: %d, want 500", res.Status)
	}
	// OPTIONS inside the dialog: 200 (RFC 3261 §11.2).
	if res := inDialog(ctx, t, s, sip.OPTIONS, "", ""); res.StatusCode != 200 {
		t.Errorf("in-dialog OPTIONS: %d, want 200", res.StatusCode)
	}
	// Session-Expires below our Min-SE: 422 with Min-SE (RFC 4028 §9).
	res := raw.roundTrip(raw.request("INVITE", "sip:2003@example.com", "u1000", "Supported: timer", "Session-Expires: 30"))
	if res.Status != 422 || res.get("Min-SE") != "90" {
		t.Errorf("small Session-Expires: %d Min-SE %q, want 422 and 90", res.Status, res.get("Min-SE"))
	}
	_ = s.Bye(ctx)
}

func TestSessionTimerExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 60 s for a session to expire")
	}
	pbx := newFarEnd(t, func(f *farEnd) {
		f.answerHeaders = []sip.Header{sip.NewHeader("Session-Expires", "90;refresher=uas"), sip.NewHeader("Require", "timer")}
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2004", mediaBody("127.0.0.1", rtp.port, "", 0),
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "90;refresher=uas"))
	if se := s.InviteResponse.GetHeader("Session-Expires"); se == nil || se.Value() != "90;refresher=uas" {
		t.Errorf("2xx to the phone: Session-Expires %v, want 90;refresher=uas", se)
	}
	if rq := s.InviteResponse.GetHeader("Require"); rq == nil || rq.Value() != "timer" {
		t.Errorf("2xx to the phone: Require %v, want timer", rq)
	}
	fc := pbx.get("2004")
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	// Keep media flowing so the media timeout is not what ends the call.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		pkt := make([]byte, 172)
		pkt[0] = 0x80
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				_, _ = fc.rtp.conn.WriteToUDPAddrPort(pkt, fc.relayAddr())
				_, _ = rtp.conn.WriteToUDPAddrPort(pkt, toPhone)
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	select {
	case r := <-ph.reinvites:
		if se := r.GetHeader("Session-Expires"); se == nil || se.Value() != "90;refresher=uac" {
			t.Errorf("refresh re-INVITE Session-Expires %v, want 90;refresher=uac", se)
		}
		if len(r.Body()) == 0 {
			t.Error("refresh re-INVITE without SDP")
		}
	case <-time.After(55 * time.Second):
		t.Fatalf("no session refresh towards the phone within 55 s\n%s", g.log.String())
	}
	select {
	case user := <-pbx.byes:
		if user != "2004" {
			t.Fatalf("BYE for %s", user)
		}
	case <-time.After(75 * time.Second):
		t.Fatalf("no BYE to the PBX after its session expired\n%s", g.log.String())
	}
	select {
	case <-ph.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE to the phone")
	}
	g.waitLog(`msg="session expired"`, 5*time.Second)
}

func TestHoldFromPBX(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2006", mediaBody("127.0.0.1", rtp.port, "", 0))
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	fc := pbx.get("2006")
	inv := sip.NewRequest(sip.INVITE, fc.dlg.InviteRequest.Contact().Address)
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody([]byte(mediaBody("127.0.0.2", fc.rtp.port, "sendonly", 0)))
	res, err := fc.dlg.Do(ctx, fromAgent(pbx.agent.addr, inv))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || sdpDir(string(res.Body())) != "recvonly" {
		t.Fatalf("PBX hold: %d %s, want 200 recvonly\n%s", res.StatusCode, sdpDir(string(res.Body())), g.log.String())
	}
	if err := fc.dlg.WriteRequest(fromAgent(pbx.agent.addr, sip.NewRequest(sip.ACK, inv.Recipient))); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ph.reinvites:
		if d := sdpDir(string(r.Body())); d != "sendonly" {
			t.Errorf("phone got %s, want sendonly", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("phone got no re-INVITE")
	}
	if n := flows(t, rtp, toPhone, fc.rtp, 0); n != 0 {
		t.Errorf("held by the PBX: %d packets phone→PBX, want 0", n)
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
		t.Errorf("held by the PBX: %d/20 packets PBX→phone (music on hold)", n)
	}
	_ = s.Bye(ctx)
}

func TestHoldSIPp(t *testing.T) {
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas_hold.xml", uasPort)
	g := startGateway(t, callsConfig(uasPort))
	if out, err := runUAC(t, "call_uac_hold.xml", g.UDP, "2000", 3); err != nil {
		t.Fatalf("sipp uac: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}
}

func TestReinviteWithoutSDP(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp, rtp2 := newRTPPort(t, "127.0.0.1"), newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2007", mediaBody("127.0.0.1", rtp.port, "", 0))
	fc := pbx.get("2007")
	target := s.InviteResponse.Contact().Address
	res, err := s.Do(ctx, sip.NewRequest(sip.INVITE, target))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(res.Body()) == 0 {
		t.Fatalf("re-INVITE without SDP: %d, body %q", res.StatusCode, res.Body())
	}
	ack := sip.NewRequest(sip.ACK, target)
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody([]byte(answerFor(string(res.Body()), "127.0.0.1", rtp2.port)))
	if err := s.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the ACK is not answered
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp2, 0); n < 15 {
		t.Errorf("after the answer in the ACK: %d/20 packets to the new port\n%s", n, g.log.String())
	}
	_ = s.Bye(ctx)
}

func TestSessionRefreshFails(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 45 s for a session refresh")
	}
	pbx := newFarEnd(t, func(f *farEnd) {
		f.answerHeaders = []sip.Header{sip.NewHeader("Session-Expires", "90;refresher=uac"), sip.NewHeader("Require", "timer")}
		f.refreshStatus = 481
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2008", mediaBody("127.0.0.1", rtp.port, "", 0))
	fc := pbx.get("2008")
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { // media keeps flowing: the media timeout is not the cause
		defer close(stopped)
		pkt := make([]byte, 172)
		pkt[0] = 0x80
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				_, _ = fc.rtp.conn.WriteToUDPAddrPort(pkt, fc.relayAddr())
				_, _ = rtp.conn.WriteToUDPAddrPort(pkt, toPhone)
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	up := pbx.next2(sip.UPDATE, 55*time.Second)
	if se := up.GetHeader("Session-Expires"); se == nil || se.Value() != "90;refresher=uac" {
		t.Errorf("refresh UPDATE Session-Expires %v, want 90;refresher=uac", se)
	}
	select {
	case <-ph.byes:
	case <-time.After(5 * time.Second):
		t.Fatalf("the phone got no BYE after the refresh failed\n%s", g.log.String())
	}
	g.waitLog(`msg="session refresh failed"`, 5*time.Second)
}
