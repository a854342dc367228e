package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028) per leg, with calls.session_expires and
// calls.min_se from the config.

// TestSessionTimerInDialogTooSmall: a re-INVITE or UPDATE inside the
// dialog asking for less than calls.min_se gets 422 with our Min-SE
// (RFC 4028 §9), the session left as it was; at min_se it is taken.
func TestSessionTimerInDialogTooSmall(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr)+"calls: {session_expires: 600s, min_se: 120s}\n")
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2005", mediaBody("127.0.0.1", rtp.port, "", 0),
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "600;refresher=uac"))
	if se := s.InviteResponse.GetHeader("Session-Expires"); se == nil || se.Value() != "600;refresher=uac" {
		t.Errorf("2xx to the phone: Session-Expires %v, want 600;refresher=uac", se)
	}
	pbx.get("2005")
	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "", 0), 2),
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "100;refresher=uac"))
	if res.StatusCode != 422 || res.GetHeader("Min-SE") == nil || res.GetHeader("Min-SE").Value() != "120" {
		t.Errorf("re-INVITE with Session-Expires 100: %d %s, Min-SE %v; want 422 with Min-SE 120\n%s",
			res.StatusCode, res.Reason, res.GetHeader("Min-SE"), g.log.String())
	}
	res = inDialog(ctx, t, s, sip.UPDATE, "", "",
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "90;refresher=uac"))
	if res.StatusCode != 422 || res.GetHeader("Min-SE") == nil || res.GetHeader("Min-SE").Value() != "120" {
		t.Errorf("UPDATE with Session-Expires 90: %d %s, Min-SE %v; want 422 with Min-SE 120", res.StatusCode, res.Reason, res.GetHeader("Min-SE"))
	}
	res = inDialog(ctx, t, s, sip.UPDATE, "", "",
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "120;refresher=uac"))
	if se := res.GetHeader("Session-Expires"); res.StatusCode != 200 || se == nil || se.Value() != "120;refresher=uac" {
		t.Errorf("UPDATE with Session-Expires 120: %d, Session-Expires %v; want 200 with 120;refresher=uac", res.StatusCode, se)
	}
	_ = s.Bye(ctx)
}

// TestSessionTimerCalleeWithout: the callee's 2xx has no Session-Expires
// (a PBX without session timers): there is no session expiration on its
// leg (RFC 4028 §7.2), so the gateway sends it no refresh however long
// the call lasts; the caller's leg keeps the timer agreed with it. With
// calls.session_expires 90s a refresh would be due after 45 s.
func TestSessionTimerCalleeWithout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 50 s for refreshes that must not come")
	}
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr)+"calls: {session_expires: 90s, min_se: 90s}\n")
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2006", mediaBody("127.0.0.1", rtp.port, "", 0),
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "90;refresher=uac"))
	if se := s.InviteResponse.GetHeader("Session-Expires"); se == nil || se.Value() != "90;refresher=uac" {
		t.Errorf("2xx to the phone: Session-Expires %v, want 90;refresher=uac", se)
	}
	fc := pbx.get("2006")
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { // media keeps flowing: the media timeout stays out of it
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
	// The phone is the refresher on its leg: it refreshes at half the
	// interval, as a phone would; the refresh is not relayed to the PBX.
	refresh := time.NewTimer(40 * time.Second)
	defer refresh.Stop()
	quiet := time.NewTimer(50 * time.Second)
	defer quiet.Stop()
	for done := false; !done; {
		select {
		case r := <-pbx.reqs:
			t.Fatalf("PBX without session timers got %s %s\n%s", r.Method, r.GetHeader("Session-Expires"), g.log.String())
		case <-refresh.C:
			res := inDialog(ctx, t, s, sip.UPDATE, "", "",
				sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "90;refresher=uac"))
			if res.StatusCode != 200 {
				t.Errorf("phone's refresh: %d %s", res.StatusCode, res.Reason)
			}
		case <-ph.byes:
			t.Fatalf("call ended\n%s", g.log.String())
		case <-quiet.C:
			done = true
		}
	}
	select {
	case <-ph.reinvites:
		t.Error("the phone, refresher on its leg, got a refresh from us")
	default:
	}
	if err := s.Bye(ctx); err != nil {
		t.Errorf("BYE: %v", err)
	}
	if user := <-pbx.byes; user != "2006" {
		t.Errorf("BYE for %s", user)
	}
}
