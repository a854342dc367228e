package e2e

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-gw/switchboard/gateway/provision/settings46xx"
)

var reProvisioning = regexp.MustCompile(`msg="provisioning listening" addr=(\S+) tls=(\w+)`)

// provisioningAddrs reads the provisioning listeners from the log.
func provisioningAddrs(g *gateway) (https, plain string) {
	for _, m := range reProvisioning.FindAllStringSubmatch(g.log.String(), -1) {
		if m[2] == "true" {
			https = m[1]
		} else {
			plain = m[1]
		}
	}
	return https, plain
}

// fetch GETs url as an Avaya Workplace client would (no credentials).
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("User-Agent", "Avaya Workplace/3.38 (acw)")
	res, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestProvisioningListeners: the binary serves 46xxsettings.txt on the
// configured provisioning listener over HTTPS and, because it is enabled,
// over plain HTTP; the file names the gateway's TLS then TCP SIP ports
// (seed 003's host:port;transport= form) and is read by our parser as an
// acw client sees it. A garbage 46xxspecials.txt is logged and the
// generated file is still served.
func TestProvisioningListeners(t *testing.T) {
	g := startGateway(t, "provisioning: {listen: 127.0.0.1:0, http_listen: 127.0.0.1:0, host: sip.example.com}\n")
	httpsAddr, plain := provisioningAddrs(g)
	if httpsAddr == "" || plain == "" {
		t.Fatalf("provisioning listeners not in the log:\n%s", g.log.String())
	}
	code, body := fetch(t, "https://"+httpsAddr+"/46xxsettings.txt")
	if code != 200 {
		t.Fatalf("HTTPS 46xxsettings.txt: %d %s", code, body)
	}
	f, err := settings46xx.Parse([]byte(body))
	if err != nil {
		t.Fatalf("served file does not parse: %v", err)
	}
	s, _ := settings46xx.Eval(f, map[string]string{"MODEL4": "acw"})
	port := func(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }
	want := "sip.example.com:" + port(g.TLS) + ";transport=tls,sip.example.com:" + port(g.TCP) + ";transport=tcp"
	if s["SIP_CONTROLLER_LIST"] != want || s["SIPDOMAIN"] != "example.com" || s["SETTINGS_CHECK_INTERVAL"] != "1" ||
		s["SETTINGS_FILE_URL"] != "https://sip.example.com:"+port(httpsAddr)+"/46xxsettings.txt" {
		t.Errorf("acw settings: %v", s)
	}
	if code, got := fetch(t, "http://"+plain+"/46xxsettings.txt"); code != 200 || got != body {
		t.Errorf("plain HTTP: %d, same file %v", code, got == body)
	}
	if code, got := fetch(t, "https://"+g.HTTP+"/46xxsettings.txt"); code != 200 || got != body {
		t.Errorf("HTTPS side: %d, same file %v", code, got == body)
	}
	if code, _ := fetch(t, "https://"+httpsAddr+"/api/v1/registrations"); code != 404 {
		t.Errorf("provisioning listener serves the API: %d", code)
	}

	if err := os.WriteFile(filepath.Join(g.dataDir, "46xxspecials.txt"), []byte("SET A 1\nrm -rf /\n\x00\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, got := fetch(t, "https://"+httpsAddr+"/46xxsettings.txt"); code != 200 || got != body {
		t.Errorf("with garbage specials: %d, the generated file alone %v", code, got == body)
	}
	logged := func() bool {
		return strings.Contains(g.log.String(), "46xxspecials.txt has errors") && strings.Contains(g.log.String(), "line 2: unknown command")
	}
	for deadline := time.Now().Add(10 * time.Second); !logged() && time.Now().Before(deadline); { // the log comes through a pipe
		time.Sleep(20 * time.Millisecond)
	}
	if !logged() {
		t.Errorf("garbage specials not logged with the line:\n%s", g.log.String())
	}
	g.requireAlive()
}

// TestProvisioningPlainHTTPOnlyWhenEnabled: with only provisioning.listen,
// nothing answers plain HTTP.
func TestProvisioningPlainHTTPOnlyWhenEnabled(t *testing.T) {
	g := startGateway(t, "provisioning: {listen: 127.0.0.1:0}\n")
	httpsAddr, plain := provisioningAddrs(g)
	if httpsAddr == "" || plain != "" {
		t.Fatalf("listeners %q %q", httpsAddr, plain)
	}
	if code, _ := fetch(t, "https://"+httpsAddr+"/46xxsettings.txt"); code != 200 {
		t.Errorf("HTTPS: %d", code)
	}
	for _, a := range []string{httpsAddr, g.HTTP} {
		if code, _ := fetch(t, "http://"+a+"/46xxsettings.txt"); code == 200 {
			t.Errorf("plain HTTP answered on %s", a)
		}
	}
}

// TestProvisioningQROpensWebPhone: the QR code an admin prints for a user
// reads (zbarimg) as the web phone URL; Chromium opens it, finds the
// username filled in, and the user logs in with only the password and
// registers.
func TestProvisioningQROpensWebPhone(t *testing.T) {
	zbar := requireTool(t, "zbarimg")
	g := startGateway(t, "provisioning: {host: 127.0.0.1}\nregistrar: {algorithms: [MD5]}\n")
	code, png := g.api("GET", "/api/v1/provisioning/users/u1000/qr.png")
	if code != 200 {
		t.Fatalf("qr.png: %d %s", code, png)
	}
	path := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := outputChild(exec.Command(zbar, "--raw", "-q", path))
	url := strings.TrimSpace(string(out))
	if err != nil || url != "https://"+g.HTTP+"/phone?user=u1000" {
		t.Fatalf("QR code reads %q (%v), want the web phone URL of u1000 on %s", url, err, g.HTTP)
	}
	b := startBrowser(t)
	b.do("open the QR code's URL", 30*time.Second,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
	)
	user := ""
	for deadline := time.Now().Add(10 * time.Second); user != "u1000" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		user, _ = b.eval(`document.querySelector("#username").value`)
	}
	if user != "u1000" {
		t.Fatalf("username field %q, want u1000 from the link", user)
	}
	b.do("log in with the password only", 30*time.Second,
		chromedp.SendKeys(chromedp.CSS("#password"), "secret"),
		chromedp.Click(chromedp.CSS("#login-btn")),
	)
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	b.screenshot("provisioning-qr-login")
}
