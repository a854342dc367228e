package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/config"
)

// runApp starts a whole gateway (SIP on UDP and TCP, HTTPS) on 127.0.0.1
// port 0 with extra YAML appended, and stops it when the test ends.
// tweak, when set, runs between New and Run.
func runApp(t *testing.T, extra string, tweak func(*App)) *App {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "switchboard.yaml")
	yaml := "domain: example.com\ndata_dir: " + filepath.Join(dir, "data") + "\n" +
		"sip:\n  listen: [udp://127.0.0.1:0, tcp://127.0.0.1:0]\n" +
		"http:\n  listen: 127.0.0.1:0\n" +
		"users:\n  - {username: u1000, password: secret}\n" + extra
	if !strings.Contains("\n"+extra, "\nturn:") {
		yaml += "\nturn: {enabled: false}\n" // no fixed ports 3478/5349 in parallel tests
	}
	if !strings.Contains(extra, "webrtc:") {
		yaml += "webrtc: {port: 0}\n" // any free port: tests run side by side
	}
	if !strings.Contains("\n"+extra, "\nattendant:") {
		yaml += "attendant: {console_link: {tls: \"\"}}\n" // no fixed port 51235 in parallel tests
	}
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return startApp(t, path, nil, tweak)
}

// startApp runs the gateway of the config file at path with the logger
// log (nil: discard) until the test ends; tweak, when set, runs between
// New and Run.
func startApp(t *testing.T, path string, log *slog.Logger, tweak func(*App)) *App {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, path, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(a)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop within 15s")
		}
	})
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("gateway stopped before ready: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("gateway not ready within 15s")
	}
	return a
}

// clientFrom is an HTTPS client whose connections come from local address
// ip (any 127.0.0.x works on Linux loopback). The timeouts only bound a
// hang: a loaded machine (CI beside other jobs) took more than 10 s for a
// 4 MiB user import.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 20 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext:     d.DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed
	}}
}

// authClient is clientFrom with the first-run admin's credentials on
// every request.
func authClient(a *App, ip string) *http.Client {
	c := clientFrom(ip)
	c.Transport = basicAuth{user: accounts.FirstRunAccount, pass: a.admin.adminPassword, next: c.Transport}
	return c
}

