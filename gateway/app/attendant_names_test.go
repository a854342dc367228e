package app

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestDeviceNamesPaged: every gateway user's display name reaches the
// console through GET /api/v1/devices/names, page after page, beyond
// the directory's search cap (directory.search_max_results, 100 by
// default); users without a display name are left out; bad paging is a
// problem document.
func TestDeviceNamesPaged(t *testing.T) {
	const n = 1203
	var users strings.Builder
	for i := range n {
		fmt.Fprintf(&users, "  - {username: u%d, password: secret, display_name: \"Person %04d\"}\n", 2000+i, i)
	}
	users.WriteString("  - {username: u9999, password: secret}\n") // no name
	a := runApp(t, users.String(), nil)
	c := authClient(a, "127.0.0.1")
	base := "https://" + a.AdminAddr()

	// The directory alone stops at its cap.
	code, _, body := attDo(t, c, "GET", base+"/api/v1/directory?kind=user", "")
	if code != http.StatusOK || !strings.Contains(strings.ReplaceAll(body, " ", ""), `"truncated":true`) {
		t.Fatalf("directory: %d %.200s", code, body)
	}
	got := map[string]string{}
	after, pages := "", 0
	for {
		var p namesPage
		r := do(t, c, base, call{method: "GET", path: "/api/v1/devices/names?limit=500&after=" + after})
		want(t, "names page", r, http.StatusOK)
		r.json(t, &p)
		pages++
		for _, dn := range p.Names {
			if _, dup := got[dn.Device]; dup {
				t.Fatalf("%s twice", dn.Device)
			}
			got[dn.Device] = dn.Name
		}
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		after = p.Next
	}
	if len(got) != n || pages != 3 {
		t.Fatalf("%d names in %d pages, want %d in 3", len(got), pages, n)
	}
	if got["gateway:u2000"] != "Person 0000" || got["gateway:u3202"] != "Person 1202" {
		t.Errorf("names %q %q", got["gateway:u2000"], got["gateway:u3202"])
	}
	if _, ok := got["gateway:u9999"]; ok {
		t.Error("a user without a display name is listed")
	}
	for _, q := range []string{"limit=0", "limit=5001", "limit=x", "after=" + strings.Repeat("a", 300)} {
		r := do(t, c, base, call{method: "GET", path: "/api/v1/devices/names?" + q})
		want(t, q, r, http.StatusBadRequest)
		if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%s: content type %q", q, ct)
		}
	}
	r := do(t, clientFrom("127.0.0.1"), base, call{method: "GET", path: "/api/v1/devices/names"})
	want(t, "names without credentials", r, http.StatusUnauthorized)
}
