package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientAt is an HTTPS client whose connections come from ip.
func clientAt(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed
}

// TestFirstRunAndSessionLogin, against the binary: the first start prints
// the admin password once and writes it to data_dir/admin.password
// (0600), a restart does not print it again, a start with the database
// gone recreates the admin from the file; the admin logs in from
// another host (127.0.0.9) with a session; the session cookie works until
// logout and is useless afterwards; changing the admin's password removes
// the file.
func TestFirstRunAndSessionLogin(t *testing.T) {
	g := startGateway(t, "")
	path := filepath.Join(g.dataDir, "admin.password")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.password mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	pw := strings.TrimSpace(string(b))
	if len(pw) < 16 {
		t.Fatalf("admin password %q too short", pw)
	}
	if n := strings.Count(g.log.String(), pw); n != 1 {
		t.Fatalf("first start printed the password %d times, want once:\n%s", n, g.log.String())
	}
	if !strings.Contains(g.log.String(), "/admin") {
		t.Errorf("first start did not print the admin UI URL:\n%s", g.log.String())
	}
	g.restart()
	if strings.Contains(g.log.String(), pw) {
		t.Fatalf("a restart printed the password again:\n%s", g.log.String())
	}
	// Restored data without its database: the admin comes back with the
	// password of the file, which is neither replaced nor printed.
	g.requireCleanStop()
	dbs, _ := filepath.Glob(filepath.Join(g.dataDir, "switchboard.db*"))
	for _, f := range dbs {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	g.start()
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != pw {
		t.Fatalf("admin.password replaced on a start with an empty store: %q", b)
	}
	if strings.Contains(g.log.String(), pw) || !strings.Contains(g.log.String(), "recreated") {
		t.Fatalf("start with an empty store and the file: want the admin recreated quietly:\n%s", g.log.String())
	}

	c := clientAt("127.0.0.9")
	base := "https://" + g.HTTP
	post := func(path string, v any, cookie, csrf string) *http.Response {
		t.Helper()
		j, _ := json.Marshal(v)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(j))
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "sb_session", Value: cookie})
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	send := func(method, path, cookie, csrf string, body any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			rd = bytes.NewReader(j)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.AddCookie(&http.Cookie{Name: "sb_session", Value: cookie})
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}

	res := post("/api/v1/session", map[string]string{"account": "admin", "password": "wrong-password"}, "", "")
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	res = post("/api/v1/session", map[string]string{"account": "admin", "password": pw}, "", "")
	var sess struct {
		Account   string `json:"account"`
		Role      string `json:"role"`
		CSRFToken string `json:"csrf_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&sess)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || err != nil || sess.Role != "admin" || sess.CSRFToken == "" {
		t.Fatalf("login from 127.0.0.9: %d %+v %v", res.StatusCode, sess, err)
	}
	var cookie string
	for _, ck := range res.Cookies() {
		if ck.Name == "sb_session" && ck.HttpOnly && ck.Secure && ck.SameSite == http.SameSiteStrictMode {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		t.Fatalf("no HttpOnly, Secure, SameSite=Strict session cookie: %v", res.Header.Values("Set-Cookie"))
	}
	if code := send("GET", "/api/v1/registrations", cookie, "", nil); code != http.StatusOK {
		t.Fatalf("registrations with the session: %d", code)
	}
	if code := send("DELETE", "/api/v1/session", cookie, "", nil); code != http.StatusForbidden {
		t.Fatalf("logout without the CSRF token: %d, want 403", code)
	}
	if code := send("DELETE", "/api/v1/session", cookie, sess.CSRFToken, nil); code != http.StatusNoContent {
		t.Fatalf("logout: %d", code)
	}
	for _, p := range []string{"/api/v1/registrations", "/api/v1/session"} {
		if code := send("GET", p, cookie, "", nil); code != http.StatusUnauthorized {
			t.Fatalf("GET %s with the cookie after logout: %d, want 401", p, code)
		}
	}

	// A new session, then the password changed: the file goes, the old
	// session and password stop working, the new one logs in.
	res = post("/api/v1/session", map[string]string{"account": "admin", "password": pw}, "", "")
	_ = json.NewDecoder(res.Body).Decode(&sess)
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "sb_session" {
			cookie = ck.Value
		}
	}
	if code := send("PUT", "/api/v1/accounts/admin/password", cookie, sess.CSRFToken,
		map[string]string{"old_password": pw, "password": "a-new-admin-password"}); code != http.StatusNoContent {
		t.Fatalf("password change: %d", code)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("admin.password after the change: %v", err)
	}
	if code := send("GET", "/api/v1/session", cookie, "", nil); code != http.StatusUnauthorized {
		t.Fatalf("session after the password change: %d", code)
	}
	res = post("/api/v1/session", map[string]string{"account": "admin", "password": "a-new-admin-password"}, "", "")
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login with the new password: %d", res.StatusCode)
	}
}
