package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// consoleOperator creates operator account op1 (device cisco1:402) on g.
func consoleOperator(t *testing.T, g *gateway) {
	t.Helper()
	code, body := g.apiJSON("POST", "/api/v1/accounts",
		`{"name":"op1","display_name":"Olive Operator","role":"operator","device":"cisco1:402","password":"op1-secret-passphrase"}`)
	if code != http.StatusCreated {
		t.Fatalf("create operator: %d %s", code, body)
	}
}

// consoleLogin opens /console in b and logs in as op1; it waits for the
// lamp grid.
func consoleLogin(b *browser, g *gateway, lamp string) {
	b.t.Helper()
	b.do("open the console", 30*time.Second,
		chromedp.EmulateViewport(1280, 860),
		chromedp.Navigate("https://"+g.HTTP+"/console"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.do("log in", 30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#account"), "op1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "op1-secret-passphrase"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#blf .lamp[data-id="`+lamp+`"]`)))
}

// waitLamp waits until the page shows lamp id in line state line.
func (b *browser) waitLamp(id, line string) {
	b.t.Helper()
	b.do(fmt.Sprintf("lamp %s %s", id, line), 30*time.Second,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#blf .lamp[data-id=%q][data-line=%q]`, id, line))))
}

// consoleArtifact saves a screenshot of the page under $CONSOLE_ARTIFACTS
// or lab/e2e/artifacts (gitignored) and logs where.
func (b *browser) consoleArtifact(name string) {
	b.t.Helper()
	dir := os.Getenv("CONSOLE_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	abs, _ := filepath.Abs(filepath.Join(dir, name+".png"))
	b.t.Logf("screenshot: %s", abs)
}

// TestConsole drives the operator console in headless Chromium against
// the binary and the Cisco BroadWorks lab simulator: the operator (op1 on
// 402) logs in, sees 402 ring and 401 turn busy when 401 calls, answers
// with the "a" key, parks the call in slot 404 and retrieves it with the
// mouse, then drags the call onto lamp 403, which rings. Every step is
// checked on the page and through the API.
func TestConsole(t *testing.T) {
	t.Parallel()
	g := ciscoGateway(t, "  operators: [{account: op1, device: \"cisco1:402\"}]\n")
	consoleOperator(t, g)
	b := startBrowser(t)
	b.do("wrong password", 30*time.Second,
		chromedp.EmulateViewport(1280, 860),
		chromedp.Navigate("https://"+g.HTTP+"/console"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#account"), "op1"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not-the-password"),
		chromedp.Click(chromedp.CSS("#login-btn")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if s := b.text("#login-error"); s != "Wrong account or password." {
		t.Errorf("login error shown %q", s)
	}
	consoleLogin(b, g, "cisco1:403")
	if s := b.text("#me-name"); s != "Olive Operator" {
		t.Errorf("operator name %q", s)
	}
	for _, id := range []string{"cisco1:401", "cisco1:402", "cisco1:403"} {
		b.waitLamp(id, "idle")
	}
	b.do("live", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#link[data-state="up"]`)))

	// A call starts: 401 calls the operator.
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"cisco1:401","to":"402"}`); code != http.StatusCreated {
		t.Fatalf("make call: %d %s", code, body)
	}
	b.waitLamp("cisco1:402", "ringing")
	b.do("incoming call listed", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#calls .call[data-state="alerting"]`)))
	b.consoleArtifact("console-ringing")

	// Keyboard: focus a lamp (not a text field) and press "a".
	b.do("answer with the a key", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#blf .lamp[data-id="cisco1:403"]`)),
		chromedp.KeyEvent("a"))
	b.waitLamp("cisco1:402", "busy")
	b.waitLamp("cisco1:401", "busy")
	g.waitDevice("cisco1:402", "busy after the answer", func(d attDevice) bool { return d.Line == "busy" })

	// Park into slot 404 with the Park button, then retrieve it.
	b.do("park", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#calls .call[data-state="connected"]`)),
		clearInput("#park-slot"),
		chromedp.SendKeys(chromedp.CSS("#park-slot"), "404"),
		chromedp.Click(chromedp.CSS("#park-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#parked li[data-slot="cisco1:404"]`)))
	b.waitLamp("cisco1:402", "idle")
	if code, body := g.api("GET", "/api/v1/parked"); code != 200 || !strings.Contains(string(body), `"operator": "op1"`) {
		t.Fatalf("parked after the console parked: %d %s", code, body)
	}
	b.consoleArtifact("console-parked")
	b.do("retrieve", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#parked li[data-slot="cisco1:404"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#parked li`)))
	b.waitLamp("cisco1:402", "busy")
	if code, body := g.api("GET", "/api/v1/parked"); !strings.Contains(string(body), `"parked": []`) {
		t.Fatalf("parked after the retrieve: %d %s", code, body)
	}

	// Drag the call onto lamp 403: a blind transfer; 403 rings.
	b.do("drag the call onto 403", 30*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#calls .call[data-state="connected"]`)),
		chromedp.DragAndDrop(chromedp.CSS(`#calls .call[data-state="connected"] .who-line`), chromedp.CSS(`#blf .lamp[data-id="cisco1:403"]`)))
	b.waitLamp("cisco1:403", "ringing")
	g.waitDevice("cisco1:403", "ringing after the transfer", func(d attDevice) bool { return d.Line == "ringing" })
	b.waitLamp("cisco1:402", "idle")
	b.consoleArtifact("console-transferred")

	// The event stream drops: the lamps grey out; the call ends meanwhile;
	// the page resumes with since=<last seq> (no second snapshot) and
	// shows the lamps idle.
	if s, err := b.eval(`window.switchboardConsole.dropStream(3000), "ok"`); err != nil || s != "ok" {
		t.Fatalf("drop stream: %q %v", s, err)
	}
	b.do("lamps stale while the stream is down", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#link[data-state="down"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#blf.down .lamp.stale[data-id="cisco1:401"]`)))
	d := g.waitDevice("cisco1:401", "in the transferred call", func(d attDevice) bool { return len(d.Calls) > 0 })
	if code, body := g.apiJSON("POST", "/api/v1/calls/"+d.Calls[0].CallID+"/clear", `{"device":"cisco1:401"}`); code != http.StatusNoContent {
		t.Fatalf("clear: %d %s", code, body)
	}
	b.do("stream back", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#link[data-state="up"]`)))
	b.waitLamp("cisco1:401", "idle")
	b.waitLamp("cisco1:403", "idle")
	b.do("lamps fresh again", 10*time.Second, chromedp.WaitNotPresent(chromedp.CSS(`#blf .lamp.stale[data-id="cisco1:401"]`)))
	if st := b.consoleStats(); st.Snapshots != 1 || st.Reconnects != 1 {
		t.Errorf("after one drop: %d snapshots, %d reconnects; want 1 and 1 (resumed with since=)", st.Snapshots, st.Reconnects)
	}

	// The help overlay lists the shortcuts.
	b.do("help overlay", 10*time.Second, chromedp.Click(chromedp.CSS("#blf .lamp")), chromedp.KeyEvent("?"),
		chromedp.WaitVisible(chromedp.CSS("#help")))
	if s := b.text("#help"); !strings.Contains(s, "Answer") || !strings.Contains(s, "Park") {
		t.Errorf("help overlay: %q", s)
	}
}

// TestConsoleOperatorPanel: pause with a mandatory reason and resume with
// the "z" key, the panic button's call, the search over lamps and the
// directory, and the help overlay, in Chromium against the binary.
func TestConsoleOperatorPanel(t *testing.T) {
	t.Parallel()
	reasons := filepath.Join(t.TempDir(), "reasons.txt")
	if err := os.WriteFile(reasons, []byte("Lunch\nMeeting\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g := ciscoGateway(t, "  operators: [{account: op1, device: \"cisco1:402\"}]\n"+
		"operators: {pause_reasons: mandatory, pause_reasons_file: "+reasons+", panic: {enabled: true, number: \"403\"}}\n")
	consoleOperator(t, g)
	b := startBrowser(t)
	consoleLogin(b, g, "cisco1:403")

	// Pause: mandatory mode offers the listed reasons only.
	if opts, _ := b.eval(`[...document.querySelectorAll('#pause-reason option')].map(o => o.value).join(',')`); opts != "Lunch,Meeting" {
		t.Fatalf("pause reasons offered %q, want Lunch,Meeting", opts)
	}
	b.do("pause for a meeting", 20*time.Second,
		chromedp.SetValue(chromedp.CSS("#pause-reason"), "Meeting"),
		chromedp.Click(chromedp.CSS("#pause-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#op-state[data-state="paused"]`)))
	if s := b.text("#op-state"); s != "paused: Meeting" {
		t.Errorf("state shown %q", s)
	}
	if code, body := g.api("GET", "/api/v1/operators"); code != 200 || !strings.Contains(string(body), `"reason": "Meeting"`) {
		t.Fatalf("operators after the pause: %d %s", code, body)
	}
	b.do("resume with z", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#blf .lamp`)), chromedp.KeyEvent("z"),
		chromedp.WaitVisible(chromedp.CSS(`#op-state[data-state="available"]`)))

	// Search: "40" leaves the three BroadWorks lamps and lists them from
	// the directory too.
	b.do("search", 20*time.Second,
		chromedp.KeyEvent("/"))
	if s, _ := b.eval(`document.activeElement.id + "|" + document.activeElement.value`); s != "search|" {
		t.Errorf("after /: focus and value %q, want the empty search field", s)
	}
	b.do("search", 20*time.Second,
		clearInput("#search"), chromedp.SendKeys(chromedp.CSS("#search"), "cisco1:40"),
		chromedp.WaitVisible(chromedp.CSS(`#dir-results li`)))
	if s := b.text("#lamp-count"); s != "3 of 4 lamps" {
		t.Errorf("lamp count after the search %q", s)
	}
	if s := b.text("#dir-results"); !strings.Contains(s, "403") {
		t.Errorf("directory results %q", s)
	}
	b.consoleArtifact("console-search")
	// A tablet in portrait: one column, the lamps still there.
	b.do("tablet", 20*time.Second, chromedp.EmulateViewport(820, 1180),
		chromedp.WaitVisible(chromedp.CSS(`#blf .lamp[data-id="cisco1:403"]`)))
	b.consoleArtifact("console-tablet")
	b.do("desktop", 20*time.Second, chromedp.EmulateViewport(1280, 860))

	// Panic: a call from the operator's device to the configured number.
	b.do("panic", 20*time.Second, chromedp.Click(chromedp.CSS("#panic-btn")))
	b.waitLamp("cisco1:403", "ringing")
	g.waitDevice("cisco1:402", "calling 403", func(d attDevice) bool { return len(d.Calls) > 0 })
}

// TestConsoleConsultByKeys: the operator answers with the mouse, consults
// the focused lamp 403 with "c", 403 answers, and Enter completes the
// attended transfer: 401 and 403 talk, the operator's phone is free.
func TestConsoleConsultByKeys(t *testing.T) {
	t.Parallel()
	g := ciscoGateway(t, "  operators: [{account: op1, device: \"cisco1:402\"}]\n")
	consoleOperator(t, g)
	b := startBrowser(t)
	consoleLogin(b, g, "cisco1:403")
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"cisco1:401","to":"402"}`); code != http.StatusCreated {
		t.Fatalf("make call: %d %s", code, body)
	}
	b.do("answer with the button", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#calls .call[data-state="alerting"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`#calls .call[data-state="connected"]`)))
	b.do("consult 403 with c", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#blf .lamp[data-id="cisco1:403"]`)),
		chromedp.KeyEvent("c"),
		chromedp.WaitVisible(chromedp.CSS(`#consult-bar`)))
	b.waitLamp("cisco1:403", "ringing")
	d := g.waitDevice("cisco1:403", "ringing", func(d attDevice) bool { return len(d.Calls) > 0 })
	if code, body := g.apiJSON("POST", "/api/v1/calls/"+d.Calls[0].CallID+"/answer", `{"device":"cisco1:403"}`); code != http.StatusNoContent {
		t.Fatalf("403 answers: %d %s", code, body)
	}
	b.waitLamp("cisco1:403", "busy")
	b.consoleArtifact("console-consult")
	b.do("complete with Enter", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#blf .lamp[data-id="cisco1:401"]`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitNotVisible(chromedp.CSS(`#consult-bar`)))
	b.waitLamp("cisco1:402", "idle")
	b.waitLamp("cisco1:401", "busy")
	b.waitLamp("cisco1:403", "busy")
	g.waitDevice("cisco1:402", "free after the transfer", func(d attDevice) bool { return d.Line == "idle" })
}

// TestConsoleLinkDown: when the BroadWorks server goes away, the page
// greys its lamps and says they are stale (the gateway's own user lamp
// is not), while its own stream stays up.
func TestConsoleLinkDown(t *testing.T) {
	t.Parallel()
	g, sim := consoleCisco(t, "")
	consoleOperator(t, g)
	b := startBrowser(t)
	consoleLogin(b, g, "cisco1:403")
	b.waitLamp("cisco1:401", "idle")
	if n, _ := b.eval(`String(document.querySelectorAll('#blf .lamp.stale').length)`); n != "0" {
		t.Fatalf("%s stale lamps before the link went down", n)
	}
	sim.Close()
	b.do("cisco lamps stale", 60*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#blf .lamp.stale[data-id="cisco1:401"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#blf .lamp.stale[data-id="cisco1:403"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#link[data-state="up"]`)))
	if s := b.attr(`#blf .lamp[data-id="cisco1:401"]`, "aria-label"); !strings.Contains(s, "stale") {
		t.Errorf("stale lamp's label %q does not say so", s)
	}
	if n, _ := b.eval(`String(document.querySelectorAll('#blf .lamp.stale[data-id^="gateway:"]').length)`); n != "0" {
		t.Errorf("%s gateway lamps marked stale by the BroadWorks link", n)
	}
	b.consoleArtifact("console-link-down")
}
