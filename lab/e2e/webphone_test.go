package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// requireChromium returns the path of Debian's chromium. Missing, it fails
// the test on CI (CI=true) and skips it elsewhere.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: make deps-test installs it")
	}
	t.Skip("chromium not found (make deps-test installs it)")
	return ""
}

// browser is one headless Chromium with one tab, its console kept.
type browser struct {
	t       *testing.T
	ctx     context.Context
	console *logBuffer
}

// startBrowser runs headless Chromium with a fake microphone that needs no
// permission prompt, a fresh profile, and nothing that talks to the
// network on its own. Cleanup closes it.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	path := requireChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("ignore-certificate-errors", true), // the gateway's self-signed certificate, for the page and WSS
		chromedp.WindowSize(412, 915),                    // a phone's screen
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, console: &logBuffer{}}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(func(f string, a ...any) {
		fmt.Fprintf(b.console, "chromedp: "+f+"\n", a...)
	}))
	b.ctx = ctx
	// Start the browser now (no timeout on the first run: it would bound
	// the browser's life); a broken install fails here.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			fmt.Fprintf(b.console, "console.%s: %s\n", m.Type, m.Text)
		}
	}()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		_ = chromedp.Cancel(cctx) // closes the browser and waits for it
		ccancel()
		cancel()
		cancelAlloc()
		<-consoleDone
		if t.Failed() {
			t.Logf("browser console:\n%s", tail(b.console.String(), 6000))
		}
	})
	return b
}

// do runs steps with a bound (a hang is a failure, not a timing).
func (b *browser) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.pageText())
	}
}

// eval evaluates a JavaScript expression that yields a string.
func (b *browser) eval(expr string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](expr))
}

// pageText is what a user sees on the page now.
func (b *browser) pageText() string {
	s, err := b.eval(`document.body ? document.body.innerText : ""`)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// text returns the text of the element sel (visible or not).
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v\npage: %s", sel, err, b.pageText())
	}
	return s
}

// attr returns the attribute name of sel.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		b.t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return r.Value
}

// screenshot saves the page as PNG in $WEBPHONE_SCREENSHOTS (a folder),
// when set: a person can look at what the test saw.
func (b *browser) screenshot(name string) {
	dir := os.Getenv("WEBPHONE_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// clearInput empties an input field as a user would see it (chromedp.Clear
// empties only the value attribute, not what was typed).
func clearInput(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](`document.querySelector(`+strconv.Quote(sel)+`).value = ''`)(ctx, t)
		return err
	})
}

// rtpStats is what window.switchboardPhone.stats() reports.
type rtpStats struct {
	Inbound        int    `json:"inbound"`
	Outbound       int    `json:"outbound"`
	Codec          string `json:"codec"`
	RemoteInbound  int    `json:"remoteInbound"`  // remote-inbound-rtp entries: the gateway's report blocks
	RemoteOutbound int    `json:"remoteOutbound"` // packetsSent of the gateway's sender reports
}

