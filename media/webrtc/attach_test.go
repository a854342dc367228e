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

// TestAttachedToRelay: a leg attached to its relay side (the relay hook)
// bridges a browser and a phone through a real relay session with no
// packet on the leg's own socket (its socket's peer address leads
// nowhere): the relay counts the browser's packets
// as its A side's, and the phone hears them from the relay's B side.
func TestAttachedToRelay(t *testing.T) {
	// a range of its own (the relay skips ports others hold)
	rl, err := relay.New(relay.Config{ListenIP: loopback, PortMin: 56000, PortMax: 56999, MediaTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	sess, err := rl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
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
	defer leg.Close()
	sd, err := sdp.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		t.Fatal(err)
	}
	sess.A().SetRemote(st.Remote()) // what the B2BUA's offer() does
	p := newPhone(t)
	sess.B().SetRemote(relay.Remote{RTP: p.addr()})
	ans, pt, _ := plainAnswer(t, plain, sess.A().LocalAddr(), "PCMU")
	// a socket address that leads nowhere: only the in-process path works
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
		return rx >= 100 && p.count(pt) >= 100
	})
	a, bs := sess.Stats()
	st2 := leg.Stats()
	t.Logf("relay A %d accepted, %d forwarded; B %d accepted, %d forwarded; leg %+v", a.Packets, a.Forwarded, bs.Packets, bs.Forwarded, st2)
	if a.Packets < 100 || a.Strangers != 0 || bs.Forwarded < 100 {
		t.Errorf("relay counters A %+v B %+v", a, bs)
	}
	p.mu.Lock()
	for src := range p.from {
		if src != sess.B().LocalAddr() {
			t.Errorf("phone got media from %v, not the relay's B side %v", src, sess.B().LocalAddr())
		}
	}
	p.mu.Unlock()
	if st2.Dropped != 0 {
		t.Errorf("leg dropped %d packets: something reached its socket", st2.Dropped)
	}
	fastPath(t, leg)
	// the fast path's packets towards the phone left in the reader's
	// batches (relay.InputBatch), not one sendto each
	if c := e.RelayBatchCounters(); c.Sent < 100 || c.Sent < uint64(a.Forwarded)*9/10 {
		t.Errorf("batch counters %+v: the relay forwarded %d packets of the browser", c, a.Forwarded)
	}
	reports(t, b, leg)
}

// reports checks the fast path's RTCP towards the browser (RFC 3550
// §6.4): within a report interval and a half the browser has a sender
// report about the stream it receives, whose counts are the leg's, and a
// report block about its own stream: no loss, its highest sequence number.
func reports(t *testing.T, b *webrtctest.Browser, leg *webrtc.Leg) {
	t.Helper()
	eventually(t, 15*time.Second, "a sender report with a block about the browser's stream", func() bool {
		r := b.RTCP()
		return r.SenderReports > 0 && r.Blocks > 0
	})
	r := b.RTCP()
	sent, rx, _ := b.Counts()
	st := leg.Stats()
	t.Logf("browser got %d SRs (last: %d packets, %d octets, RTP time %d) and %d blocks (last %+v); it sent %d, got %d; leg %+v", r.SenderReports, r.LastSR.PacketCount, r.LastSR.OctetCount, r.LastSR.RTPTime, r.Blocks, r.LastBlock, sent, rx, st)
	if n := uint64(r.LastSR.PacketCount); n == 0 || n > st.FastOut {
		t.Errorf("SR packet count %d, want 1..%d (what the fast path sent)", n, st.FastOut)
	}
	if r.LastSR.OctetCount != 160*r.LastSR.PacketCount {
		t.Errorf("SR octet count %d for %d packets of 160 bytes of payload", r.LastSR.OctetCount, r.LastSR.PacketCount)
	}
	if now := time.Now(); r.LastSR.NTPTime>>32 < uint64(now.Unix()+2208988800-30) || r.LastSR.NTPTime>>32 > uint64(now.Unix()+2208988800) {
		t.Errorf("SR NTP time %d s is not now", r.LastSR.NTPTime>>32)
	}
	if r.LastBlock.TotalLost != 0 || r.LastBlock.FractionLost != 0 {
		t.Errorf("block reports loss (%d, %d/256) on loopback", r.LastBlock.TotalLost, r.LastBlock.FractionLost)
	}
	// the browser's stream starts at sequence number 1
	if seq := uint64(r.LastBlock.LastSequenceNumber); seq == 0 || seq > sent {
		t.Errorf("block's highest sequence number %d, the browser sent %d", seq, sent)
	}
}
