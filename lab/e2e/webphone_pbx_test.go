package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/lab/pbx"
)

// TestWebPhoneCalledByPBX: the lab PBX (lab/pbx, its own SIP and RTP
// stack, a trunk's target: its calls are taken without authentication)
// calls extension 1002, whose only
// contact is the web phone in Chromium. The page rings showing the PBX's
// calling number, the user answers, and audio flows both ways: the
// browser's inbound-rtp and outbound-rtp grow, and the PBX counts the
// browser's packets and sends its tone. The PBX hangs up: the page says
// the other party ended the call, and the browser's leg and the relay
// session are released.
func TestWebPhoneCalledByPBX(t *testing.T) {
	sim := startPBX(t, pbx.Options{})
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5]}
trunks:
  - {name: pbx, target: "sip:%s", probe: {interval: 0s}, match: ["2"]}
users:
  - {username: u1002, password: secret, extension: "1002"}
`, sim.Addr()))
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	g.waitRegistrations(10*time.Second, "u1002 from the browser", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1002@example.com"]
		return ok
	})

	gw := netip.MustParseAddrPort(g.UDP)
	answered := b.answerWhenRinging()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	oc, err := sim.Call(ctx, pbx.CallOptions{
		Target: sip.Uri{Scheme: "sip", User: "1002", Host: gw.Addr().String(), Port: int(gw.Port())},
		From:   "0441234567", Media: pbx.Tone,
	})
	if err != nil {
		t.Fatalf("the PBX's call to 1002: %v\ngateway:\n%s", err, tail(g.log.String(), 3000))
	}
	if err := <-answered; err != nil {
		t.Fatalf("answering on the page: %v\npage: %s", err, b.pageText())
	}
	if got := b.text("#call-peer"); !strings.Contains(got, "0441234567") {
		t.Errorf("the page shows the caller as %q, want the PBX's number 0441234567", got)
	}
	b.audioFlows(t)
	waitFor(t, 15*time.Second, "the PBX's RTP both ways", func() bool {
		m := oc.Info().Media
		return m.Received >= 50 && m.Sent >= 50
	})
	m := oc.Info().Media
	t.Logf("the PBX: %d packets received from the browser, %d sent", m.Received, m.Sent)
	if err := oc.Hangup(ctx); err != nil {
		t.Fatalf("the PBX's BYE: %v", err)
	}
	b.do("call over", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	if got := b.text("#call-state"); got != "Call ended by the other party" {
		t.Errorf("after the PBX's BYE the page says %q", got)
	}
	g.released(t, 15*time.Second, 0, 0)

	// The call history (the page's list from the user's own call records)
	// has it as an answered incoming call with its duration, and a click
	// on it puts the number on the dial pad.
	entry := `#history li[data-number="0441234567"]`
	b.waitHistory(entry)
	if got := b.attr(entry+" .dir", "title"); got != "incoming" {
		t.Errorf("the PBX's call listed as %q, want incoming", got)
	}
	if got := b.attr(entry, "class"); got == "missed" {
		t.Error("the answered call listed as missed")
	}
	if got := b.text(entry + " .what"); !reDuration.MatchString(got) {
		t.Errorf("the answered call's entry shows %q, want its duration m:ss", got)
	}
	b.do("redial from the history", 10*time.Second, clearInput("#number"), chromedp.Click(chromedp.CSS(entry+" .who")))
	if got, _ := b.eval(`document.getElementById('number').value`); got != "0441234567" {
		t.Errorf("a click on the entry put %q on the dial pad", got)
	}
}

// waitHistory refreshes the page's call history (as a user presses its
// refresh button) until the entry sel shows: the call's record is written
// as the call ends.
func (b *browser) waitHistory(sel string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b.do("refresh the history", 10*time.Second, chromedp.Click(chromedp.CSS("#history-refresh")))
		if n, err := b.eval(`String(document.querySelectorAll(` + strconv.Quote(sel) + `).length)`); err == nil && n != "0" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no %s in the call history; page: %s", sel, b.pageText())
		}
		time.Sleep(time.Second)
	}
}

// reDuration is a call duration as the history shows it (m:ss).
var reDuration = regexp.MustCompile(`^\d+:\d\d$`)
