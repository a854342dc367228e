package app

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/provision/settings46xx"
)

// sipPort returns the bound port of the app's SIP listener of scheme.
func sipPort(t *testing.T, a *App, scheme string) int {
	t.Helper()
	for _, b := range a.SIP().Bound() {
		if b.Scheme == scheme {
			return int(b.AddrPort.Port())
		}
	}
	t.Fatalf("no %s listener", scheme)
	return 0
}

func evalSettings(t *testing.T, body, model string) map[string]string {
	t.Helper()
	f, err := settings46xx.Parse([]byte(body))
	if err != nil {
		t.Fatalf("served settings do not parse: %v\n%s", err, body)
	}
	s, _ := settings46xx.Eval(f, map[string]string{"MODEL4": model})
	return s
}

// TestSettingsFileServed: /46xxsettings.txt on the HTTPS port without
// credentials (Workplace fetches it before logging in), generated from
// the running gateway: its bound TCP port, domain, dial plan; the
// provisioning listeners serve the files and nothing else, plain HTTP
// only when configured.
func TestSettingsFileServed(t *testing.T) {
	a := runApp(t, "provisioning: {listen: 127.0.0.1:0, http_listen: 127.0.0.1:0, host: sip.example.com}\n"+
		"trunks:\n  - {name: pbx, target: sip:127.0.0.1:5999, match: [\"0x\", \"112\"]}\n", nil)
	c := clientFrom("127.0.0.1")
	code, body := get(t, c, "https://"+a.AdminAddr()+"/46xxsettings.txt")
	if code != 200 {
		t.Fatalf("GET /46xxsettings.txt on the HTTPS side: %d %s", code, body)
	}
	httpsAddr, plainAddr := a.ProvisioningAddrs()
	if httpsAddr == "" || plainAddr == "" {
		t.Fatalf("provisioning listeners %q %q", httpsAddr, plainAddr)
	}
	s := evalSettings(t, body, "acw")
	want := map[string]string{
		"SIPDOMAIN":               "example.com",
		"SIP_CONTROLLER_LIST":     "sip.example.com:" + strconv.Itoa(sipPort(t, a, "tcp")) + ";transport=tcp",
		"SETTINGS_CHECK_INTERVAL": "1",
		"SETTINGS_FILE_URL":       "https://sip.example.com:" + strconv.Itoa(boundPort(httpsAddr)) + "/46xxsettings.txt",
		"HTTPPORT":                strconv.Itoa(boundPort(plainAddr)),
		"DIALPLAN":                "112",
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %q, want %q", k, s[k], v)
		}
	}
	for _, u := range []string{"https://" + httpsAddr, "http://" + plainAddr} {
		code, got := get(t, c, u+"/46xxsettings.txt")
		if code != 200 || got != body {
			t.Errorf("%s/46xxsettings.txt: %d, same as the HTTPS side: %v", u, code, got == body)
		}
		if code, _ := get(t, c, u+"/46xxspecials.txt"); code != 200 {
			t.Errorf("%s/46xxspecials.txt: %d", u, code)
		}
		if code, _ := get(t, authClient(a, "127.0.0.1"), u+"/api/v1/registrations"); code != http.StatusNotFound {
			t.Errorf("%s serves the API: %d", u, code)
		}
	}
	// Plain HTTP is not served on the HTTPS provisioning port.
	if res, err := c.Get("http://" + httpsAddr + "/46xxsettings.txt"); err == nil {
		if res.StatusCode == 200 {
			t.Error("plain HTTP answered on provisioning.listen")
		}
		res.Body.Close()
	}
}

// TestSettingsPlainHTTPOff: without http_listen nothing answers plain
// HTTP, and the HTTPS side does not either.
func TestSettingsPlainHTTPOff(t *testing.T) {
	a := runApp(t, "", nil)
	if h, p := a.ProvisioningAddrs(); h != "" || p != "" {
		t.Errorf("provisioning listeners without config: %q %q", h, p)
	}
	res, err := clientFrom("127.0.0.1").Get("http://" + a.AdminAddr() + "/46xxsettings.txt")
	if err == nil {
		if res.StatusCode == 200 {
			t.Error("plain HTTP served the settings file")
		}
		res.Body.Close()
	}
}

