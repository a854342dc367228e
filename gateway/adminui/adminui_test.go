package adminui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServes: the page and its files are served with the CSP; the
// folder listing and unknown files are not.
func TestServes(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/admin", `id="login-form"`, 200},
		{"/admin/", `id="login-form"`, 200},
		{"/admin/static/app.js", "X-CSRF-Token", 200},
		{"/admin/static/app.css", "--accent", 200},
		{"/admin/static/", "not found", 404},
		{"/admin/static/index.html", "not found", 404},
		{"/admin/static/nope.js", "not found", 404},
		{"/admin/static/../../etc/passwd", "", 404},
	} {
		res, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %.200s", tc.path, res.StatusCode, b)
		}
		if tc.status == 200 && !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: CSP %q", tc.path, res.Header.Get("Content-Security-Policy"))
		}
	}
}
