package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestAssets: the page and its files are served with their content types,
// nosniff, and the page with a CSP that allows this origin's scripts only.
func TestAssets(t *testing.T) {
	srv := serve(t)
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/console", "text/html; charset=utf-8", `<script src="/console/static/console.js" defer></script>`},
		{"/console/static/console.js", "text/javascript; charset=utf-8", "/api/v1/events"},
		{"/console/static/console.css", "text/css; charset=utf-8", ".lamp"},
		{"/console/static/queues.js", "text/javascript; charset=utf-8", "/deflect"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, srv, tc.path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
	// The PBX queues panel: its script loads before the console's (both
	// deferred, so in order) and its section is on the page.
	_, page := get(t, srv, "/console")
	if q, c := strings.Index(page, `src="/console/static/queues.js" defer`), strings.Index(page, `src="/console/static/console.js"`); q < 0 || q > c {
		t.Error("page does not load queues.js before console.js")
	}
	for _, id := range []string{`id="queues-section"`, `id="queues"`, `id="queues-count"`} {
		if !strings.Contains(page, id) {
			t.Errorf("page lacks %s", id)
		}
	}
	res, _ := get(t, srv, "/console")
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "connect-src 'self' wss://"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
}

// TestNotServed: no listing of the static folder, no second copy of the
// page, unknown files 404.
func TestNotServed(t *testing.T) {
	srv := serve(t)
	for _, p := range []string{"/console/static/", "/console/static/index.html", "/console/static/nope.js", "/console/static/../console.go"} {
		if res, _ := get(t, srv, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := get(t, srv, "/console"); res.StatusCode != http.StatusOK {
		t.Fatal("page not served")
	}
	// A Host header that would smuggle a source into the CSP is not echoed.
	req, _ := http.NewRequest("GET", srv.URL+"/console", nil)
	req.Host = "evil.example; script-src *"
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); strings.Contains(csp, "evil") {
		t.Errorf("CSP echoes the Host header: %q", csp)
	}
}

var (
	externalURL  = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9-]+(\.[a-z0-9-]+)+[/"'\s)]|@import|url\(\s*["']?(https?:|//)`)
	inlineScript = regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]|\son[a-z]+\s*=|\sstyle\s*=|javascript:`)
)

// TestNoExternalURLs: nothing in the bundle loads from another origin, and
// the page has no inline script or style (the CSP would block them).
func TestNoExternalURLs(t *testing.T) {
	n := 0
	err := fs.WalkDir(staticFiles, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := staticFiles.ReadFile(path)
		if err != nil {
			return err
		}
		if m := externalURL.Find(b); m != nil {
			t.Errorf("%s refers to another origin: %q", path, m)
		}
		if strings.HasSuffix(path, ".html") {
			if m := inlineScript.Find(b); m != nil {
				t.Errorf("%s has inline script or style: %q", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("bundle has %d files, want the page, script and style", n)
	}
}
