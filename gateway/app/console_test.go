package app

import (
	"net/http"
	"strings"
	"testing"
)

// TestConsolePage: the HTTPS side serves the operator console with its
// CSP, and a page's fetch without a session gets a 401 without a Basic
// challenge (the browser's own dialog would cover the console's login
// form), while other clients still get one.
func TestConsolePage(t *testing.T) {
	a := runApp(t, "", nil)
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.9")

	r := do(t, c, base, call{method: "GET", path: "/console"})
	want(t, "console page", r, http.StatusOK)
	if csp := r.hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("console CSP %q", csp)
	}
	want(t, "console script", do(t, c, base, call{method: "GET", path: "/console/static/console.js"}), http.StatusOK)

	for _, tc := range []struct {
		name, mode string
		basic      bool
	}{
		{"a page's fetch", "cors", false},
		{"a same-origin fetch", "same-origin", false},
		{"a navigation", "navigate", true},
		{"a script (curl)", "", true},
	} {
		hdr := map[string]string{}
		if tc.mode != "" {
			hdr["Sec-Fetch-Mode"] = tc.mode
		}
		r := do(t, c, base, call{method: "GET", path: "/api/v1/session", hdr: hdr})
		want(t, tc.name, r, http.StatusUnauthorized)
		ch := strings.Join(r.hdr.Values("WWW-Authenticate"), ", ")
		if strings.Contains(ch, "Basic") != tc.basic || !strings.Contains(ch, "Bearer") {
			t.Errorf("%s: challenge %q, want Basic %v and Bearer", tc.name, ch, tc.basic)
		}
	}
}
