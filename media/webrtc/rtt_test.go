package webrtc_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc"
	"github.com/switchboard-gw/switchboard/media/webrtc/webrtctest"
)

// attachedCall sets up a browser ↔ relay ↔ phone call with the leg
// attached to its relay side (as the B2BUA does), audio flowing both ways.
func attachedCall(t *testing.T) (*webrtctest.Browser, *webrtc.Leg) {
	t.Helper()
	// a range of its own (the relay skips ports others hold)
	rl, err := relay.New(relay.Config{ListenIP: loopback, PortMin: 57000, PortMax: 57999, MediaTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rl.Close() })
	sess, err := rl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	e := newEngine(t, 10*time.Second)
	b := newBrowser(t)
	offer, err := b.Offer()
	if err != nil {
		t.Fatal(err)
	}
	leg, plain, err := e.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = leg.Close() })
	sd, err := sdp.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		t.Fatal(err)
	}
	sess.A().SetRemote(st.Remote())
	p := newPhone(t)
	sess.B().SetRemote(relay.Remote{RTP: p.addr()})
	ans, pt, _ := plainAnswer(t, plain, sess.A().LocalAddr(), "PCMU")
	wans, err := leg.Answer(ans, netip.AddrPortFrom(loopback, 9))
	if err != nil {
		t.Fatal(err)
	}
	leg.Attach(sess.A())
	if err := b.Accept(wans); err != nil {
		t.Fatal(err)
	}
	b.Stream(false)
	p.stream(sess.B().LocalAddr(), pt, 0)
	eventually(t, 15*time.Second, "audio both ways through the relay", func() bool {
		_, rx, _ := b.Counts()
		return rx >= 50 && p.count(pt) >= 50
	})
	return b, leg
}

// TestRoundTripTime: a browser's own reports (pion's report interceptors,
// as a browser sends them every second or so) reach the leg on the fast
// path (RFC 3550 §6.4.1): their blocks about the gateway's stream name its
// SRs, and the leg measures a positive, loopback-sized round trip; the
// gateway's report blocks about the browser's stream name the browser's
// SR (LSR) and the time since (DLSR), so the browser can measure its own.
// The arithmetic, stale and forged LSRs: rtt_internal_test.go.
func TestRoundTripTime(t *testing.T) {
	b, leg := attachedCall(t)
	eventually(t, 30*time.Second, "a round trip from the browser's reports", func() bool { return leg.Stats().RTTSamples > 0 })
	st := leg.Stats()
	t.Logf("round trip %v from %d report block(s) (%d RTCP packets from the browser on the fast path)", st.RTT, st.RTTSamples, st.Reports)
	// on loopback; the bound is against a wrong computation (a clock
	// read wrongly is off by seconds or years), not a timing
	if st.RTT <= 0 || st.RTT > time.Second {
		t.Errorf("round trip %v on loopback", st.RTT)
	}
	eventually(t, 30*time.Second, "a gateway block naming the browser's SR", func() bool {
		r := b.RTCP()
		return r.LastBlock.LastSenderReport != 0 && r.LastBlock.Delay != 0
	})
	r := b.RTCP()
	t.Logf("the gateway's block about the browser's stream: LSR %#x, DLSR %d/65536 s", r.LastBlock.LastSenderReport, r.LastBlock.Delay)
	if r.LastBlock.Delay > 10*65536 {
		t.Errorf("DLSR %d/65536 s: the browser reports every few seconds", r.LastBlock.Delay)
	}
}
