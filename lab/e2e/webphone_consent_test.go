package e2e

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// processTree is pid and every process descended from it (read from
// /proc: a process's parent is the fourth field of its stat).
func processTree(pid int) []int {
	parent := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		rest := string(b)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 { // the name may hold spaces
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			parent[pp] = append(parent[pp], child)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// TestWebPhoneConsentLost: Chromium's web phone calls a baresip; then the
// whole browser is frozen (SIGSTOP to its processes: a laptop whose lid
// closes, a phone whose browser the OS suspends): no BYE, no DTLS
// close_notify, no more consent checks or media, and its WebSocket goes
// silent without closing. The gateway's consent freshness (RFC 7675,
// webrtc.consent_timeout, default 20 s) ends the browser's leg within
// 30 s, baresip gets the gateway's BYE, and the leg and the relay session
// are released while the browser is still frozen. Thawed, the page learns
// of the end (the gateway's BYE, waiting in its WebSocket) and says so;
// the record's cause is media_timeout (it is written when the BYE towards
// the browser is answered). The gateway offers no ICE restart first (media/README:
// ICE restart).
func TestWebPhoneConsentLost(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1002, password: secret, extension: "1002"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	peer := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "baresip u1000", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok
	})
	b := startBrowser(t)
	proc := chromedp.FromContext(b.ctx).Browser.Process()
	if proc == nil {
		t.Fatal("no chromium process")
	}
	var frozen []int
	thaw := func() {
		for _, pid := range frozen {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
		frozen = nil
	}
	t.Cleanup(thaw) // before the browser's own cleanup closes it
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	b.dialNumber("1000")
	b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
	b.audioFlows(t)
	g.released(t, 10*time.Second, 1, 1) // the call's leg and session, to see them go

	frozen = processTree(proc.Pid)
	for _, pid := range frozen {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	t.Logf("froze chromium: %d processes", len(frozen))
	took := waitFor(t, 30*time.Second, "the gateway ends the frozen browser's leg (RFC 7675)", func() bool {
		return g.metric("switchboard_webrtc_legs") == 0
	})
	t.Logf("the browser's leg ended %v after the freeze (consent_timeout 20 s)", took.Round(100*time.Millisecond))
	waitFor(t, 15*time.Second, "baresip's call ended by the gateway", func() bool {
		return strings.Contains(peer.out.String(), "terminated")
	})
	g.released(t, 15*time.Second, 0, 0) // while the browser is still frozen
	thaw()
	b.do("the page learns of the end", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	if got := b.text("#call-state"); got != "Call ended by the other party" {
		t.Errorf("the thawed page says %q", got)
	}
	r := waitCDR(t, g, "u1002", func(r cdr.Record) bool { return r.Caller == "u1002" })
	t.Logf("record: %s → %s status %d cause %s", r.Caller, r.Callee, r.Status, r.Cause)
	if r.Status != 200 || r.Cause != "media_timeout" {
		t.Errorf("record %+v, want answered and ended by media_timeout", r)
	}
}
