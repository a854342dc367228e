package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Transfers whose transferor hangs up at once (RFC 5589 §6, §7 basic
// flows: many phones send BYE right after the 202 or the NOTIFY 100). The
// BYE ends the transferor's leg only: the transferee hears the target's
// early media while it rings and is connected when it answers; when the
// target fails, the transferee gets a BYE with a Reason (RFC 3326). And a
// 481 to a NOTIFY ends the subscription, not the call (RFC 5057 §5.6).

// ringGate holds the PBX's call to user in ringing: a 183 with early
// media, then the test's verdict (0 answers, else the final status).
type ringGate struct {
	user    string
	early   chan *farCall
	verdict chan int
	// cancelled is closed when the INVITE's transaction ended while it
	// rang (a CANCEL: sipgo answers it and the INVITE 487 itself).
	cancelled chan struct{}
}

func newRingGate(user string) *ringGate {
	return &ringGate{user: user, early: make(chan *farCall, 1), verdict: make(chan int, 1), cancelled: make(chan struct{})}
}

func (g *ringGate) ring(fc *farCall, req *sip.Request) (int, string) {
	if req.Recipient.User != g.user {
		return 0, ""
	}
	body := answerFor(string(req.Body()), "127.0.0.2", fc.rtp.port)
	_ = fc.dlg.Respond(183, "Session Progress", []byte(body), sip.NewHeader("Content-Type", "application/sdp"))
	g.early <- fc
	deadline := time.After(20 * time.Second)
	for {
		select {
		case code := <-g.verdict:
			if code != 0 {
				return code, "Busy Here"
			}
			return 0, ""
		case <-deadline:
			return 408, "Request Timeout"
		case <-time.After(100 * time.Millisecond):
			// Still ringing? A provisional fails once the transaction ended.
			if err := fc.dlg.Respond(180, "Ringing", nil); err != nil {
				close(g.cancelled)
				return 487, "Request Terminated"
			}
		}
	}
}

// ringing waits for the target's call in early media.
func (g *ringGate) ringing(t *testing.T) *farCall {
	t.Helper()
	select {
	case fc := <-g.early:
		return fc
	case <-time.After(10 * time.Second):
		t.Fatalf("the transfer target %s did not ring", g.user)
		return nil
	}
}

// noBye fails when the phone got a BYE for callID within d.
func (p *testPhone) noBye(callID string, d time.Duration) {
	p.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case id := <-p.byes:
			if id == callID {
				p.t.Errorf("the phone got a BYE for %s, which it had hung up itself", callID)
				return
			}
		case <-timeout:
			return
		}
	}
}

