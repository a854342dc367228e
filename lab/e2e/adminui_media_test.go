package e2e

import (
	"encoding/json"
	"testing"
	"time"
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