// TestSpecialsGarbageStatus: a garbage 46xxspecials.txt shows in the
// admin status with its line; the generated file is still served.
func TestSpecialsGarbageStatus(t *testing.T) {
	a := runApp(t, "", nil)
	c := clientFrom("127.0.0.1")
	_, clean := get(t, c, "https://"+a.AdminAddr()+"/46xxsettings.txt")
	if err := os.WriteFile(filepath.Join(a.cfg.DataDir, "46xxspecials.txt"), []byte("SET A 1\n\x00\x01binary\xff\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, c, "https://"+a.AdminAddr()+"/46xxsettings.txt")
	if code != 200 || body != clean {
		t.Errorf("with garbage specials: %d, unchanged %v", code, body == clean)
	}
	code, _ = get(t, c, "https://"+a.AdminAddr()+"/api/v1/provisioning/status")
	if code != http.StatusUnauthorized {
		t.Errorf("status without credentials: %d", code)
	}
	code, body = get(t, authClient(a, "127.0.0.1"), "https://"+a.AdminAddr()+"/api/v1/provisioning/status")
	var st provisionStatusView
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("status: %d %v %s", code, err, body)
	}
	if !st.Specials.SpecialsPresent || st.Specials.SpecialsApplied || len(st.Specials.SpecialsErrors) != 1 ||
		!strings.HasPrefix(st.Specials.SpecialsErrors[0], "line 2: not a text file") {
		t.Errorf("status = %+v", st.Specials)
	}
	if err := os.WriteFile(filepath.Join(a.cfg.DataDir, "46xxspecials.txt"), []byte("SET SIPDOMAIN special.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, "https://"+a.AdminAddr()+"/46xxsettings.txt")
	if evalSettings(t, body, "acw")["SIPDOMAIN"] != "special.example" {
		t.Error("valid specials do not override SIPDOMAIN")
	}
}

// TestProvisionUserAPI: the admin reads a user's settings (no secrets),
// the user reads its own with its credentials; the QR code reads back as
// the web phone URL.
func TestProvisionUserAPI(t *testing.T) {
	a := runApp(t, "provisioning: {host: sip.example.com}\n", nil)
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	for _, p := range []string{"/api/v1/provisioning/users/u1000", "/api/v1/provisioning/users/u1000/qr.png"} {
		if code, _ := get(t, c, base+p); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d", p, code)
		}
	}
	op := operatorClient(t, a)
	for _, p := range []string{"/api/v1/provisioning/status", "/api/v1/provisioning/users/u1000", "/api/v1/provisioning/users/u1000/qr.png"} {
		if code, _ := get(t, op, base+p); code != http.StatusForbidden {
			t.Errorf("%s as an operator: %d, want 403", p, code)
		}
	}
	admin := authClient(a, "127.0.0.1")
	code, body := get(t, admin, base+"/api/v1/provisioning/users/u1000")
	var acct map[string]any
	if err := json.Unmarshal([]byte(body), &acct); code != 200 || err != nil {
		t.Fatalf("%d %v %s", code, err, body)
	}
	wantURL := "https://sip.example.com:" + strconv.Itoa(boundPort(a.AdminAddr())) + "/phone?user=u1000"
	if acct["uri"] != "sip:u1000@example.com" || acct["web_phone_url"] != wantURL ||
		!strings.Contains(body, "sip:sip.example.com:"+strconv.Itoa(sipPort(t, a, "tcp"))+";transport=tcp") {
		t.Errorf("account = %s", body)
	}
	if strings.Contains(body, "ha1") || strings.Contains(body, "credential") {
		t.Errorf("admin view carries secrets: %s", body)
	}
	if code, body := get(t, admin, base+"/api/v1/provisioning/users/nobody"); code != 404 || !strings.Contains(body, "no such user") {
		t.Errorf("unknown user: %d %s", code, body)
	}

	// The user itself, with Basic credentials of its SIP account.
	req, _ := http.NewRequest("GET", base+"/phone/api/provisioning", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("self without login: %d", res.StatusCode)
	}
	req.SetBasicAuth("u1000", "wrong")
	if res, err = c.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("self with a wrong password: %d", res.StatusCode)
		}
	}
	req.SetBasicAuth("u1000", "secret")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var self struct {
		Username    string `json:"username"`
		Credentials struct {
			AuthUsername string `json:"auth_username"`
			HA1MD5       string `json:"ha1_md5"`
		} `json:"credentials"`
	}
	err = json.NewDecoder(res.Body).Decode(&self)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || self.Username != "u1000" || self.Credentials.AuthUsername != "u1000" || self.Credentials.HA1MD5 == "" ||
		self.Credentials.HA1MD5 != a.mustUser(t, "u1000").HA1MD5 {
		t.Errorf("self: %d %v %+v", res.StatusCode, err, self)
	}

	code, png := get(t, admin, base+"/api/v1/provisioning/users/u1000/qr.png")
	if code != 200 || !strings.HasPrefix(png, "\x89PNG\r\n\x1a\n") {
		t.Fatalf("qr: %d %q", code, png[:min(len(png), 16)])
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zbarimg not found: make deps-test installs zbar-tools")
		}
		t.Skip("zbarimg not installed (make deps-test installs zbar-tools): the QR code's content is not checked")
	}
	path := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(path, []byte(png), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--raw", "-q", path).Output()
	if err != nil || strings.TrimSpace(string(out)) != wantURL {
		t.Errorf("zbarimg read %q (%v), want %q", out, err, wantURL)
	}
}

func (a *App) mustUser(t *testing.T, name string) (u struct{ HA1MD5 string }) {
	t.Helper()
	su, ok := a.users.User(name)
	if !ok {
		t.Fatalf("no user %s", name)
	}
	u.HA1MD5 = su.HA1MD5
	return u
}
