package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// mediaCallsView is GET /api/v1/media/calls as the tests read it.
type mediaCallsView struct {
	Calls []struct {
		ID   string `json:"id"`
		Legs []struct {
			Leg        string  `json:"leg"`
			Codec      string  `json:"codec"`
			PacketsIn  uint64  `json:"packets_in"`
			PacketsOut uint64  `json:"packets_out"`
			Lost       int64   `json:"lost"`
			JitterMS   float64 `json:"jitter_ms"`
			Local      string  `json:"local"`
			Latched    string  `json:"latched"`
			WebRTC     *struct {
				State       string `json:"state"`
				Since       string `json:"since"`
				FromBrowser uint64 `json:"from_browser"`
				ToBrowser   uint64 `json:"to_browser"`
			} `json:"webrtc"`
		} `json:"legs"`
	} `json:"calls"`
}

// TestAdminMediaWebRTC: a pion browser over WSS calls a UDP phone; while
// audio flows, GET /api/v1/media/calls shows the browser's leg with its
// ICE/DTLS state connected (since when) and the packets its WebRTC leg
// passed, and the phone's leg as a plain RTP leg with its packets and
// codec.
func TestAdminMediaWebRTC(t *testing.T) {
	g := startGateway(t, wrUsers)
	ph := newWRPhone(t, g, "u1001")
	br := newWRBrowser(t, g, "u1000")
	offer, err := br.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	c := br.invite("1001", string(offer))
	if c.final.Status != 200 {
		t.Fatalf("INVITE: %d\n%s", c.final.Status, c.final.Raw)
	}
	if err := br.pc.Accept([]byte(c.final.Body)); err != nil {
		t.Fatal(err)
	}
	br.pc.Stream(true)
	waitFor(t, 30*time.Second, "audio both ways", func() bool {
		_, rx, _ := br.pc.Counts()
		return rx >= 50 && ph.rtp.count(0) >= 50
	})
	var v mediaCallsView
	waitFor(t, 10*time.Second, "the call's media listed", func() bool {
		code, body := g.api("GET", "/api/v1/media/calls")
		if code != 200 {
			t.Fatalf("GET /api/v1/media/calls: %d %s", code, body)
		}
		v = mediaCallsView{}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return len(v.Calls) == 1 && len(v.Calls[0].Legs) == 2 && v.Calls[0].Legs[0].PacketsIn > 0 && v.Calls[0].Legs[1].PacketsIn > 0
	})
	a, b := v.Calls[0].Legs[0], v.Calls[0].Legs[1]
	t.Logf("browser's leg: %+v webrtc %+v", a, a.WebRTC)
	t.Logf("phone's leg: %+v", b)
	if a.WebRTC == nil || a.WebRTC.State != "connected" || a.WebRTC.Since == "" || a.WebRTC.FromBrowser == 0 || a.WebRTC.ToBrowser == 0 {
		t.Errorf("browser's leg WebRTC state %+v, want connected with packets both ways", a.WebRTC)
	}
	if b.WebRTC != nil || b.Codec != "PCMU/8000" || b.PacketsOut == 0 || b.Latched == "" {
		t.Errorf("phone's leg: %+v", b)
	}
	if res := br.bye(c); res.Status != 200 {
		t.Fatalf("BYE: %d\n%s", res.Status, res.Raw)
	}
	waitFor(t, 10*time.Second, "no call listed after the BYE", func() bool {
		_, body := g.api("GET", "/api/v1/media/calls")
		v = mediaCallsView{}
		_ = json.Unmarshal(body, &v)
		return len(v.Calls) == 0
	})
}

// TestAdminUIMediaLoss: a phone calls the PBX through the gateway and
// sends 90 RTP packets whose sequence numbers skip every tenth; the calls
// page shows the caller's leg with 90 packets in and 9 lost of 99
// expected (RFC 3550 A.3), the PBX's leg with 90 packets out.
func TestAdminUIMediaLoss(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	toRelay := sdpAddr(t, string(s.InviteResponse.Body()))

	b := startBrowser(t)
	b.do("desktop viewport, open /admin#calls", 30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate("https://"+g.HTTP+"/admin#calls"))
	b.adminLogin(g, "admin", g.adminPassword())
	b.do("the call's media rows", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#media-table tr[data-leg="a"] td.media-loss`)))

	sent := sendWithGaps(t, rtp, toRelay, 100, 10)
	want := "9 of 99 (9.1 %)"
	deadline := time.Now().Add(20 * time.Second)
	for {
		in, loss := b.mediaRow("a")
		out := b.mediaCell("b", "media-out")
		if in == sent && loss == want && strings.HasPrefix(out, "90 pkts") {
			t.Logf("caller's leg on the page: %d packets in, lost %q; PBX's leg out %q", in, loss, out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caller's leg: %d packets in, lost %q (want %d, %q); PBX's leg out %q", in, loss, sent, want, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.screenshot("admin-media-loss")
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}

// sendWithGaps sends RTP packets with sequence numbers 0..n-1 (PCMU) from
// r to dst, leaving out every gap-th (seq%gap == gap-1).
func sendWithGaps(t *testing.T, r *rtpPort, dst netip.AddrPort, n, gap int) (sent int) {
	t.Helper()
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	binary.BigEndian.PutUint32(pkt[8:], 0x5eed0001)
	for i := range n {
		if i%gap == gap-1 {
			continue
		}
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		if _, err := r.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			t.Fatal(err)
		}
		sent++
		time.Sleep(5 * time.Millisecond)
	}
	return sent
}
