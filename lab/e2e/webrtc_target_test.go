package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A browser as the target of a call the gateway places on its own
// (issue 12): click-to-dial's user and a blind transfer's target run
// the fork on a call without relay session of their own; the browser's
// branch must get a WebRTC offer bridged to the side of the call it
// joins, its answer made plain RTP, and its leg recorded on that call.

// webTargetGateway starts a gateway with users u1000, u1001 and u1002,
// the web phone logged in as u1002 in Chromium.
func webTargetGateway(t *testing.T) (*gateway, *browser) {
	t.Helper()
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
  - {username: u1002, password: secret, extension: "1002"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	return g, b
}

// browserAudioBothWays waits until audio flows both ways between the browser and the
// plain leg of the one call: the browser's inbound-rtp and outbound-rtp
// grow, and the relay counts the baresip's packets in and out of its leg.
func browserAudioBothWays(t *testing.T, g *gateway, b *browser) {
	t.Helper()
	b.audioFlows(t)
	st0 := b.iceStats(t)
	var br, far mediaLeg
	waitFor(t, 20*time.Second, "audio both ways between the browser and baresip", func() bool {
		br, far = g.browserCall(t)
		st := b.iceStats(t)
		return st.Inbound >= st0.Inbound+50 && st.Outbound >= st0.Outbound+50 &&
			far.PacketsIn >= 50 && far.PacketsOut >= 50 && br.WebRTC.FromBrowser >= 50 && br.WebRTC.ToBrowser >= 50
	})
	t.Logf("baresip's leg: %d packets in, %d out; browser's leg: %d from, %d to the browser", far.PacketsIn, far.PacketsOut, br.WebRTC.FromBrowser, br.WebRTC.ToBrowser)
}

// TestWebPhoneClickToDial: click-to-dial through the API for u1002,
// whose only device is the web phone, to 1000 (a baresip that answers at
// once). The page rings, is answered, baresip's call is established, and
// audio flows both ways (the browser's RTP counters, the relay's counters
// of baresip's leg, the browser's WebRTC leg found on the call). The
// page hangs up: baresip's call closes, every leg and session is
// released. On the code before issue 12 the browser's branch was refused
// and the API call failed (480).
func TestWebPhoneClickToDial(t *testing.T) {
	g, b := webTargetGateway(t)
	peer := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "baresip u1000", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok
	})
	answered := b.answerWhenRinging()
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"gateway:u1002","to":"1000"}`); code != http.StatusCreated {
		t.Fatalf("click-to-dial: %d %s", code, body)
	}
	if err := <-answered; err != nil {
		t.Fatalf("the web phone did not ring and answer: %v\npage: %s\ngateway: %s", err, b.pageText(), tail(g.log.String(), 2000))
	}
	peer.waitOut(t, 20*time.Second, "Call established", 0)
	browserAudioBothWays(t, g, b)
	b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	peer.waitOut(t, 15*time.Second, `"type":"CALL_CLOSED"`, 0)
	g.released(t, 15*time.Second, 0, 0)
}

// TestWebPhoneBlindTarget: baresip u1000 calls baresip u1001, which
// blind-transfers it (REFER, RFC 5589 §6) to 1002, the web phone. The
// page rings and answers; u1001's call ends, and audio flows both ways
// between the browser and u1000, the transferee. u1000 hangs up: the
// page's call ends and everything is released. On the code before issue
// 12 the browser's branch was refused and the transfer failed (480).
func TestWebPhoneBlindTarget(t *testing.T) {
	g, b := webTargetGateway(t)
	transferee := startBaresip(t, g, "u1000")
	transferor := startBaresip(t, g, "u1001")
	g.waitRegistrations(20*time.Second, "baresips u1000 and u1001", func(rs []registration) bool {
		m := byAOR(rs)
		_, a := m["u1000@example.com"]
		_, c := m["u1001@example.com"]
		return a && c
	})
	transferee.command("/dial sip:1001@example.com")
	transferor.waitOut(t, 20*time.Second, "Call established", 0)
	transferee.waitOut(t, 20*time.Second, "Call established", 0)
	answered := b.answerWhenRinging()
	transferor.command("/transfer sip:1002@example.com")
	if err := <-answered; err != nil {
		t.Fatalf("the web phone did not ring and answer: %v\npage: %s\ngateway: %s", err, b.pageText(), tail(g.log.String(), 2000))
	}
	transferor.waitOut(t, 20*time.Second, `"type":"CALL_CLOSED"`, 0)
	g.waitLog(`msg="call transferred"`, 15*time.Second)
	browserAudioBothWays(t, g, b)
	transferee.command("/hangup")
	b.do("call over", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	g.released(t, 15*time.Second, 0, 0)
}
