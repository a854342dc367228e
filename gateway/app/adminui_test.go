package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminUIEndpointsAuth: every endpoint the admin UI added refuses a
// caller without credentials (401), an operator (403), and a browser
// session's unsafe request without its CSRF token (403); the admin
// reaches each.
func TestAdminUIEndpointsAuth(t *testing.T) {
	a := runApp(t, "", nil)
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.9")
	admin := adminBasic(a)
	want(t, "create olga", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: admin,
		body: map[string]any{"name": "olga", "role": "operator", "password": "olga-password"}}), http.StatusCreated)
	olga := [2]string{"olga", "olga-password"}
	cookie, csrf := login(t, c, base, "admin", a.admin.adminPassword)

	routes := []call{
		{method: "GET", path: "/api/v1/stats/series"},
		{method: "GET", path: "/api/v1/users"},
		{method: "POST", path: "/api/v1/users", body: map[string]string{"username": "u2000", "password": "pw-2000"}},
		{method: "POST", path: "/api/v1/users/import", body: "username,password\nu2001,pw\n", hdr: map[string]string{"Content-Type": "text/csv"}},
		{method: "PUT", path: "/api/v1/users/u1000/password", body: map[string]string{"password": "new-secret"}},
		{method: "DELETE", path: "/api/v1/users/u2000"},
		{method: "DELETE", path: "/api/v1/registrations/u1000@example.com"},
		{method: "POST", path: "/api/v1/cti/drivers/pbx1/restart"},
	}
	for _, k := range routes {
		what := k.method + " " + k.path
		r := do(t, c, base, k)
		want(t, what+" without credentials", r, http.StatusUnauthorized)
		k2 := k
		k2.basic = olga
		want(t, what+" as an operator", do(t, c, base, k2), http.StatusForbidden)
		k3 := k
		k3.cookie = cookie
		if k.method != "GET" {
			want(t, what+" session without CSRF", do(t, c, base, k3), http.StatusForbidden)
			k3.hdr = map[string]string{"X-CSRF-Token": "wrong"}
			if k.hdr != nil {
				k3.hdr["Content-Type"] = k.hdr["Content-Type"]
			}
			want(t, what+" session with a wrong CSRF token", do(t, c, base, k3), http.StatusForbidden)
		}
		// The admin's session with its token gets past the checks (the
		// answer is the handler's: 2xx, or 404 for what is not there).
		k3.hdr = map[string]string{"X-CSRF-Token": csrf}
		if k.hdr != nil {
			k3.hdr["Content-Type"] = k.hdr["Content-Type"]
		}
		if r := do(t, c, base, k3); r.code == http.StatusUnauthorized || r.code == http.StatusForbidden {
			t.Fatalf("%s as the admin's session: %d %s", what, r.code, r.body)
		}
	}
}

// TestScriptFetchGetsNoBasicChallenge: a page's fetch without a cookie
// (Sec-Fetch-Mode: cors) gets 401 without the Basic challenge, which would
// make the browser pop up its own login dialog; a script (curl) keeps it.
func TestScriptFetchGetsNoBasicChallenge(t *testing.T) {
	a := runApp(t, "", nil)
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.9")
	r := do(t, c, base, call{method: "GET", path: "/api/v1/session", hdr: map[string]string{"Sec-Fetch-Mode": "cors"}})
	want(t, "page fetch", r, http.StatusUnauthorized)
	if ch := strings.Join(r.hdr.Values("WWW-Authenticate"), ","); strings.Contains(ch, "Basic") || !strings.Contains(ch, "Bearer") {
		t.Fatalf("page fetch challenge %q", ch)
	}
	for _, mode := range []string{"", "navigate"} {
		r = do(t, c, base, call{method: "GET", path: "/api/v1/session", hdr: map[string]string{"Sec-Fetch-Mode": mode}})
		if ch := strings.Join(r.hdr.Values("WWW-Authenticate"), ","); !strings.Contains(ch, "Basic") {
			t.Fatalf("Sec-Fetch-Mode %q: challenge %q, want Basic", mode, ch)
		}
	}
}