// gatewayReports waits until the browser shows the gateway's RTCP reports
// (media/webrtc's fast path, RFC 3550 §6.4): a remote-inbound-rtp entry
// and a remote-outbound-rtp one with packets.
func (b *browser) gatewayReports(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		st, err := chromedp.Run(ctx, chromedp.Evaluate[rtpStats](`window.switchboardPhone.stats()`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		if st.RemoteInbound > 0 && st.RemoteOutbound > 0 {
			t.Logf("browser stats: remote-inbound-rtp %d, remote-outbound-rtp packetsSent %d", st.RemoteInbound, st.RemoteOutbound)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no RTCP reports from the gateway in the browser's stats: %+v", st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// audioFlows waits until the browser has received and sent 50 audio
// packets on the current call (its inbound-rtp and outbound-rtp stats).
func (b *browser) audioFlows(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		st, err := chromedp.Run(ctx, chromedp.Evaluate[rtpStats](`window.switchboardPhone.stats()`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		if st.Inbound >= 50 && st.Outbound >= 50 {
			t.Logf("browser RTP: %d packets in, %d out, %s", st.Inbound, st.Outbound, st.Codec)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("audio did not flow both ways: %d packets in, %d out (%s)", st.Inbound, st.Outbound, st.Codec)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// login opens the web phone from the gateway's own HTTPS origin (Debian's
// Chromium blocks loopback WebSockets from pages of other address spaces)
// and submits user and password.
func (b *browser) login(g *gateway, user, password string) {
	b.t.Helper()
	b.do("open /phone and log in", 30*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/phone"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if os.Getenv("WEBPHONE_DEBUG") == "" {
				return nil
			}
			// JsSIP logs through the debug package, which reads this key.
			_, err := chromedp.Evaluate[any](`localStorage.debug = 'JsSIP:*'`)(ctx, t)
			return err
		}),
		clearInput("#username"),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		clearInput("#password"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-btn")),
	)
}

// TestWebPhone drives the web phone at /phone in headless Chromium against
// a running gateway: a wrong password is refused on the page; the right
// one registers over WSS (the page says "registered" and the gateway lists
// the binding); a baresip on the gateway calls the browser, which rings and
// declines; the call is in the page's history; the page dials the baresip.
func TestWebPhone(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
  - {username: u1002, password: secret, extension: "1002", display_name: Web Desk}
  - {username: u1003, password: secret, extension: "1003"}
`)
	if g.WSS == "" {
		t.Fatal("no wss listener")
	}
	code, page := g.api("GET", "/phone")
	if code != http.StatusOK || !strings.Contains(string(page), `id="login-form"`) {
		t.Fatalf("GET /phone: %d %.300s", code, page)
	}
	if strings.Contains(string(page), `id="jssip-missing"`) {
		if os.Getenv("CI") == "true" {
			t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
		}
		t.Skip("the binary embeds no JsSIP: run make webphone (or make build) first")
	}
	b := startBrowser(t)

	t.Run("wrong password", func(t *testing.T) {
		b.t = t
		b.login(g, "u1002", "not-the-password")
		b.do("login error shown", 20*time.Second, chromedp.WaitVisible(chromedp.CSS("#login-error")))
		b.screenshot("login-error")
		if got := b.text("#login-error"); !strings.Contains(got, "Wrong username or password") {
			t.Errorf("login error %q", got)
		}
		if _, ok := byAOR(g.registrations())["u1002@example.com"]; ok {
			t.Error("u1002 registered with a wrong password")
		}
	})

	t.Run("login registers over WSS", func(t *testing.T) {
		b.t = t
		b.login(g, "u1002", "secret")
		b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
		b.screenshot("registered")
		if got := b.text("#reg-status"); got != "registered" {
			t.Errorf("status %q", got)
		}
		if got := b.text("#me-name"); got != "Web Desk" {
			t.Errorf("display name on the page %q", got)
		}
		rs := g.waitRegistrations(10*time.Second, "u1002 from the browser", func(rs []registration) bool {
			_, ok := byAOR(rs)["u1002@example.com"]
			return ok
		})
		r := byAOR(rs)["u1002@example.com"]
		t.Logf("binding: %s %s %q", r.Transport, r.Contact, r.UserAgent)
		if r.Transport != "wss" && r.Transport != "ws" {
			t.Errorf("transport %q, want ws/wss", r.Transport)
		}
		if !strings.Contains(r.Contact, "transport=ws") || !strings.Contains(r.UserAgent, "Switchboard web phone") {
			t.Errorf("binding %+v", r)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("device selection", func(t *testing.T) {
		b.t = t
		b.do("open the device list", 20*time.Second, chromedp.Click(chromedp.CSS("#devices summary")),
			chromedp.WaitReady(chromedp.CSS("#mic-select option:nth-child(2)")))
		label, err := b.eval(`(() => { const s = document.getElementById('mic-select'); s.selectedIndex = 1;
			s.dispatchEvent(new Event('change')); return s.options[1].textContent + '|' + (localStorage.getItem('sb.mic') ? 'kept' : 'lost'); })()`)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("microphones: %s", label)
		if !strings.HasSuffix(label, "|kept") || strings.HasPrefix(label, "|") {
			t.Errorf("choosing a microphone: %q", label)
		}
	})

	peer := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "baresip u1000", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok
	})

	t.Run("incoming call rings and is declined", func(t *testing.T) {
		b.t = t
		peer.command("/dial sip:1002@example.com")
		b.do("ringing", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ringing"]`)))
		if got := b.text("#call-peer"); !strings.Contains(got, "u1000") && !strings.Contains(got, "1000") {
			t.Errorf("caller shown as %q", got)
		}
		b.do("answer button", 10*time.Second, chromedp.WaitVisible(chromedp.CSS("#answer-btn")))
		b.screenshot("ringing")
		b.do("decline", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")))
		b.do("call over", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		if got := b.text("#call-state"); got != "Declined" {
			t.Errorf("after declining the page says %q", got)
		}
		r := waitCDR(t, g, "u1002", func(r cdr.Record) bool { return r.Status == 486 })
		t.Logf("record: caller %s callee %s status %d cause %s", r.Caller, r.Callee, r.Status, r.Cause)
		if r.Caller != "u1000" || r.Callee != "1002" || r.Status != 486 {
			t.Errorf("record %+v, want u1000 → 1002 refused 486", r)
		}
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(peer.out.String(), "486") {
			if time.Now().After(deadline) {
				t.Fatalf("baresip never saw the 486:\n%s", tail(peer.out.String(), 2000))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("caller hangs up while ringing", func(t *testing.T) {
		b.t = t
		peer.command("/dial sip:1002@example.com")
		b.do("ringing", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ringing"]`)))
		peer.command("/hangup") // CANCEL
		b.do("call over", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		if got := b.text("#call-state"); got != "Missed call" {
			t.Errorf("after the caller's CANCEL the page says %q", got)
		}
	})

	t.Run("history shows the call", func(t *testing.T) {
		b.t = t
		b.do("history entry", 20*time.Second,
			chromedp.Click(chromedp.CSS("#history-refresh")),
			chromedp.WaitVisible(chromedp.CSS(`#history li[data-number="u1000"]`)))
		if got := b.attr(`#history li[data-number="u1000"]`, "class"); got != "missed" {
			t.Errorf("declined call listed with class %q, want missed", got)
		}
		b.screenshot("history")
	})

	t.Run("answer an incoming call", func(t *testing.T) {
		b.t = t
		peer.command("/dial sip:1002@example.com")
		b.do("ringing", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ringing"]`)))
		b.do("answer", 10*time.Second, chromedp.Click(chromedp.CSS("#answer-btn")))
		deadline := time.Now().Add(30 * time.Second)
		for {
			state, err := b.eval(`document.getElementById('call-panel').dataset.state`)
			if err != nil {
				t.Fatalf("call state: %v", err)
			}
			if state == "active" {
				break
			}
			if state == "ended" {
				msg := b.text("#call-state")
				peer.command("/hangup")
				if !strings.Contains(msg, "WebRTC Error") { // JsSIP's cause when setRemoteDescription refuses the offer
					t.Fatalf("answering failed: %q\ngateway:\n%s", msg, tail(g.log.String(), 3000))
				}
				// The B2BUA offers the browser the caller's plain RTP
				// (RTP/AVP), which a browser cannot take, until the
				// WebRTC media bridge offers it DTLS-SRTP with ICE.
				t.Skipf("TODO(issue 12, media/webrtc bridge): the browser cannot answer the plain RTP offer the gateway sends it: %q", msg)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the answered call never became active; page: %s", b.pageText())
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.screenshot("in-call")
		b.audioFlows(t)
		b.gatewayReports(t)
		t.Run("hold and resume", func(t *testing.T) {
			b.t = t // the parent takes b back after this subtest
			// Each waits for its re-INVITE (the button is disabled
			// meanwhile); JsSIP ends the call when a hold re-INVITE fails.
			b.do("hold", 20*time.Second, chromedp.Click(chromedp.CSS("#hold-btn")),
				chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="held"] #hold-btn:enabled`)))
			b.do("resume", 20*time.Second, chromedp.Click(chromedp.CSS("#hold-btn")),
				chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"] #hold-btn:enabled`)))
		})
		b.t = t
		if state, _ := b.eval(`document.getElementById('call-panel').dataset.state`); state != "ended" {
			b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
				chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		}
		// Hung up: the browser's WebRTC leg and the call's relay session
		// (its ports) are released (webrtc_test.go: released).
		g.released(t, 15*time.Second, 0, 0)
	})

	t.Run("dial a SIP phone", func(t *testing.T) {
		b.t = t
		b.do("dial 1000", 10*time.Second,
			clearInput("#number"),
			chromedp.SendKeys(chromedp.CSS("#number"), "1000"),
			chromedp.Click(chromedp.CSS("#call-btn")))
		deadline := time.Now().Add(30 * time.Second)
		for {
			if strings.Contains(peer.out.String(), "Incoming call") || strings.Contains(peer.out.String(), "Call established") {
				break
			}
			state, err := b.eval(`document.getElementById('call-panel').dataset.state`)
			if err != nil {
				t.Fatalf("call state: %v", err)
			}
			if state == "ended" {
				msg := b.text("#call-state")
				if strings.Contains(msg, "488") {
					// The gateway refuses the browser's DTLS-SRTP offer
					// (UDP/TLS/RTP/SAVPF) until the WebRTC media bridge
					// (media/webrtc, issue 12) terminates it.
					t.Skipf("TODO(issue 12, media/webrtc bridge): the INVITE does not reach the SIP phone: the gateway answers the browser's WebRTC offer %q", msg)
				}
				t.Fatalf("the call ended before reaching baresip: %q\ngateway:\n%s", msg, tail(g.log.String(), 3000))
			}
			if time.Now().After(deadline) {
				t.Fatalf("baresip never got the INVITE; page: %s\nbaresip:\n%s", b.pageText(), tail(peer.out.String(), 2000))
			}
			time.Sleep(100 * time.Millisecond)
		}
		// baresip answers automatically: the page must show the call.
		b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
		b.audioFlows(t)
		// The keypad sends DTMF during a call (SIP INFO, JsSIP's default;
		// the gateway passes it on as RFC 4733 or INFO).
		b.do("DTMF 5", 10*time.Second, chromedp.Click(chromedp.CSS(`#keypad button[data-key="5"]`)))
		dtmfBy := time.Now().Add(15 * time.Second)
		for !strings.Contains(peer.out.String(), "received DTMF: '5'") && !baresipDTMF(peer.out.String(), '5') {
			if time.Now().After(dtmfBy) {
				t.Errorf("baresip never received the DTMF 5:\n%s", tail(peer.out.String(), 1500))
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")))
		b.do("call over", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		r := waitCDR(t, g, "u1002", func(r cdr.Record) bool { return r.Caller == "u1002" })
		t.Logf("record: %s → %s status %d, media from the browser %d packets, from baresip %d", r.Caller, r.Callee, r.Status, r.MediaA.Packets, r.MediaB.Packets)
		if r.Caller != "u1002" || r.Status != 200 || r.EndedBy != "caller" || r.MediaA.Packets == 0 || r.MediaB.Packets == 0 {
			t.Errorf("record %+v", r)
		}
	})

	t.Run("blind transfer", func(t *testing.T) {
		b.t = t
		target := startBaresip(t, g, "u1001")
		g.waitRegistrations(20*time.Second, "baresip u1001", func(rs []registration) bool {
			_, ok := byAOR(rs)["u1001@example.com"]
			return ok
		})
		established := strings.Count(peer.out.String(), "Call established")
		b.do("dial 1000", 10*time.Second,
			clearInput("#number"),
			chromedp.SendKeys(chromedp.CSS("#number"), "1000"),
			chromedp.Click(chromedp.CSS("#call-btn")))
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(peer.out.String(), "Call established") == established {
			state, err := b.eval(`document.getElementById('call-panel').dataset.state`)
			if err != nil {
				t.Fatalf("call state: %v", err)
			}
			if msg := b.text("#call-state"); state == "ended" && strings.Contains(msg, "488") {
				t.Skipf("TODO(issue 12, media/webrtc bridge): no call to transfer: the gateway answers the browser's WebRTC offer %q", msg)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the call to baresip was not established; page: %s", b.pageText())
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
		// REFER (RFC 3515) to 1001: the gateway calls it for baresip
		// u1000, and the browser's leg ends.
		b.do("transfer to 1001", 20*time.Second,
			chromedp.Click(chromedp.CSS("#transfer-btn")),
			chromedp.WaitVisible(chromedp.CSS("#transfer-target")),
			chromedp.SendKeys(chromedp.CSS("#transfer-target"), "1001"),
			chromedp.Click(chromedp.CSS("#transfer-go")),
			chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		deadline = time.Now().Add(30 * time.Second)
		for !strings.Contains(target.out.String(), "Call established") {
			if time.Now().After(deadline) {
				t.Fatalf("the transfer target never answered:\n%s\ngateway:\n%s", tail(target.out.String(), 1500), tail(g.log.String(), 3000))
			}
			time.Sleep(100 * time.Millisecond)
		}
		peer.command("/hangup")
	})

	t.Run("browser to browser", func(t *testing.T) {
		b.t = t
		b2 := startBrowser(t)
		b2.login(g, "u1003", "secret")
		b2.do("second browser registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
		b.do("dial 1003", 10*time.Second, clearInput("#number"),
			chromedp.SendKeys(chromedp.CSS("#number"), "1003"),
			chromedp.Click(chromedp.CSS("#call-btn")))
		deadline := time.Now().Add(30 * time.Second)
		for {
			if state, _ := b2.eval(`document.getElementById('call-panel').dataset.state`); state == "ringing" {
				break
			}
			state, err := b.eval(`document.getElementById('call-panel').dataset.state`)
			if err != nil {
				t.Fatalf("call state: %v", err)
			}
			if msg := b.text("#call-state"); state == "ended" {
				if strings.Contains(msg, "488") {
					t.Skipf("TODO(issue 12, media/webrtc bridge): the gateway answers the browser's WebRTC offer %q", msg)
				}
				t.Fatalf("the call to the second browser ended: %q", msg)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the second browser never rang; caller: %s", b.pageText())
			}
			time.Sleep(100 * time.Millisecond)
		}
		b2.do("answer", 20*time.Second, chromedp.Click(chromedp.CSS("#answer-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
		b.do("caller in call", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
		b.audioFlows(t)
		b2.audioFlows(t)
		// Opus end to end when both legs have it (issue 12): no G.711 in between
		for i, br := range []*browser{b, b2} {
			if st := br.iceStats(t); !strings.EqualFold(st.Codec, "audio/opus") {
				t.Errorf("browser %d talks %q, want audio/opus end to end", i+1, st.Codec)
			}
		}
		b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")))
		b2.do("callee sees the end", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	})

	t.Run("reload offers the username, logout ends the session", func(t *testing.T) {
		b.t = t
		b.do("reload", 30*time.Second, chromedp.Navigate("https://"+g.HTTP+"/phone"),
			chromedp.WaitVisible(chromedp.CSS("#login-form")))
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, err := b.eval(`document.getElementById('username').value`)
			if err == nil && v == "u1002" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("username after a reload: %q, %v", v, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The username is there: the password alone logs in again.
		b.do("registered again", 30*time.Second, chromedp.SendKeys(chromedp.CSS("#password"), "secret"),
			chromedp.Click(chromedp.CSS("#login-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
		b.do("log out", 20*time.Second, chromedp.Click(chromedp.CSS("#logout-btn")),
			chromedp.WaitVisible(chromedp.CSS("#login-form")))
		g.waitRegistrations(15*time.Second, "u1002 unregistered by the logout", func(rs []registration) bool {
			_, ok := byAOR(rs)["u1002@example.com"]
			return !ok
		})
		status, err := b.eval(`fetch('/phone/api/config').then(r => String(r.status))`)
		if err == nil && status != "401" {
			t.Errorf("the API after logout: %s", status)
		}
	})
}

// TestWebPhoneAPI checks the web phone's JSON API with Basic credentials
// and its login limits, from the gateway's HTTPS port (no browser).
func TestWebPhoneAPI(t *testing.T) {
	g := startGateway(t, `users:
  - {username: u1002, password: secret, extension: "1002", display_name: Web Desk}
`)
	get := func(path, user, pass string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", "https://"+g.HTTP+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header, body
	}
	code, _, body := get("/phone/api/config", "u1002", "secret")
	if code != http.StatusOK {
		t.Fatalf("config: %d %s", code, body)
	}
	var cfg struct {
		URI       string   `json:"uri"`
		Domain    string   `json:"domain"`
		WSServers []string `json:"ws_servers"`
		Display   string   `json:"display_name"`
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		t.Fatal(err)
	}
	want := "wss://" + g.WSS + g.WSPath
	if cfg.URI != "sip:u1002@example.com" || cfg.Display != "Web Desk" || len(cfg.WSServers) != 1 || cfg.WSServers[0] != want {
		t.Errorf("config %+v, want ws_servers [%s]", cfg, want)
	}
	for _, c := range []struct{ user, pass string }{{"u1002", "wrong"}, {"nobody", "secret"}, {"", ""}} {
		code, h, body := get("/phone/api/config", c.user, c.pass)
		if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%q/%q: %d %q %s", c.user, c.pass, code, h.Get("WWW-Authenticate"), body)
		}
	}
	// The admin API's call list stays loopback-only, the user's own is not.
	if code, _, body := get("/phone/api/calls", "u1002", "secret"); code != http.StatusOK || !strings.Contains(string(body), `"calls"`) {
		t.Errorf("calls: %d %s", code, body)
	}

	// Password guessing on the login counts like SIP digest failures: ten
	// wrong passwords from 127.0.0.3 ban it (security.ban.failures), and
	// then even the right password is refused there, not elsewhere.
	from3 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext:     (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}}).DialContext,
	}}
	login := func(c *http.Client, pass string) int {
		t.Helper()
		res, err := c.Post("https://"+g.HTTP+"/phone/api/login", "application/json",
			strings.NewReader(`{"username":"u1002","password":"`+pass+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for i := range 10 {
		if code := login(from3, fmt.Sprint("guess", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	if code := login(from3, "secret"); code != http.StatusForbidden {
		t.Errorf("the right password from the banned source: %d, want 403", code)
	}
	banned := false
	for _, b := range g.bans() {
		banned = banned || b.IP == "127.0.0.3"
	}
	if !banned {
		t.Errorf("127.0.0.3 not banned after 10 wrong web phone passwords: %+v", g.bans())
	}
	if code := login(httpClient, "secret"); code != http.StatusOK {
		t.Errorf("the right password from 127.0.0.1: %d, want 200", code)
	}
}
