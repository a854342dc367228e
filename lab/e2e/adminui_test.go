package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
)

// adminUIConfig: a trunk to a SIPp UAS on 127.0.0.2 (for a call's
// ladder) and digest-failure bans for every source but the SIPp peers and
// the phones' 127.0.0.1.
func adminUIConfig(uasPort int) string {
	return fmt.Sprintf(`registrar: {algorithms: [MD5]}
security:
  trusted_callers: [127.0.0.2/32]
  exempt_sources: [127.0.0.1/32, 127.0.0.2/32]
  ban: {failures: 5, window: 1m, duration: 15m, scan_users: 5}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%d
    probe: {interval: 0s}
    match: ["2000"]
users:
  - {username: u1000, password: secret}
`, uasPort)
}

// adminPassword is the first-run admin's password the gateway wrote.
func (g *gateway) adminPassword() string {
	g.t.Helper()
	pw, err := os.ReadFile(filepath.Join(g.dataDir, "admin.password"))
	if err != nil {
		g.t.Fatalf("first-run admin password: %v", err)
	}
	return strings.TrimSpace(string(pw))
}

// adminLogin opens /admin and logs in.
func (b *browser) adminLogin(g *gateway, account, password string) {
	b.t.Helper()
	b.do("open /admin, log in", 30*time.Second,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		clearInput("#account"),
		chromedp.SendKeys(chromedp.CSS("#account"), account),
		clearInput("#password"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-btn")),
	)
}

// banSource makes the gateway ban src: wrong passwords for u1000 until
// the ban threshold, over UDP.
func banSource(t *testing.T, g *gateway, src string) {
	t.Helper()
	a := dialSIP(t, "udp", src, g.UDP)
	res := a.roundTrip(a.request("REGISTER", "sip:example.com", "u1000", a.contact("u1000")))
	for range 8 {
		if res == nil || res.Status != 401 {
			break
		}
		a.send(a.request("REGISTER", "sip:example.com", "u1000", a.contact("u1000"), "Authorization: "+wrongAuth(t, res, "u1000")))
		r, err := a.read(time.Second)
		if err != nil {
			break
		}
		res = r
	}
	deadline := time.Now().Add(10 * time.Second)
	for !hasBan(g.bans(), src) {
		if time.Now().After(deadline) {
			t.Fatalf("%s not banned: %+v", src, g.bans())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAdminUI drives the admin UI at /admin in headless Chromium against
// a running gateway, as an administrator would: a wrong password is
// refused on the page; the first-run admin logs in; the dashboard lists a
// baresip phone's registration; force unregister removes it (from the
// gateway's own API too); a ban is lifted; a SIP user added on the page
// registers, its password reset on the page takes effect, and a CSV
// import shows its failed-user report; a config change is reloaded and its result shown, then a
// broken config is refused with its error on the page; a SIPp call's SIP
// ladder is shown; a request without the CSRF token is refused; once the
// session is ended on the server the page goes back to the login form.
func TestAdminUI(t *testing.T) {
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas.xml", uasPort)
	g := startGateway(t, adminUIConfig(uasPort))
	startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "baresip u1000", func(rs []registration) bool {
		r, ok := byAOR(rs)["u1000@example.com"]
		return ok && strings.Contains(strings.ToLower(r.UserAgent), "baresip")
	})

	b := startBrowser(t)
	b.do("desktop viewport, open /admin", 30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate("https://"+g.HTTP+"/admin"))

	// A wrong password: the page says so and stays on the login form.
	b.adminLogin(g, "admin", "not-the-password")
	b.do("login refused", 20*time.Second, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if txt := b.text("#login-error"); !strings.Contains(strings.ToLower(txt), "password") {
		t.Fatalf("login error %q", txt)
	}

	// The first-run admin logs in; the dashboard shows the registration.
	b.adminLogin(g, "admin", g.adminPassword())
	b.do("dashboard shows baresip's registration", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#dash-registrations tr[data-aor="u1000@example.com"]`)))
	row := b.text(`#dash-registrations tr[data-aor="u1000@example.com"]`)
	if !strings.Contains(strings.ToLower(row), "baresip") || !strings.Contains(row, "udp") {
		t.Fatalf("dashboard row: %q", row)
	}
	if n := b.text("#stat-registrations"); n != "1" {
		t.Fatalf("registrations figure %q, want 1", n)
	}
	b.screenshot("admin-dashboard")

	// Force unregister from the registrations page.
	b.do("unregister u1000", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#registrations"),
		chromedp.WaitVisible(chromedp.CSS(`#registrations-table tr[data-aor="u1000@example.com"] button.unregister`)),
		chromedp.Click(chromedp.CSS(`#registrations-table tr[data-aor="u1000@example.com"] button.unregister`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#registrations-table tr[data-aor="u1000@example.com"]`)),
	)
	if _, ok := byAOR(g.registrations())["u1000@example.com"]; ok {
		t.Fatalf("u1000 still registered after the page's unregister:\n%s", fmtRegs(g.registrations()))
	}

	// Lift a ban.
	banSource(t, g, "127.0.0.7")
	b.do("lift the ban", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#bans"),
		chromedp.WaitVisible(chromedp.CSS(`#bans-table tr[data-ip="127.0.0.7"] button.lift`)),
		chromedp.Click(chromedp.CSS(`#bans-table tr[data-ip="127.0.0.7"] button.lift`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#bans-table tr[data-ip="127.0.0.7"]`)),
	)
	if hasBan(g.bans(), "127.0.0.7") {
		t.Fatalf("ban still listed by the API: %+v", g.bans())
	}
	if res := dialSIP(t, "udp", "127.0.0.7", g.UDP).register("u1000", "secret"); res.Status != 200 {
		t.Fatalf("REGISTER from the unbanned source: %d", res.Status)
	}

	// Add a SIP user on the page, then register with it.
	b.do("add user u2500", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#users"),
		chromedp.WaitVisible(chromedp.CSS("#user-form")),
		chromedp.SendKeys(chromedp.CSS("#user-name"), "u2500"),
		chromedp.SendKeys(chromedp.CSS("#user-password"), "fresh-Pa55"),
		chromedp.SendKeys(chromedp.CSS("#user-display"), "New Desk"),
		chromedp.SendKeys(chromedp.CSS("#user-ext"), "2500"),
		chromedp.Click(chromedp.CSS("#user-add-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#users-table tr[data-user="u2500"]`)),
	)
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := c.register("u2500", "fresh-Pa55"); res.Status != 200 {
		t.Fatalf("REGISTER u2500 with the password set on the page: %d\n%s", res.Status, res.Raw)
	}
	if res := dialSIP(t, "udp", "127.0.0.1", g.UDP).register("u2500", "wrong"); res.Status == 200 {
		t.Fatal("u2500 registered with a wrong password")
	}
	b.do("the new registration on the dashboard", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#dash-registrations tr[data-aor="u2500@example.com"]`)))

	// Reset its password on the page: the new one registers, the old not.
	b.do("reset u2500's password", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#users"),
		chromedp.WaitVisible(chromedp.CSS(`#users-table tr[data-user="u2500"] button.reset-password`)),
		chromedp.Click(chromedp.CSS(`#users-table tr[data-user="u2500"] button.reset-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#users-table tr[data-user="u2500"] input.new-password`)),
		chromedp.SendKeys(chromedp.CSS(`#users-table tr[data-user="u2500"] input.new-password`), "second-Pa55"),
		chromedp.Click(chromedp.CSS(`#users-table tr[data-user="u2500"] button.save-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#users-table tr[data-user="u2500"] button.reset-password`)))
	if res := dialSIP(t, "udp", "127.0.0.1", g.UDP).register("u2500", "second-Pa55"); res.Status != 200 {
		t.Fatalf("REGISTER u2500 with the reset password: %d", res.Status)
	}
	if res := dialSIP(t, "udp", "127.0.0.1", g.UDP).register("u2500", "fresh-Pa55"); res.Status == 200 {
		t.Fatal("u2500 still registers with the old password")
	}

	// Import a CSV file with a bad row: the page shows the failed-user report.
	csvPath := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(csvPath, []byte("username,password,display_name\nu2601,pw-2601,Import One\nbad name,pw,Broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do("import users", 20*time.Second,
		chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{csvPath}),
		chromedp.Click(chromedp.CSS("#import-btn")),
		chromedp.WaitVisible(chromedp.CSS("#import-failed")),
		chromedp.WaitVisible(chromedp.CSS(`#users-table tr[data-user="u2601"]`)))
	if rep := b.text("#import-report"); !strings.Contains(rep, "1 users imported, 1 failed") || !strings.Contains(rep, "bad name") || !strings.Contains(rep, "bad username") {
		t.Fatalf("import report on the page: %q", rep)
	}
	b.screenshot("admin-users-import")
	if res := dialSIP(t, "udp", "127.0.0.1", g.UDP).register("u2601", "pw-2601"); res.Status != 200 {
		t.Fatalf("REGISTER of the imported u2601: %d", res.Status)
	}

	// Reload a config change: the result is shown on the page.
	raw, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	good := strings.Replace(string(raw), "log: {level: info}", "log: {level: debug}", 1)
	if good == string(raw) {
		t.Fatal("the test config has no log level to change")
	}
	if err := os.WriteFile(g.cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do("reload", 30*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#config"),
		chromedp.WaitVisible(chromedp.CSS("#reload-btn")),
		chromedp.Click(chromedp.CSS("#reload-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#reload-result[data-ok="true"]`)))
	if res := b.text("#reload-result"); !strings.Contains(res, "log") {
		t.Fatalf("reload result does not name the change: %q", res)
	}
	if cfg := b.text("#config-view"); !strings.Contains(cfg, `"debug"`) {
		t.Fatalf("config view after the reload: %s", tail(cfg, 2000))
	}
	if err := os.WriteFile(g.cfgPath, []byte(strings.Replace(good, "level: debug", "level: loud", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do("reload of a broken config", 30*time.Second,
		chromedp.Click(chromedp.CSS("#reload-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#reload-result[data-ok="false"] .reload-error`)))
	t.Logf("refused reload shown as: %s", b.text("#reload-result"))
	b.screenshot("admin-reload-refused")
	if err := os.WriteFile(g.cfgPath, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}

	// A call through the trunk; its ladder on the calls page.
	if out, err := runUAC(t, "call_uac_auth.xml", g.UDP, "2000", 1); err != nil {
		t.Fatalf("sipp uac: %v\n%s", err, tail(out, 3000))
	}
	b.do("a call's ladder", 30*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#calls"),
		chromedp.WaitVisible(chromedp.CSS(`#ladders-table button.view-ladder`)),
		chromedp.Click(chromedp.CSS(`#ladders-table button.view-ladder`)),
		chromedp.WaitVisible(chromedp.CSS(`#ladder .ladder-msg`)))
	ladder := b.text("#ladder")
	for _, want := range []string{"INVITE", "180 Ringing", "200 OK", "ACK", "BYE"} {
		if !strings.Contains(ladder, want) {
			t.Fatalf("ladder lacks %s: %q", want, ladder)
		}
	}
	b.screenshot("admin-ladder")

	// The ladder's PCAP, downloaded by the browser, is a capture tshark
	// reads: the call's SIP messages.
	pcap := b.downloadPCAP(t.TempDir())
	out, err := combinedOutputChild(exec.Command(requireTool(t, "tshark"), "-r", pcap, "-Y", "sip", "-T", "fields", "-e", "sip.Method", "-e", "sip.Status-Code"))
	if err != nil {
		t.Fatalf("tshark -r the page's PCAP: %v\n%s", err, out)
	}
	for _, want := range []string{"INVITE", "180", "200", "ACK", "BYE"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the page's PCAP lacks %s; tshark read:\n%s", want, out)
		}
	}

	// The page's own session, without the CSRF token: refused.
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	st, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`fetch('/api/v1/bans/127.0.0.9', {method: 'DELETE', credentials: 'same-origin'}).then(r => String(r.status))`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if st != "403" {
		t.Fatalf("DELETE without X-CSRF-Token from the page: %s, want 403", st)
	}

	// End every session of admin on the server (a password change does):
	// the page's next request brings the login form back.
	newPW := "Changed-" + randHex(6)
	body, _ := json.Marshal(map[string]string{"old_password": g.adminPassword(), "password": newPW})
	req, err := http.NewRequest("PUT", "https://"+g.HTTP+"/api/v1/accounts/admin/password", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	g.authorize(req)
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("password change: %d", res.StatusCode)
	}
	b.do("stale session: a click brings the login form back", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#nav a[href="#bans"]`)),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if msg := b.text("#login-error"); !strings.Contains(msg, "expired") {
		t.Fatalf("login message after the session ended: %q", msg)
	}
	b.screenshot("admin-session-expired")
	b.adminLogin(g, "admin", newPW)
	b.do("logged in again, on the page it was on", 20*time.Second, chromedp.WaitVisible(chromedp.CSS("#bans-table tbody")))
}

// TestAdminUICTIRestart: the CTI page shows a Mitel driver (the bundled
// one, against the lab simulator) up with its monitors; its Restart
// button gives it a new process that comes back up with the same
// monitors, and the page shows the new PID.
func TestAdminUICTIRestart(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: []string{"201", "202"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: pbx1
      driver: mitel
      config: {address: %q, user: csta, password: secret, reconnect_min: 50ms}
      monitor: ["201", "202"]
`, sim.Addr()))
	before := g.waitCTI("up", func(d ctiDriver) bool { return d.State == "up" && d.Monitors == 2 })

	b := startBrowser(t)
	b.do("desktop viewport, open /admin#cti", 30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate("https://"+g.HTTP+"/admin#cti"))
	b.adminLogin(g, "admin", g.adminPassword())
	row := `#cti-table tr[data-driver="pbx1"]`
	b.do("driver listed up", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(row+" button.restart")))
	if txt := b.text(row); !strings.Contains(txt, "up") || !strings.Contains(txt, fmt.Sprint(before.PID)) {
		t.Fatalf("driver row %q, want up with pid %d", txt, before.PID)
	}
	b.do("restart", 20*time.Second, chromedp.Click(chromedp.CSS(row+" button.restart")))
	after := g.waitCTI("up again in a new process", func(d ctiDriver) bool {
		return d.State == "up" && d.Monitors == 2 && d.PID != before.PID && d.PID != 0
	})
	waitSimMonitors(t, sim, []string{"201", "202"})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.text(row), fmt.Sprintf("pid %d", after.PID)) {
		if time.Now().After(deadline) {
			t.Fatalf("the page does not show the new pid %d: %q", after.PID, b.text(row))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.screenshot("admin-cti")
}

// TestAdminUIHangup: two baresips in a call through the gateway; the calls
// page lists it with both legs' media (packets in growing between two
// refreshes, a loss figure, the codec and the relay's addresses), its
// Hang up button ends it (both phones see the call
// closed, the gateway's record says so) and the history page lists the
// record with both legs' media counts.
func TestAdminUIHangup(t *testing.T) {
	g, _, _ := baresipCall(t)

	b := startBrowser(t)
	b.do("desktop viewport, open /admin#calls", 30*time.Second,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate("https://"+g.HTTP+"/admin#calls"))
	b.adminLogin(g, "admin", g.adminPassword())
	b.do("the call listed", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#calls-table tr[data-call] button.hangup`)))
	if row := b.text(`#calls-table tr[data-call]`); !strings.Contains(row, "1001") {
		t.Fatalf("call row %q", row)
	}
	b.do("the call's media shown", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#media-table tr[data-leg="a"] td.media-in`)),
		chromedp.WaitVisible(chromedp.CSS(`#media-table tr[data-leg="b"] td.media-in`)))
	first, _ := b.mediaRow("a")
	deadline := time.Now().Add(20 * time.Second)
	for {
		time.Sleep(time.Second)
		again, loss := b.mediaRow("a")
		calleeIn, calleeLoss := b.mediaRow("b")
		if again > first && calleeIn > 0 {
			t.Logf("caller's leg: %d then %d packets in, loss %q; callee's leg %d in, loss %q", first, again, loss, calleeIn, calleeLoss)
			if !reLossCell.MatchString(loss) || !reLossCell.MatchString(calleeLoss) {
				t.Fatalf("loss cells %q, %q", loss, calleeLoss)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("packets in did not grow on the page: %d then %d (callee %d)\n%s", first, again, calleeIn, b.text("#media-table"))
		}
	}
	if addrs := b.mediaCell("a", "media-addrs"); !strings.Contains(addrs, "ours 127.0.0.1:") || !strings.Contains(addrs, ", from 127.0.0.1:") {
		t.Fatalf("relay addresses of the caller's leg: %q", addrs)
	}
	if who := b.mediaCell("a", "media-leg"); !strings.Contains(who, "u1000") {
		t.Fatalf("caller's leg named %q", who)
	}
	if codec := b.mediaCell("a", "media-codec"); !strings.Contains(codec, "/") {
		t.Fatalf("caller's codec on the page: %q", codec)
	}
	b.screenshot("admin-calls")
	b.do("hang up", 20*time.Second,
		chromedp.Click(chromedp.CSS(`#calls-table tr[data-call] button.hangup`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#calls-table tr[data-call]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#media-table tr[data-leg]`)))
	g.waitLog(`msg="call ended"`, 10*time.Second)
	r := waitCDR(t, g, "u1001")
	if r.Status != 200 || r.MediaA.Packets == 0 {
		t.Errorf("record after the page's hang up %+v", r)
	}
	b.do("history lists it", 20*time.Second,
		chromedp.Navigate("https://"+g.HTTP+"/admin#history"),
		chromedp.WaitVisible(chromedp.CSS(`#history-table tbody tr[data-call]`)))
	if row := b.text(`#history-table tbody tr[data-call]`); !strings.Contains(row, "u1000") || !strings.Contains(row, "pkts") {
		t.Fatalf("history row %q", row)
	}
}