// basicAuth adds HTTP Basic credentials to each request.
type basicAuth struct {
	user, pass string
	next       http.RoundTripper
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.pass)
	return b.next.RoundTrip(r)
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAdminAPIFromOtherHosts: every API route needs an account, so the
// API is served to other hosts too (http.api_allow's default is any): a
// request from another address, here 127.0.0.9, with credentials is
// served; without them it gets 401 on every API route; health and
// metrics stay open to monitoring.
func TestAdminAPIFromOtherHosts(t *testing.T) {
	a := runApp(t, "", nil)
	base := "https://" + a.AdminAddr()
	remote, local := authClient(a, "127.0.0.9"), authClient(a, "127.0.0.1")
	for _, path := range []string{"/api/v1/registrations", "/api/v1/bans", "/api/v1/trunks", "/debug/pprof/"} {
		for _, ip := range []string{"127.0.0.9", "127.0.0.1"} {
			if code, body := get(t, clientFrom(ip), base+path); code != http.StatusUnauthorized {
				t.Errorf("GET %s from %s without credentials: %d, want 401\n%s", path, ip, code, body)
			}
		}
		if code, body := get(t, remote, base+path); code != http.StatusOK {
			t.Errorf("GET %s from 127.0.0.9 with credentials: %d, want 200\n%s", path, code, body)
		}
		if code, body := get(t, local, base+path); code != http.StatusOK {
			t.Errorf("GET %s from 127.0.0.1: %d, want 200\n%s", path, code, body)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/api/v1/bans/192.0.2.1", nil)
	res, err := clientFrom("127.0.0.9").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("DELETE a ban from 127.0.0.9 without credentials: %d, want 401", res.StatusCode)
	}
	code, body := get(t, remote, base+"/api/v1/bans")
	var bans []banView
	if code != http.StatusOK || json.Unmarshal([]byte(body), &bans) != nil {
		t.Errorf("bans from 127.0.0.9: %d %q", code, body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := get(t, clientFrom("127.0.0.9"), base+path); code != http.StatusOK {
			t.Errorf("GET %s from 127.0.0.9: %d, want 200", path, code)
		}
	}
}

// TestAdminAPIAllowConfigured: http.api_allow names the management
// network; sources outside it are refused (403) even on loopback and
// with valid credentials.
func TestAdminAPIAllowConfigured(t *testing.T) {
	a := runApp(t, "", func(a *App) {
		a.admin.allow = mustPrefixes(t, "127.0.0.9/32")
	})
	base := "https://" + a.AdminAddr()
	if code, _ := get(t, authClient(a, "127.0.0.9"), base+"/api/v1/bans"); code != http.StatusOK {
		t.Errorf("from the allowed 127.0.0.9: %d", code)
	}
	if code, _ := get(t, authClient(a, "127.0.0.1"), base+"/api/v1/bans"); code != http.StatusForbidden {
		t.Errorf("from 127.0.0.1, not allowed: %d", code)
	}
}

func mustPrefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP.APIAllow = s
	return cfg.APIAllowPrefixes()
}

// TestAdminHugeHeaders: a request with 200 KiB of headers is refused
// with 431 (MaxHeaderBytes) instead of being read into memory.
func TestAdminHugeHeaders(t *testing.T) {
	a := runApp(t, "", nil)
	c, err := tls.DialWithDialer(&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}, Timeout: 5 * time.Second},
		"tcp", a.AdminAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	b.WriteString("GET /healthz HTTP/1.1\r\nHost: x\r\n")
	for i := range 200 {
		b.WriteString("X-Pad-" + strings.Repeat("a", 4) + string(rune('a'+i%26)) + ": " + strings.Repeat("b", 1000) + "\r\n")
	}
	b.WriteString("\r\n")
	go func() { _, _ = io.WriteString(c, b.String()) }()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 431 ") {
		t.Fatalf("200 KiB of headers answered %q, want 431", strings.TrimSpace(line))
	}
}

// TestAdminIdleConnectionClosed: a keep-alive connection that goes quiet
// after a request is closed by the server (IdleTimeout) instead of being
// held open for ever. The default is checked, then a short one is used.
func TestAdminIdleConnectionClosed(t *testing.T) {
	a := runApp(t, "", func(a *App) {
		if a.admin.srv.IdleTimeout <= 0 || a.admin.srv.ReadHeaderTimeout <= 0 {
			t.Errorf("IdleTimeout %v, ReadHeaderTimeout %v: want both set", a.admin.srv.IdleTimeout, a.admin.srv.ReadHeaderTimeout)
		}
		a.admin.srv.IdleTimeout = 300 * time.Millisecond
	})
	c, err := tls.DialWithDialer(&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}, Timeout: 5 * time.Second},
		"tcp", a.AdminAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = br.ReadByte()
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("idle connection not closed by the server: %v", err)
	}
}

// TestHTTPPanicRecovered injects a panicking handler behind the admin
// server's recovery: the request gets 500 and the panic is counted; a
// response already started is left as is.
func TestHTTPPanicRecovered(t *testing.T) {
	s := &adminServer{app: &App{log: slog.New(slog.DiscardHandler)}}
	h := s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.WriteHeader(http.StatusAccepted)
		}
		var m map[string]int
		m["x"]++
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for path, want := range map[string]int{"/early": http.StatusInternalServerError, "/late": http.StatusAccepted} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, want)
		}
	}
	if n := s.panics.Load(); n != 2 {
		t.Errorf("panics = %d, want 2", n)
	}
}
