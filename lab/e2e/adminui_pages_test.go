package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestAdminUIPages drives the admin UI's pages whose APIs have their own
// tests, as an administrator would: the dashboard draws its charts and
// counts one of the two trunks up; the
// registrations page's search narrows the list; the config page shows the
// effective config without the users' passwords; the trunks page shows a trunk whose
// PBX answers OPTIONS up with its probe RTT and one towards a silent port
// down; a contact added on the contacts page and a CSV import (one good
// row, one bad) are in the directory, with the failed-row report on the
// page; an API token created on the accounts page is shown once, works as
// a Bearer token from a script, and once revoked on the page is refused.
func TestAdminUIPages(t *testing.T) {
	pbx := startLossyPBX(t, "127.0.0.1", false) // answers OPTIONS with 200
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	const pw = "Pw-Zq-5519"
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: %s}
  - {username: u1001, password: %s}
trunks:
  - name: live
    target: "sip:127.0.0.1:%d;transport=udp"
    failover_timeout: 200ms
    probe: {interval: 1s, mode: all}
  - name: silent
    target: "sip:%s;transport=udp"
    failover_timeout: 200ms
    probe: {interval: 1s, mode: all}
`, pw, pw, pbx.port(), dead.LocalAddr().String()))
	for _, u := range []string{"u1000", "u1001"} {
		if res := dialSIP(t, "udp", "127.0.0.1", g.UDP).register(u, pw); res.Status != 200 {
			t.Fatalf("REGISTER %s: %d", u, res.Status)
		}
	}

	b := startBrowser(t)
	b.do("desktop viewport, open /admin", 30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate("https://"+g.HTTP+"/admin"))
	b.adminLogin(g, "admin", g.adminPassword())
	b.do("the dashboard's charts", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#dash-registrations tr[data-aor="u1001@example.com"]`)),
		chromedp.WaitReady(chromedp.CSS("#chart-registrations polyline")),
		chromedp.WaitReady(chromedp.CSS("#chart-calls polyline")))
	if n := b.text("#stat-registrations"); n != "2" {
		t.Errorf("registrations figure %q, want 2", n)
	}

	// Registrations: the search keeps the matching binding only.
	b.do("search the registrations", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#registrations"),
		chromedp.WaitVisible(chromedp.CSS(`#registrations-table tr[data-aor="u1000@example.com"]`)),
		chromedp.SendKeys(chromedp.CSS("#reg-search"), "u1001"),
		chromedp.WaitNotPresent(chromedp.CSS(`#registrations-table tr[data-aor="u1000@example.com"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#registrations-table tr[data-aor="u1001@example.com"]`)))

	// Config: the effective config, the users' passwords masked.
	b.do("the config page", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#config"),
		chromedp.WaitVisible(chromedp.CSS("#reload-btn")))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.text("#config-view"), "u1001") {
		if time.Now().After(deadline) {
			t.Fatalf("config view: %s", tail(b.text("#config-view"), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if cfg := b.text("#config-view"); strings.Contains(cfg, pw) {
		t.Fatalf("the config page shows a user's password:\n%s", tail(cfg, 2000))
	}

	// Trunks: the page refreshes every 10 s; reload until both probes decided.
	live, silent := `#trunks-table tr[data-trunk="live"]`, `#trunks-table tr[data-trunk="silent"]`
	b.do("the trunks page", 20*time.Second, chromedp.Navigate("https://"+g.HTTP+"/admin#trunks"))
	deadline = time.Now().Add(40 * time.Second)
	for {
		b.do("trunks listed", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(live)), chromedp.WaitVisible(chromedp.CSS(silent)))
		l, s := b.textNow(live), b.textNow(silent)
		if strings.Contains(l, "up") && strings.Contains(l, " ms") && strings.Contains(s, "down") {
			t.Logf("trunks on the page: %q / %q", l, s)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trunk rows %q / %q, want live up with its RTT and silent down", l, s)
		}
		time.Sleep(time.Second)
		b.do("reload the trunks page", 20*time.Second, chromedp.Reload())
	}
	if tg := b.textNow(live + " td.trunk-target"); !strings.Contains(tg, fmt.Sprintf("127.0.0.1:%d", pbx.port())) || !strings.Contains(tg, "udp") {
		t.Errorf("live trunk's DNS target on the page: %q", tg)
	}
	b.screenshot("admin-trunks")
	b.do("the dashboard's trunk health", 20*time.Second, chromedp.Navigate("https://"+g.HTTP+"/admin#dashboard"),
		chromedp.WaitVisible(chromedp.CSS("#stat-trunks .pill")))
	if st := b.text("#stat-trunks"); st != "1 / 2" {
		t.Errorf("dashboard trunks up %q, want 1 / 2", st)
	}

	// Contacts: add one, import a file with a bad row.
	b.do("add a contact", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#contacts"),
		chromedp.WaitVisible(chromedp.CSS("#contact-form")),
		chromedp.SendKeys(chromedp.CSS("#contact-name"), "Ada Plumbing"),
		chromedp.SendKeys(chromedp.CSS("#contact-number"), "+4930123456"),
		chromedp.SendKeys(chromedp.CSS("#contact-company"), "Ada GmbH"),
		chromedp.Click(chromedp.CSS(`#contact-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#contacts-table tr[data-contact="Ada Plumbing"]`)))
	csvPath := filepath.Join(t.TempDir(), "contacts.csv")
	if err := os.WriteFile(csvPath, []byte("name,numbers,company\nBob Taxi,+4930999888;+4930999889,Bob's\n,+4930111,Nameless\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do("import contacts", 20*time.Second,
		chromedp.SetUploadFiles(chromedp.CSS("#contact-import-file"), []string{csvPath}),
		chromedp.Click(chromedp.CSS("#contact-import-btn")),
		chromedp.WaitVisible(chromedp.CSS("#contact-import-failed")),
		chromedp.WaitVisible(chromedp.CSS(`#contacts-table tr[data-contact="Bob Taxi"]`)))
	if rep := b.text("#contact-import-report"); !strings.Contains(rep, "1 contacts imported, 1 failed") || !strings.Contains(rep, "3") {
		t.Fatalf("contact import report on the page: %q", rep)
	}
	b.screenshot("admin-contacts-import")
	code, body := g.api("GET", "/api/v1/directory?q=Taxi")
	if code != 200 || !strings.Contains(string(body), "+4930999889") {
		t.Fatalf("directory after the page's import: %d %s", code, body)
	}
	if code, body = g.api("GET", "/api/v1/directory?q=Plumbing"); code != 200 || !strings.Contains(string(body), "+4930123456") {
		t.Fatalf("directory after the page's add: %d %s", code, body)
	}

	// API tokens: create one, use it from a script, revoke it.
	b.do("create a token", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#accounts"),
		chromedp.WaitVisible(chromedp.CSS("#token-form")),
		chromedp.SendKeys(chromedp.CSS("#token-name"), "nightly-export"),
		chromedp.SetValue(chromedp.CSS("#token-role"), "admin"),
		chromedp.Click(chromedp.CSS("#token-create-btn")),
		chromedp.WaitVisible(chromedp.CSS("#token-created")),
		chromedp.WaitVisible(chromedp.CSS(`#tokens-table tr[data-token="nightly-export"] button.revoke`)))
	value := strings.TrimSpace(b.text("#token-value"))
	if value == "" {
		t.Fatal("the page shows no token value")
	}
	bearer := func() int {
		req, err := http.NewRequest("GET", "https://"+g.HTTP+"/api/v1/registrations", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+value)
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := bearer(); st != 200 {
		t.Fatalf("GET /api/v1/registrations with the page's token: %d", st)
	}
	b.do("revoke it", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#tokens-table tr[data-token="nightly-export"] button.revoke`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#tokens-table tr[data-token="nightly-export"]`)))
	if st := bearer(); st != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d, want 401", st)
	}
}

// downloadPCAP clicks the first ladder's PCAP link on the calls page and
// returns the file the browser saved.
func (b *browser) downloadPCAP(dir string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	progress := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
	b.do("download the PCAP", 20*time.Second,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS(`#ladders-table tr[data-ladder] a[download]`)))
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("PCAP download: %v", err)
		}
		switch ev.State {
		case cdpbrowser.DownloadProgressStateCompleted:
			return filepath.Join(dir, ev.GUID)
		case cdpbrowser.DownloadProgressStateCanceled:
			b.t.Fatal("PCAP download cancelled")
		}
	}
	b.t.Fatal("PCAP download did not complete")
	return ""
}

// textNow is the text of sel read by one script ("" when absent): for
// tables the page redraws while the test reads them.
func (b *browser) textNow(sel string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	s, err := b.eval(`(() => { const e = document.querySelector(` + string(q) + `); return e ? e.textContent : ''; })()`)
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// mediaCell reads one cell (by its class: media-in, media-loss, ...) of the
// media table's row of leg ("a" or "b") of the first call, "" when there
// is none. One script reads it at once: the table is redrawn every 2 s, so
// a node found by one query may be gone by the next.
func (b *browser) mediaCell(leg, class string) string {
	b.t.Helper()
	s, err := b.eval(`(() => { const c = document.querySelector('#media-table tr[data-leg="` + leg + `"] td.` + class + `');
		return c ? c.textContent : ''; })()`)
	if err != nil {
		b.t.Fatalf("media cell %s of leg %s: %v", class, leg, err)
	}
	return s
}

// mediaRow reads the packets in and the loss cell of leg's row.
func (b *browser) mediaRow(leg string) (packetsIn int, loss string) {
	b.t.Helper()
	s, err := b.eval(`(() => { const r = document.querySelector('#media-table tr[data-leg="` + leg + `"]');
		return r ? r.querySelector('td.media-in').textContent + '\t' + r.querySelector('td.media-loss').textContent : ''; })()`)
	if err != nil {
		b.t.Fatalf("media row %s: %v", leg, err)
	}
	in, loss, _ := strings.Cut(s, "\t")
	n, err := strconv.Atoi(strings.Fields(in + " x")[0])
	if err != nil {
		b.t.Fatalf("media row %s: packets in %q", leg, in)
	}
	return n, loss
}

var reLossCell = regexp.MustCompile(`^-?\d+ of \d+ \(\d+\.\d %\)$`)
