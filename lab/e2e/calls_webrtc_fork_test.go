package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebPhoneForkDeclined: u1001 is registered as the web phone in
// Chromium and as a baresip that answers by hand; a baresip u1000 calls
// 1001 and both ring. The browser declines (Hang up while ringing: 486
// Busy Here) while the baresip still rings: the browser's WebRTC leg (its
// PeerConnection and ports) is released then (switchboard_webrtc_legs 0,
// issue 12), not once the call is answered or ends, and the caller keeps
// ringing the baresip, which then answers. Before, the declined branch
// kept its leg until the answer.
func TestWebPhoneForkDeclined(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	b := startBrowser(t)
	b.login(g, "u1001", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	fork := startBaresip(t, g, "u1001")
	fork.command("/answermode manual")
	fork.waitOut(t, 10*time.Second, "Answer mode changed to: manual", 0)
	caller := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "u1000 and both of u1001's", func(rs []registration) bool {
		n := 0
		for _, r := range rs {
			if r.AOR == "u1001@example.com" {
				n++
			}
		}
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok && n == 2
	})

	caller.command("/dial sip:1001@example.com")
	b.do("the browser rings", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ringing"]`)))
	fork.waitOut(t, 30*time.Second, "Incoming call", 0)
	if n := g.metric("switchboard_webrtc_legs"); n != 1 {
		t.Fatalf("ringing: %v WebRTC legs, want the browser's 1", n)
	}
	b.do("decline", 20*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	// The baresip still rings: the browser's leg is gone, the relay
	// session of the call stays.
	g.released(t, 15*time.Second, 0, 1)
	if out := fork.out.String(); strings.Contains(out, `"type":"CALL_CLOSED"`) || strings.Contains(out, "Call established") {
		t.Fatalf("the baresip fork stopped ringing when the browser declined:\n%s", tail(out, 1500))
	}
	fork.command("/accept")
	fork.waitOut(t, 15*time.Second, "Call established", 0)
	caller.waitOut(t, 15*time.Second, "Call established", 0)
	caller.command("/hangup")
	g.released(t, 15*time.Second, 0, 0)
}
