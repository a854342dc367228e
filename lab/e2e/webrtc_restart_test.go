package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ICE restart with a real browser (RFC 8445 §9, RFC 8839 §4.4.1.1.1): the
// web phone in Chromium in a call with a baresip through the gateway
// restarts ICE, and the audio keeps flowing both ways on the fast path.

// phoneICE is what window.switchboardPhone.stats() reports about ICE.
type phoneICE struct {
	rtpStats
	RTTMs       float64 `json:"rttMs"`
	ICEState    string  `json:"iceState"`
	ICERestarts int     `json:"iceRestarts"`
	LocalUfrag  string  `json:"localUfrag"`
	RemoteUfrag string  `json:"remoteUfrag"`
}

func (b *browser) iceStats(t *testing.T) phoneICE {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	st, err := chromedp.Run(ctx, chromedp.Evaluate[phoneICE](`window.switchboardPhone.stats()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return st
}

// mediaLeg is a leg of GET /api/v1/media/calls.
type mediaLeg struct {
	Leg        string `json:"leg"`
	PacketsIn  uint64 `json:"packets_in"`
	PacketsOut uint64 `json:"packets_out"`
	WebRTC     *struct {
		State       string   `json:"state"`
		FromBrowser uint64   `json:"from_browser"`
		ToBrowser   uint64   `json:"to_browser"`
		FastIn      uint64   `json:"fast_in"`
		FastOut     uint64   `json:"fast_out"`
		RTTMS       *float64 `json:"rtt_ms"`
	} `json:"webrtc"`
}

// browserCall returns the one call's browser leg and its other (plain)
// leg from the gateway's live media statistics.
func (g *gateway) browserCall(t *testing.T) (browser, far mediaLeg) {
	t.Helper()
	code, body := g.api("GET", "/api/v1/media/calls")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/media/calls: %d %s", code, body)
	}
	var p struct {
		Calls []struct {
			Legs []mediaLeg `json:"legs"`
		} `json:"calls"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("media calls: %v: %s", err, body)
	}
	if len(p.Calls) != 1 || len(p.Calls[0].Legs) != 2 {
		t.Fatalf("want one call with two legs: %s", body)
	}
	a, z := p.Calls[0].Legs[0], p.Calls[0].Legs[1]
	if a.WebRTC == nil {
		a, z = z, a
	}
	if a.WebRTC == nil || z.WebRTC != nil {
		t.Fatalf("want one browser leg and one plain leg: %s", body)
	}
	return a, z
}

// TestWebPhoneICERestart: the web phone (Chromium) calls a baresip
// through the gateway. (1) The page restarts ICE as it does on a network
// change (RTCPeerConnection.restartIce() and a re-INVITE with new ICE
// credentials); the gateway answers with new credentials of its own.
// (2) The gateway's media stops answering for a while (the process is
// stopped: a network outage as the browser sees it); the browser's ICE
// goes disconnected and the page restarts ICE by itself. After each
// restart the audio flows both ways again: the browser's inbound-rtp and
// outbound-rtp grow, the relay's counters of baresip's leg grow both
// ways, and the browser's leg is on the fast path (srtpmux). The gateway
// measures the round trip from the browser's RTCP reports (rtt_ms in
// /api/v1/media/calls) and the browser its own (remote-inbound-rtp
// roundTripTime, from the LSR/DLSR of the gateway's reports).
func TestWebPhoneICERestart(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1002, password: secret, extension: "1002"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	peer := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "baresip u1000", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok
	})
	b.do("dial 1000", 10*time.Second, clearInput("#number"),
		chromedp.SendKeys(chromedp.CSS("#number"), "1000"),
		chromedp.Click(chromedp.CSS("#call-btn")))
	b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
	b.audioFlows(t)

	// flowsAgain checks the call after a restart that began with st0 (the
	// browser) and br0, far0 (the gateway): new ICE credentials on both
	// sides, ICE connected, and 50 more packets each way at the browser,
	// at the relay's leg towards baresip, and on the fast path.
	flowsAgain := func(t *testing.T, st0 phoneICE, br0, far0 mediaLeg) phoneICE {
		t.Helper()
		var st phoneICE
		var br, far mediaLeg
		took := waitFor(t, 60*time.Second, "new ICE credentials and audio both ways again", func() bool {
			st = b.iceStats(t)
			if st.LocalUfrag == st0.LocalUfrag || st.RemoteUfrag == st0.RemoteUfrag ||
				(st.ICEState != "connected" && st.ICEState != "completed") {
				return false
			}
			br, far = g.browserCall(t)
			return st.Inbound >= st0.Inbound+50 && st.Outbound >= st0.Outbound+50 &&
				far.PacketsIn >= far0.PacketsIn+50 && far.PacketsOut >= far0.PacketsOut+50 &&
				br.WebRTC.FastIn >= br0.WebRTC.FastIn+50 && br.WebRTC.FastOut >= br0.WebRTC.FastOut+50
		})
		t.Logf("after %v: ufrag browser %s → %s, gateway %s → %s; browser RTP in %d → %d, out %d → %d; baresip's leg in %d → %d, out %d → %d; fast path in %d → %d, out %d → %d",
			took.Round(time.Millisecond), st0.LocalUfrag, st.LocalUfrag, st0.RemoteUfrag, st.RemoteUfrag,
			st0.Inbound, st.Inbound, st0.Outbound, st.Outbound, far0.PacketsIn, far.PacketsIn, far0.PacketsOut, far.PacketsOut,
			br0.WebRTC.FastIn, br.WebRTC.FastIn, br0.WebRTC.FastOut, br.WebRTC.FastOut)
		// on the fast path: of the browser's packets since, all but those
		// around the restart (pion carries a few until it re-arms)
		from, fin := br.WebRTC.FromBrowser-br0.WebRTC.FromBrowser, br.WebRTC.FastIn-br0.WebRTC.FastIn
		if fin*10 < from*9 {
			t.Errorf("fast path carried %d of the browser's %d packets since the restart", fin, from)
		}
		return st
	}

	t.Run("the page restarts ICE", func(t *testing.T) {
		st0 := b.iceStats(t)
		br0, far0 := g.browserCall(t)
		if st0.LocalUfrag == "" || st0.RemoteUfrag == "" {
			t.Fatalf("no ICE credentials in the page's descriptions: %+v", st0)
		}
		if ok, err := b.eval(`String(window.switchboardPhone.restartIce())`); err != nil || ok != "true" {
			t.Fatalf("restartIce: %q %v", ok, err)
		}
		flowsAgain(t, st0, br0, far0)
	})
	if t.Failed() {
		return
	}

	// before the outage: a report queued while the gateway is stopped
	// gives a round trip of the stop's length, rightly
	t.Run("round trip times", func(t *testing.T) {
		var br mediaLeg
		var st phoneICE
		waitFor(t, 30*time.Second, "a round trip at the gateway and at the browser", func() bool {
			br, _ = g.browserCall(t)
			st = b.iceStats(t)
			return br.WebRTC.RTTMS != nil && st.RTTMs >= 0
		})
		t.Logf("round trip: gateway %.3f ms (from the browser's reports), browser %.3f ms (remote-inbound-rtp roundTripTime)", *br.WebRTC.RTTMS, st.RTTMs)
		// on loopback: positive and far below a second (a wrong
		// computation is off by seconds or years)
		if rtt := *br.WebRTC.RTTMS; rtt <= 0 || rtt > 1000 {
			t.Errorf("gateway's round trip %.3f ms", rtt)
		}
		if st.RTTMs > 1000 {
			t.Errorf("browser's round trip %.3f ms", st.RTTMs)
		}
	})

	t.Run("an outage restarts ICE by itself", func(t *testing.T) {
		st0 := b.iceStats(t)
		br0, far0 := g.browserCall(t)
		// the gateway stops: no media, no consent answers; the browser's
		// ICE goes disconnected within a few seconds (Chromium: 2.5 s
		// without a packet), the page waits 2 s more and sends its
		// re-INVITE, which waits in the WebSocket until the gateway runs
		g.signal(syscall.SIGSTOP)
		stopped := time.Now()
		defer func() { _ = g.cmd.Process.Signal(syscall.SIGCONT) }() // also when the test fails meanwhile
		var seen string
		for time.Since(stopped) < 20*time.Second {
			st := b.iceStats(t)
			if st.ICERestarts > st0.ICERestarts {
				seen = st.ICEState
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		g.signal(syscall.SIGCONT)
		t.Logf("gateway stopped for %v; the page restarted ICE: %v (ICE %q then)", time.Since(stopped).Round(time.Millisecond), seen != "", seen)
		if seen == "" {
			t.Fatalf("the page did not restart ICE while the gateway was unreachable: %+v", b.iceStats(t))
		}
		flowsAgain(t, st0, br0, far0)
	})
	if t.Failed() {
		return
	}

	b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	g.released(t, 15*time.Second, 0, 0)
	_ = peer
}
