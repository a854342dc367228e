package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
)

// consoleStats is what window.switchboardConsole.stats() reports.
type consoleStats struct {
	FirstRenderMs float64 `json:"firstRenderMs"`
	SnapshotMs    float64 `json:"snapshotMs"`
	BuildMs       float64 `json:"buildMs"`
	Reconnects    int     `json:"reconnects"`
	Lamps         int     `json:"lamps"`
	Batches       int     `json:"batches"`
	Events        int     `json:"events"`
	ApplyMs       float64 `json:"applyMs"`
	MaxBatchMs    float64 `json:"maxBatchMs"`
	Snapshots     int     `json:"snapshots"`
}

func (b *browser) consoleStats() consoleStats {
	b.t.Helper()
	s, err := b.eval(`JSON.stringify(window.switchboardConsole.stats())`)
	if err != nil {
		b.t.Fatal(err)
	}
	var st consoleStats
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		b.t.Fatalf("stats %q: %v", s, err)
	}
	return st
}

// TestConsoleThousandLamps loads the console with 1,003 lamps (1,000
// gateway users and three BroadWorks lab devices), logs the time from
// navigation to the first full render of the grid and the browser's cost
// per event batch while calls come and go (figures are logged, not
// asserted: the machine is shared). It checks every lamp is rendered and
// that the lamps of the calls change on the page.
func TestConsoleThousandLamps(t *testing.T) {
	t.Parallel()
	var users strings.Builder
	users.WriteString("users:\n")
	for i := range 1000 {
		fmt.Fprintf(&users, "  - {username: u%d, password: secret%d, display_name: \"User %d\"}\n", 2000+i, i, 2000+i)
	}
	g, _ := consoleCisco(t, users.String())
	consoleOperator(t, g)
	b := startBrowser(t)
	consoleLogin(b, g, "gateway:u2999")

	// A fresh page load with the session: navigation → grid painted.
	b.do("reload", 60*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/console"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-rendered]`)))
	st := b.consoleStats()
	if st.Lamps != 1003 {
		t.Fatalf("%d lamps rendered, want 1003", st.Lamps)
	}
	if n, _ := b.eval(`String(document.querySelectorAll('#blf .lamp').length)`); n != "1003" {
		t.Fatalf("%s lamp nodes, want 1003", n)
	}
	// The gateway's users carry their display names from the directory.
	b.do("lamp labelled with the user's name", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#blf .lamp[data-id="gateway:u2007"][aria-label^="User 2007, u2007"]`)))
	if s := b.text(`#blf .lamp[data-id="gateway:u2007"] .n`); s != "User 2007" {
		t.Errorf("lamp gateway:u2007 labelled %q, want its display name", s)
	}
	// Every lamp, not only the first directory page (search_max_results
	// is 100): the names come from GET /api/v1/devices/names, paged.
	b.do("the last user's lamp labelled too", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#blf .lamp[data-id="gateway:u2999"][aria-label^="User 2999, u2999"]`)))
	if n, _ := b.eval(`String([...document.querySelectorAll('#blf .lamp[data-id^="gateway:u"] .n')].filter(e => e.textContent.startsWith('User ')).length)`); n != "1000" {
		t.Errorf("%s of 1000 user lamps labelled with their display names", n)
	}
	t.Logf("1,003 lamps: first full render %.0f ms after navigation (snapshot applied in %.1f ms, grid built in %.1f ms)", st.FirstRenderMs, st.SnapshotMs, st.BuildMs)
	before := st

	// Calls come and go: 401 calls 402, 401 clears; the lamps follow.
	const calls = 8
	for i := range calls {
		if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"cisco1:401","to":"402"}`); code != http.StatusCreated {
			t.Fatalf("make call %d: %d %s", i, code, body)
		}
		b.waitLamp("cisco1:402", "ringing")
		d := g.waitDevice("cisco1:401", "in a call", func(d attDevice) bool { return len(d.Calls) > 0 })
		if code, body := g.apiJSON("POST", "/api/v1/calls/"+d.Calls[0].CallID+"/clear", `{"device":"cisco1:401"}`); code != http.StatusNoContent {
			t.Fatalf("clear %d: %d %s", i, code, body)
		}
		b.waitLamp("cisco1:402", "idle")
		b.waitLamp("cisco1:401", "idle")
	}
	st = b.consoleStats()
	events, batches := st.Events-before.Events, st.Batches-before.Batches
	ms := st.ApplyMs - before.ApplyMs
	if events < 2*calls {
		t.Fatalf("%d events in %d calls", events, calls)
	}
	t.Logf("1,003 lamps: %d events in %d batches, %.3f ms per event, %.3f ms per batch (max batch %.2f ms; parse, apply and repaint)",
		events, batches, ms/float64(events), ms/float64(batches), st.MaxBatchMs)
	b.consoleArtifact("console-1000-lamps")
}

// consoleCisco runs a gateway with the BroadWorks driver on a lab
// simulator (401-403 monitored; op1's device is 402) plus extra top-level
// YAML, and waits for the three lamps.
func consoleCisco(t *testing.T, extra string) (*gateway, *labcisco.Sim) {
	t.Helper()
	sim, err := labcisco.New(labcisco.Config{User: "admin", Password: "secret", Users: []string{"401", "402", "403"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: cisco1
      driver: cisco
      config: {base_url: %q, user: admin, password: secret, tls_insecure_skip_verify: true, user_domain: lab.example, reconnect_min: 50ms}
      monitor: ["401", "402", "403"]
attendant:
  console_link: {tls: ""}
  operators: [{account: op1, device: "cisco1:402"}]
%s`, sim.URL(), extra))
	for _, id := range []string{"cisco1:401", "cisco1:402", "cisco1:403"} {
		g.waitDevice(id, "idle and fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
	}
	return g, sim
}