// TestBlindTransferTransferorHangsUp: the phone REFERs 2000 to 2001 and
// sends BYE as soon as it has the 202. The gateway answers the BYE and
// goes on: 2001 rings with early media that 2000 hears through the relay,
// answers, 2000 is re-INVITEd towards it and both have RTP; the phone
// still gets the NOTIFYs of its subscription and no BYE.
func TestBlindTransferTransferorHangsUp(t *testing.T) {
	gate := newRingGate("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ring })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	b := pbx.get("2000")
	cid := s.InviteRequest.CallID().Value()
	res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	c := gate.ringing(t)
	if n := flows(t, c.rtp, c.relayAddr(), b.rtp, 0); n < 15 {
		t.Errorf("ringback: %d/20 packets of 2001's early media reached 2000\n%s", n, g.log.String())
	}
	gate.verdict <- 0
	if resume := pbx.next(sip.INVITE); resume == nil {
		t.Fatal("2000 not re-INVITEd towards 2001")
	}
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	ph.expectNotify(cid, "SIP/2.0 200 OK")
	bothWays(t, b, c)
	g.waitLog(`msg="call transferred"`, 5*time.Second)
	ph.noBye(cid, 300*time.Millisecond)
	if err := agentBye(ctx, c.dlg, pbx.agent.addr); err != nil {
		t.Fatalf("BYE from 2001: %v", err)
	}
	select {
	case user := <-pbx.byes:
		if user != "2000" {
			t.Errorf("BYE for %s, want 2000", user)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("2000 got no BYE when 2001 hung up")
	}
}

// TestBlindTransferTransferorHangsUpTargetBusy: as above, but 2001 is
// busy: 2000, alone on the call, gets a BYE with Reason SIP;cause=486, and
// the phone's subscription a final NOTIFY 486.
func TestBlindTransferTransferorHangsUpTargetBusy(t *testing.T) {
	gate := newRingGate("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ring })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	pbx.get("2000")
	cid := s.InviteRequest.CallID().Value()
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	gate.ringing(t)
	gate.verdict <- 486
	select {
	case user := <-pbx.byes:
		if user != "2000" {
			t.Errorf("BYE for %s, want 2000 (the transferee)", user)
		}
		if r := <-pbx.reasons; !strings.Contains(r, "SIP;cause=486") {
			t.Errorf("the transferee's BYE has Reason %q, want SIP;cause=486 (RFC 3326)", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the transferee got no BYE after the target failed\n%s", g.log.String())
	}
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	ph.expectNotify(cid, "SIP/2.0 486 Busy Here")
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

// TestAttendedTransferTransferorHangsUp: the phone talks to 2000 and to
// 2001, REFERs 2000 to 2001 with Replaces and hangs up its call with 2000
// right after the 202 (RFC 5589 §7). 2000 and 2001 are joined; the phone
// gets the NOTIFYs and a BYE for its call with 2001 only.
func TestAttendedTransferTransferorHangsUp(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp1, rtp2 := newRTPPort(t, "127.0.0.1"), newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s1 := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp1.port, "", 0))
	b := pbx.get("2000")
	s2 := ph.dial(ctx, g.UDP, "2001", mediaBody("127.0.0.1", rtp2.port, "", 0))
	c := pbx.get("2001")
	cid1, cid2 := s1.InviteRequest.CallID().Value(), s2.InviteRequest.CallID().Value()
	toTag, _ := s2.InviteResponse.To().Params.Get("tag")
	fromTag, _ := s2.InviteRequest.From().Params.Get("tag")
	rep := url.QueryEscape(cid2 + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	if res := inDialog(ctx, t, s1, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com?Replaces="+rep+">")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	if err := s1.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	ph.expectNotify(cid1, "SIP/2.0 100 Trying")
	ph.expectNotify(cid1, "SIP/2.0 200 OK")
	ph.expectBye(cid2)
	bothWays(t, b, c)
	g.waitLog(`msg="call transferred"`, 5*time.Second)
	ph.noBye(cid1, 300*time.Millisecond)
}

// TestNotify481KeepsCall: a 481 to a NOTIFY ends the subscription usage,
// not the call (RFC 5057 §5.6). The phone's NOTIFY passed to the PBX gets
// 481 back and the call goes on; a transferor that answers the NOTIFY 100
// of its REFER with 481 gets no more NOTIFYs, and the transfer completes.
func TestNotify481KeepsCall(t *testing.T) {
	pbx := newFarEnd(t, func(f *farEnd) { f.notifyStatus = 481 })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	b := pbx.get("2000")
	res := inDialog(ctx, t, s, sip.NOTIFY, "application/dialog-info+xml", "<dialog-info/>",
		sip.NewHeader("Event", "dialog"), sip.NewHeader("Subscription-State", "active;expires=60"))
	if res.StatusCode != 481 {
		t.Errorf("NOTIFY the PBX answered 481: %d, want the 481 relayed", res.StatusCode)
	}
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf", "1"); res.StatusCode != 200 {
		t.Fatalf("call gone after a NOTIFY got 481: INFO %d\n%s", res.StatusCode, g.log.String())
	}

	ph.notifyStatus.Store(481)
	cid := s.InviteRequest.CallID().Value()
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	c := pbx.get("2001")
	ph.expectBye(cid)
	select {
	case n := <-ph.notifies:
		t.Errorf("NOTIFY after the transferor answered 481:\n%s", n)
	default:
	}
	bothWays(t, b, c)
}

// TestBlindTransferTransferorHangsUpSIPp: a SIPp phone (xfer_uac_bye.xml)
// calls 2000 on the PBX, REFERs it to 2001 and sends BYE as soon as the
// NOTIFY 100 is in, while 2001 rings; it checks that its BYE is answered
// and that the NOTIFYs go on to a final sipfrag 200 OK. 2000 and 2001 end
// up talking.
func TestBlindTransferTransferorHangsUpSIPp(t *testing.T) {
	gate := newRingGate("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ring })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	stop, answered := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-answered }()
	go func() {
		// 2001 answers once the transferor's BYE was taken.
		defer close(answered)
		select {
		case <-gate.early:
		case <-stop:
			return
		}
		for !strings.Contains(g.log.String(), "transferor hung up") {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		gate.verdict <- 0
	}()
	if out, err := runUAC(t, "xfer_uac_bye.xml", g.UDP, "2000", 1); err != nil {
		t.Fatalf("sipp transferor: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}
	b, c := pbx.get("2000"), pbx.get("2001")
	bothWays(t, b, c)
	g.waitLog(`msg="call transferred"`, 5*time.Second)
}

// TestBlindTransferTransfereeHangsUpWhileRinging: the transferor hung up
// after the 202 and the transferee (2000) hangs up too while 2001 rings:
// its BYE is answered, the INVITE to 2001 is CANCELled, the call ends.
func TestBlindTransferTransfereeHangsUpWhileRinging(t *testing.T) {
	gate := newRingGate("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ring })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	b := pbx.get("2000")
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	gate.ringing(t)
	if err := agentBye(ctx, b.dlg, pbx.agent.addr); err != nil {
		t.Fatalf("the transferee's BYE while the target rings: %v", err)
	}
	select {
	case <-gate.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatalf("the INVITE to 2001 was not cancelled\n%s", g.log.String())
	}
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

// TestAttendedTransferTransferorHangsUpBoth: the transferor of an attended
// transfer BYEs both of its calls right after the 202, the one the
// Replaces names included: each BYE ends its own leg only, 2000 and 2001
// are joined and talk, the phone gets NOTIFY 200.
func TestAttendedTransferTransferorHangsUpBoth(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp1, rtp2 := newRTPPort(t, "127.0.0.1"), newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s1 := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp1.port, "", 0))
	b := pbx.get("2000")
	s2 := ph.dial(ctx, g.UDP, "2001", mediaBody("127.0.0.1", rtp2.port, "", 0))
	c := pbx.get("2001")
	cid1 := s1.InviteRequest.CallID().Value()
	toTag, _ := s2.InviteResponse.To().Params.Get("tag")
	fromTag, _ := s2.InviteRequest.From().Params.Get("tag")
	rep := url.QueryEscape(s2.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag)
	if res := inDialog(ctx, t, s1, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com?Replaces="+rep+">")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s2.Bye(ctx) }() // may cross the gateway's own BYE
	if err := s1.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	<-done
	ph.expectNotify(cid1, "SIP/2.0 100 Trying")
	ph.expectNotify(cid1, "SIP/2.0 200 OK")
	bothWays(t, b, c)
	g.waitLog(`msg="call transferred"`, 5*time.Second)
	select {
	case user := <-pbx.byes:
		t.Errorf("the PBX got a BYE for %s: the transfer's parties must stay", user)
	default:
	}
}