// TestSIPUsersAPI: users added, imported (with the failed-user report),
// listed without digests, their password reset and deleted; the SIP side
// sees each change; hostile bodies are refused.
func TestSIPUsersAPI(t *testing.T) {
	a := runApp(t, "", nil)
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.9")
	admin := adminBasic(a)
	add := func(body any) answer {
		return do(t, c, base, call{method: "POST", path: "/api/v1/users", basic: admin, body: body})
	}
	r := add(map[string]string{"username": "u2000", "password": "pw-2000", "display_name": "Desk", "extension": "2000"})
	want(t, "add", r, http.StatusCreated)
	if r.hdr.Get("Location") != "/api/v1/users/u2000" {
		t.Fatalf("Location %q", r.hdr.Get("Location"))
	}
	if _, ok := a.users.HA1("u2000", "MD5"); !ok {
		t.Fatal("the SIP side does not know u2000 after the add")
	}
	want(t, "duplicate", add(map[string]string{"username": "u2000", "password": "x"}), http.StatusConflict)
	for what, body := range map[string]any{
		"bad username":   map[string]string{"username": "-bad name", "password": "x"},
		"empty password": map[string]string{"username": "u2002", "password": ""},
		"unknown field":  `{"username":"u2003","password":"x","admin":true}`,
		"invalid JSON":   `{"username":`,
		"oversized":      `{"username":"u2004","password":"` + strings.Repeat("p", 100<<10) + `"}`,
	} {
		if r := add(body); r.code != http.StatusBadRequest && r.code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: %d %s", what, r.code, r.body)
		}
	}

	csv := "username,password,display_name\r\nu3000,pw,Three\r\n,pw,\r\nu2000,pw,dup\r\nu3001,,x\r\nu3002,pw,Two\r\n"
	r = do(t, c, base, call{method: "POST", path: "/api/v1/users/import", basic: admin, body: csv, hdr: map[string]string{"Content-Type": "text/csv"}})
	want(t, "import", r, http.StatusOK)
	var rep importView
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 2 || len(rep.Failed) != 3 || rep.Failed[0].Row != 3 || rep.Failed[1].Username != "u2000" ||
		!strings.Contains(rep.Failed[1].Reason, "exists") || rep.Failed[2].Row != 5 {
		t.Fatalf("import report %s", r.body)
	}
	for what, body := range map[string]string{
		"bad header":   "user,pass\nx,y\n",
		"unterminated": "username,password\n\"u4000,pw\n",
		"empty":        "",
	} {
		want(t, "import "+what, do(t, c, base, call{method: "POST", path: "/api/v1/users/import", basic: admin, body: body}), http.StatusBadRequest)
	}
	big := "username,password\n" + strings.Repeat("u5000,pw\n", (maxUsersCSV/9)+10)
	want(t, "import oversized", do(t, c, base, call{method: "POST", path: "/api/v1/users/import", basic: admin, body: big}), http.StatusRequestEntityTooLarge)

	r = do(t, c, base, call{method: "GET", path: "/api/v1/users?q=two", basic: admin})
	want(t, "search", r, http.StatusOK)
	var us []map[string]any
	if err := json.Unmarshal(r.body, &us); err != nil || len(us) != 1 || us[0]["username"] != "u3002" {
		t.Fatalf("search: %s", r.body)
	}
	r = do(t, c, base, call{method: "GET", path: "/api/v1/users", basic: admin})
	if strings.Contains(strings.ToLower(string(r.body)), "ha1") || !strings.Contains(string(r.body), `"u3000"`) {
		t.Fatalf("list: %s", r.body)
	}

	before, _ := a.users.HA1("u2000", "MD5")
	want(t, "reset password", do(t, c, base, call{method: "PUT", path: "/api/v1/users/u2000/password", basic: admin,
		body: map[string]string{"password": "changed"}}), http.StatusNoContent)
	if after, _ := a.users.HA1("u2000", "MD5"); after == before || after == "" {
		t.Fatal("the SIP side still has the old password")
	}
	want(t, "reset unknown", do(t, c, base, call{method: "PUT", path: "/api/v1/users/ghost/password", basic: admin,
		body: map[string]string{"password": "x"}}), http.StatusNotFound)
	want(t, "reset empty", do(t, c, base, call{method: "PUT", path: "/api/v1/users/u2000/password", basic: admin,
		body: map[string]string{"password": ""}}), http.StatusBadRequest)
	want(t, "delete", do(t, c, base, call{method: "DELETE", path: "/api/v1/users/u2000", basic: admin}), http.StatusNoContent)
	if _, ok := a.users.HA1("u2000", "MD5"); ok {
		t.Fatal("the SIP side still knows u2000 after the delete")
	}
	want(t, "delete again", do(t, c, base, call{method: "DELETE", path: "/api/v1/users/u2000", basic: admin}), http.StatusNotFound)
}

// TestStatsSeriesAndMissing: the series answers with its step, the
// sample taken at start and the figures now; unregistering an AOR
// without bindings and restarting an unknown driver are 404s.
func TestStatsSeriesAndMissing(t *testing.T) {
	a := runApp(t, "", nil)
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.9")
	admin := adminBasic(a)
	r := do(t, c, base, call{method: "GET", path: "/api/v1/stats/series", basic: admin})
	want(t, "series", r, http.StatusOK)
	var v statsSeriesView
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	if v.StepSeconds != 60 || len(v.Points) != 1 || v.Now.Time.Before(v.Points[0].Time) ||
		time.Since(v.Now.Time) > time.Minute || v.Now.Registrations != 0 || v.Now.ActiveCalls != 0 {
		t.Fatalf("series %s", r.body)
	}
	want(t, "unregister nobody", do(t, c, base, call{method: "DELETE", path: "/api/v1/registrations/u1000@example.com", basic: admin}), http.StatusNotFound)
	want(t, "unregister an oversized AOR", do(t, c, base, call{method: "DELETE", path: "/api/v1/registrations/" + strings.Repeat("a", 600) + "@example.com", basic: admin}), http.StatusBadRequest)
	want(t, "restart unknown", do(t, c, base, call{method: "POST", path: "/api/v1/cti/drivers/nope/restart", basic: admin}), http.StatusNotFound)
}
