package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
)

// testClock is a clock the tests move.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// withClock gives the app an accounts service on an injected clock (same
// store, same first-run admin).
func withClock(t *testing.T, c *testClock) func(*App) {
	return func(a *App) {
		svc, err := accounts.New(accounts.Options{Store: a.store, Now: c.Now, SessionIdle: 30 * time.Minute,
			SessionMax: 12 * time.Hour, LoginFailures: 50, Hash: accounts.HashParams{Memory: 64, Time: 1, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		a.acct = svc
	}
}

// call is one API request and its answer.
type call struct {
	method, path string
	body         any // marshalled unless a string
	hdr          map[string]string
	cookie       string
	basic        [2]string
	bearer       string
}

type answer struct {
	code int
	hdr  http.Header
	body []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.code, a.body, err)
	}
}

func do(t *testing.T, c *http.Client, base string, k call) answer {
	t.Helper()
	var body io.Reader
	switch b := k.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(k.method, base+k.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for h, v := range k.hdr {
		req.Header.Set(h, v)
	}
	if k.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: k.cookie})
	}
	if k.basic[0] != "" {
		req.SetBasicAuth(k.basic[0], k.basic[1])
	}
	if k.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+k.bearer)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", k.method, k.path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{code: res.StatusCode, hdr: res.Header, body: b}
}

func want(t *testing.T, what string, got answer, code int) {
	t.Helper()
	if got.code != code {
		t.Fatalf("%s: %d, want %d\n%s", what, got.code, code, got.body)
	}
	if code >= 400 && !strings.HasPrefix(got.hdr.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%s: %d with Content-Type %q, want a problem document", what, code, got.hdr.Get("Content-Type"))
	}
}

// login opens a session and returns the cookie value and CSRF token.
func login(t *testing.T, c *http.Client, base, name, pw string) (string, string) {
	t.Helper()
	r := do(t, c, base, call{method: "POST", path: "/api/v1/session", body: map[string]string{"account": name, "password": pw}})
	want(t, "login "+name, r, http.StatusOK)
	var v sessionView
	r.json(t, &v)
	var cookie *http.Cookie
	for _, ck := range (&http.Response{Header: r.hdr}).Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/", cookie)
	}
	if v.Account != name || v.CSRFToken == "" || v.Via != "session" {
		t.Fatalf("login answer %+v", v)
	}
	return cookie.Value, v.CSRFToken
}

func adminBasic(a *App) [2]string { return [2]string{accounts.FirstRunAccount, a.admin.adminPassword} }

// TestAccountsAPI walks the accounts, session, token and operator routes
// as admin, supervisor and operator, with the failures each must give.
func TestAccountsAPI(t *testing.T) {
	clk := &testClock{t: time.Now()}
	reasons := filepath.Join(t.TempDir(), "reasons.txt")
	if err := os.WriteFile(reasons, []byte("Lunch\nMeeting\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := runApp(t, "operators: {pause_reasons: mandatory, pause_reasons_file: "+reasons+", panic: {enabled: true, number: \"112\"}}\n",
		withClock(t, clk))
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.9") // another host
	admin := adminBasic(a)

	// Accounts made by the admin.
	r := do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: admin, body: map[string]any{
		"name": "olga", "display_name": "Olga", "role": "operator", "groups": []string{"reception"},
		"device": "gateway:u1000", "password": "olga-password"}})
	want(t, "create olga", r, http.StatusCreated)
	if r.hdr.Get("Location") != "/api/v1/accounts/olga" || strings.Contains(string(r.body), "argon2") {
		t.Fatalf("create answer %v %s", r.hdr, r.body)
	}
	want(t, "create sam", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: admin,
		body: map[string]any{"name": "sam", "role": "supervisor", "password": "sam-password"}}), http.StatusCreated)
	for what, k := range map[string]call{
		"unknown field":  {body: `{"name":"x","role":"operator","password":"long-enough","admin":true}`},
		"invalid JSON":   {body: `{"name":"x",`},
		"trailing data":  {body: `{"name":"x","role":"operator","password":"long-enough"} {}`},
		"wrong type":     {body: `{"name":1,"role":"operator","password":"long-enough"}`},
		"bad role":       {body: `{"name":"x","role":"root","password":"long-enough"}`},
		"short password": {body: `{"name":"x","role":"operator","password":"short"}`},
		"bad device":     {body: `{"name":"x","role":"operator","password":"long-enough","device":"1000"}`},
	} {
		k.method, k.path, k.basic = "POST", "/api/v1/accounts", admin
		want(t, what, do(t, c, base, k), http.StatusBadRequest)
	}
	big := `{"name":"x","role":"operator","password":"` + strings.Repeat("p", 20<<10) + `"}`
	want(t, "oversized", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: admin, body: big}), http.StatusRequestEntityTooLarge)
	want(t, "duplicate", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: admin,
		body: map[string]any{"name": "olga", "role": "operator", "password": "long-enough"}}), http.StatusConflict)
	want(t, "form body", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: admin, body: "name=x",
		hdr: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}), http.StatusUnsupportedMediaType)

	// Authorisation failures without a session.
	r = do(t, c, base, call{method: "GET", path: "/api/v1/accounts"})
	want(t, "no credentials", r, http.StatusUnauthorized)
	if !strings.Contains(strings.Join(r.hdr.Values("WWW-Authenticate"), ","), "Basic") {
		t.Fatalf("401 without a Basic challenge: %v", r.hdr)
	}
	r = do(t, c, base, call{method: "GET", path: "/api/v1/accounts", basic: [2]string{"admin", "wrong"}})
	want(t, "Basic, wrong password", r, http.StatusUnauthorized)
	want(t, "Basic, unknown account", do(t, c, base, call{method: "GET", path: "/api/v1/accounts", basic: [2]string{"ghost", "wrong"}}), http.StatusUnauthorized)
	want(t, "malformed Authorization", do(t, c, base, call{method: "GET", path: "/api/v1/accounts",
		hdr: map[string]string{"Authorization": "Basic !!!"}}), http.StatusUnauthorized)
	want(t, "Digest", do(t, c, base, call{method: "GET", path: "/api/v1/accounts",
		hdr: map[string]string{"Authorization": "Digest username=admin"}}), http.StatusUnauthorized)
	want(t, "operator lists accounts", do(t, c, base, call{method: "GET", path: "/api/v1/accounts",
		basic: [2]string{"olga", "olga-password"}}), http.StatusForbidden)
	want(t, "operator reads registrations", do(t, c, base, call{method: "GET", path: "/api/v1/registrations",
		basic: [2]string{"olga", "olga-password"}}), http.StatusForbidden)
	want(t, "wrong login", do(t, c, base, call{method: "POST", path: "/api/v1/session",
		body: map[string]string{"account": "olga", "password": "nope"}}), http.StatusUnauthorized)
	want(t, "login unknown field", do(t, c, base, call{method: "POST", path: "/api/v1/session",
		body: `{"account":"olga","password":"olga-password","remember":true}`}), http.StatusBadRequest)
	want(t, "cross-site login", do(t, c, base, call{method: "POST", path: "/api/v1/session",
		body: map[string]string{"account": "olga", "password": "olga-password"},
		hdr:  map[string]string{"Origin": "https://evil.example"}}), http.StatusForbidden)

	// The operator's session.
	olga, olgaCSRF := login(t, c, base, "olga", "olga-password")
	r = do(t, c, base, call{method: "GET", path: "/api/v1/session", cookie: olga})
	want(t, "whoami", r, http.StatusOK)
	var who sessionView
	r.json(t, &who)
	if who.Account != "olga" || who.Role != accounts.RoleOperator || who.CSRFToken != olgaCSRF || len(who.Groups) != 1 {
		t.Fatalf("whoami %+v", who)
	}
	want(t, "operator reads self", do(t, c, base, call{method: "GET", path: "/api/v1/accounts/olga", cookie: olga}), http.StatusOK)
	want(t, "operator reads sam", do(t, c, base, call{method: "GET", path: "/api/v1/accounts/sam", cookie: olga}), http.StatusForbidden)
	want(t, "operator reads nobody", do(t, c, base, call{method: "GET", path: "/api/v1/accounts/nobody", cookie: olga}), http.StatusForbidden)

	pause := map[string]string{"state": "paused", "reason": "Lunch"}
	state := call{method: "PUT", path: "/api/v1/operators/olga/state", cookie: olga, body: pause}
	want(t, "cookie PUT without CSRF", do(t, c, base, state), http.StatusForbidden)
	state.hdr = map[string]string{"X-CSRF-Token": "wrong"}
	want(t, "cookie PUT with a wrong CSRF token", do(t, c, base, state), http.StatusForbidden)
	state.hdr = map[string]string{"X-CSRF-Token": olgaCSRF, "Origin": "https://evil.example"}
	want(t, "cookie PUT from another origin", do(t, c, base, state), http.StatusForbidden)
	state.hdr = map[string]string{"X-CSRF-Token": olgaCSRF, "Sec-Fetch-Site": "cross-site"}
	want(t, "cookie PUT cross-site", do(t, c, base, state), http.StatusForbidden)
	state.hdr = map[string]string{"X-CSRF-Token": olgaCSRF, "Origin": "https://" + a.AdminAddr(), "Sec-Fetch-Site": "same-origin"}
	state.body = map[string]string{"state": "paused"}
	want(t, "pause without a reason (mandatory)", do(t, c, base, state), http.StatusUnprocessableEntity)
	state.body = map[string]string{"state": "paused", "reason": "Coffee"}
	want(t, "pause with an unlisted reason", do(t, c, base, state), http.StatusUnprocessableEntity)
	state.body = pause
	want(t, "pause with CSRF", do(t, c, base, state), http.StatusOK)
	want(t, "operator sets sam's state", do(t, c, base, call{method: "PUT", path: "/api/v1/operators/sam/state", cookie: olga,
		hdr: map[string]string{"X-CSRF-Token": olgaCSRF}, body: map[string]string{"state": "available"}}), http.StatusForbidden)

	r = do(t, c, base, call{method: "GET", path: "/api/v1/operators/me", cookie: olga})
	want(t, "operators/me", r, http.StatusOK)
	var me operatorPanel
	r.json(t, &me)
	if me.Name != "olga" || me.State != "paused" || me.Reason != "Lunch" || me.Device != "gateway:u1000" ||
		!me.Panic.Enabled || me.Panic.Number != "112" || me.PauseMode != accounts.PauseMandatory || len(me.PauseReasons) != 2 {
		t.Fatalf("operators/me %+v", me)
	}
	if pc, err := a.PanicCall(t.Context(), "olga"); err != nil || pc.From != "gateway:u1000" || pc.To != "112" {
		t.Fatalf("PanicCall %+v %v", pc, err)
	}

	// The supervisor: reads operators, sets their state.
	sam, samCSRF := login(t, c, base, "sam", "sam-password")
	r = do(t, c, base, call{method: "GET", path: "/api/v1/accounts", cookie: sam})
	want(t, "supervisor lists accounts", r, http.StatusOK)
	var list []accounts.Account
	r.json(t, &list)
	if len(list) != 2 || list[0].Name != "olga" || list[1].Name != "sam" {
		t.Fatalf("supervisor sees %+v, want olga and sam (not admin)", list)
	}
	want(t, "supervisor creates an account", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", cookie: sam,
		hdr: map[string]string{"X-CSRF-Token": samCSRF}, body: map[string]any{"name": "x", "role": "admin", "password": "long-enough"}}), http.StatusForbidden)
	want(t, "supervisor sets olga available", do(t, c, base, call{method: "PUT", path: "/api/v1/operators/olga/state", cookie: sam,
		hdr: map[string]string{"X-CSRF-Token": samCSRF}, body: map[string]string{"state": "available"}}), http.StatusOK)
	r = do(t, c, base, call{method: "GET", path: "/api/v1/operators", cookie: olga})
	want(t, "operators", r, http.StatusOK)
	var ops []operatorView
	r.json(t, &ops)
	if len(ops) != 2 || ops[0].Name != "olga" || !ops[0].LoggedIn || ops[0].State != "available" || !ops[1].LoggedIn {
		t.Fatalf("operators %+v", ops)
	}

	// Logout: the cookie is useless afterwards, replayed or not.
	want(t, "logout without CSRF", do(t, c, base, call{method: "DELETE", path: "/api/v1/session", cookie: olga}), http.StatusForbidden)
	want(t, "logout", do(t, c, base, call{method: "DELETE", path: "/api/v1/session", cookie: olga,
		hdr: map[string]string{"X-CSRF-Token": olgaCSRF}}), http.StatusNoContent)
	r = do(t, c, base, call{method: "GET", path: "/api/v1/session", cookie: olga})
	want(t, "replayed cookie after logout", r, http.StatusUnauthorized)
	if strings.Contains(strings.Join(r.hdr.Values("WWW-Authenticate"), ","), "Basic") {
		t.Errorf("a stale session is answered with a Basic challenge (browser pop-up): %v", r.hdr)
	}
	r = do(t, c, base, call{method: "GET", path: "/api/v1/operators", cookie: sam})
	r.json(t, &ops)
	if ops[0].LoggedIn || ops[0].State != "offline" {
		t.Fatalf("olga after logout: %+v", ops[0])
	}

	// Disabling revokes.
	olga, _ = login(t, c, base, "olga", "olga-password")
	want(t, "disable olga", do(t, c, base, call{method: "PATCH", path: "/api/v1/accounts/olga", basic: admin,
		body: map[string]any{"disabled": true}}), http.StatusOK)
	want(t, "disabled account's session", do(t, c, base, call{method: "GET", path: "/api/v1/session", cookie: olga}), http.StatusUnauthorized)
	want(t, "disabled account logs in", do(t, c, base, call{method: "POST", path: "/api/v1/session",
		body: map[string]string{"account": "olga", "password": "olga-password"}}), http.StatusUnauthorized)
	want(t, "patch unknown field", do(t, c, base, call{method: "PATCH", path: "/api/v1/accounts/olga", basic: admin,
		body: `{"disabled":false,"password":"x"}`}), http.StatusBadRequest)
	want(t, "enable olga", do(t, c, base, call{method: "PATCH", path: "/api/v1/accounts/olga", basic: admin,
		body: map[string]any{"disabled": false}}), http.StatusOK)

	// A password change revokes; self needs the old password.
	olga, olgaCSRF = login(t, c, base, "olga", "olga-password")
	pw := call{method: "PUT", path: "/api/v1/accounts/olga/password", cookie: olga, hdr: map[string]string{"X-CSRF-Token": olgaCSRF},
		body: map[string]string{"old_password": "wrong-one", "password": "olga-new-password"}}
	want(t, "self password change, wrong old", do(t, c, base, pw), http.StatusForbidden)
	pw.body = map[string]string{"old_password": "olga-password", "password": "olga-new-password"}
	want(t, "self password change", do(t, c, base, pw), http.StatusNoContent)
	want(t, "session after password change", do(t, c, base, call{method: "GET", path: "/api/v1/session", cookie: olga}), http.StatusUnauthorized)
	want(t, "old password", do(t, c, base, call{method: "GET", path: "/api/v1/session", basic: [2]string{"olga", "olga-password"}}), http.StatusUnauthorized)
	want(t, "new password", do(t, c, base, call{method: "GET", path: "/api/v1/session", basic: [2]string{"olga", "olga-new-password"}}), http.StatusOK)
	want(t, "operator sets sam's password", do(t, c, base, call{method: "PUT", path: "/api/v1/accounts/sam/password",
		basic: [2]string{"olga", "olga-new-password"}, body: map[string]string{"password": "whatever-long"}}), http.StatusForbidden)

	// Idle expiry.
	clk.Add(31 * time.Minute)
	r = do(t, c, base, call{method: "GET", path: "/api/v1/session", cookie: sam})
	want(t, "idle session", r, http.StatusUnauthorized)
	if !strings.Contains(r.hdr.Get("Set-Cookie"), sessionCookie+"=;") {
		t.Errorf("expired session's cookie not cleared: %q", r.hdr.Get("Set-Cookie"))
	}

	// Tokens.
	samBasic := [2]string{"sam", "sam-password"}
	want(t, "token above the owner's role", do(t, c, base, call{method: "POST", path: "/api/v1/tokens", basic: samBasic,
		body: map[string]string{"name": "crm", "role": "admin"}}), http.StatusForbidden)
	r = do(t, c, base, call{method: "POST", path: "/api/v1/tokens", basic: samBasic, body: map[string]string{"name": "crm"}})
	want(t, "make a token", r, http.StatusCreated)
	var tok tokenCreated
	r.json(t, &tok)
	if tok.Value == "" || tok.Role != accounts.RoleSupervisor || tok.Account != "sam" {
		t.Fatalf("token %+v", tok)
	}
	want(t, "token reads accounts", do(t, c, base, call{method: "GET", path: "/api/v1/accounts", bearer: tok.Value}), http.StatusOK)
	want(t, "token reads bans (admin)", do(t, c, base, call{method: "GET", path: "/api/v1/bans", bearer: tok.Value}), http.StatusForbidden)
	want(t, "token makes a token", do(t, c, base, call{method: "POST", path: "/api/v1/tokens", bearer: tok.Value,
		body: map[string]string{"name": "again"}}), http.StatusForbidden)
	r = do(t, c, base, call{method: "GET", path: "/api/v1/tokens", bearer: tok.Value})
	want(t, "list tokens", r, http.StatusOK)
	if strings.Contains(string(r.body), tok.Value[len(tok.Value)-20:]) {
		t.Fatal("token list shows the secret")
	}
	want(t, "olga reads sam's token", do(t, c, base, call{method: "GET", path: "/api/v1/tokens/" + tok.ID,
		basic: [2]string{"olga", "olga-new-password"}}), http.StatusNotFound)
	want(t, "olga revokes sam's token", do(t, c, base, call{method: "DELETE", path: "/api/v1/tokens/" + tok.ID,
		basic: [2]string{"olga", "olga-new-password"}}), http.StatusNotFound)
	want(t, "revoke", do(t, c, base, call{method: "DELETE", path: "/api/v1/tokens/" + tok.ID, basic: samBasic}), http.StatusNoContent)
	r = do(t, c, base, call{method: "GET", path: "/api/v1/accounts", bearer: tok.Value})
	want(t, "revoked token", r, http.StatusUnauthorized)
	if !strings.Contains(r.hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("revoked token's challenge %q", r.hdr.Get("WWW-Authenticate"))
	}
	want(t, "junk token", do(t, c, base, call{method: "GET", path: "/api/v1/accounts", bearer: "sbt_junk"}), http.StatusUnauthorized)

	// Deleting; the last admin stays.
	want(t, "delete the last admin", do(t, c, base, call{method: "DELETE", path: "/api/v1/accounts/admin", basic: admin}), http.StatusConflict)
	want(t, "delete olga", do(t, c, base, call{method: "DELETE", path: "/api/v1/accounts/olga", basic: admin}), http.StatusNoContent)
	want(t, "olga gone", do(t, c, base, call{method: "GET", path: "/api/v1/accounts/olga", basic: admin}), http.StatusNotFound)
}

// TestLoginRateLimited: failed logins past accounts.login_failures get 429
// with Retry-After, from that source and for that name, whether the
// account exists or not; Basic guesses count too.
func TestLoginRateLimited(t *testing.T) {
	a := runApp(t, "accounts: {login_failures: 3, login_window: 10m}\n", nil)
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.5")
	for _, name := range []string{"admin", "ghost"} {
		for i := range 3 {
			want(t, name+" guess", do(t, c, base, call{method: "POST", path: "/api/v1/session",
				body: map[string]string{"account": name, "password": "guess" + string(rune('0'+i))}}), http.StatusUnauthorized)
			c = clientFrom("127.0.0." + string(rune('6'+i))) // the name's budget, not the source's
		}
		r := do(t, c, base, call{method: "POST", path: "/api/v1/session",
			body: map[string]string{"account": name, "password": a.admin.adminPassword}})
		want(t, name+" after 3 failures", r, http.StatusTooManyRequests)
		if ra := r.hdr.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("429 without Retry-After: %v", r.hdr)
		}
	}
	_, metrics := get(t, clientFrom("127.0.0.1"), base+"/metrics")
	for _, m := range []string{"switchboard_http_login_failures_total 6", "switchboard_http_login_limited_total 2"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
	// A source's budget: Basic guesses for many names from one address.
	b := clientFrom("127.0.0.20")
	for i := range 3 {
		want(t, "basic guess", do(t, b, base, call{method: "GET", path: "/api/v1/bans",
			basic: [2]string{"user" + string(rune('a'+i)), "x"}}), http.StatusUnauthorized)
	}
	want(t, "basic from a limited source", do(t, b, base, call{method: "GET", path: "/api/v1/bans",
		basic: [2]string{"other", "x"}}), http.StatusTooManyRequests)
}

// TestFirstRunAdminStore: the first-run admin lives in the account store
// (argon2id hash, no clear password) and admin.password (0600) holds the
// password in force. (The restored-data case: accounts.TestFirstRun.)
func TestFirstRunAdminStore(t *testing.T) {
	a := runApp(t, "", nil)
	path := filepath.Join(a.cfg.DataDir, accounts.FirstRunFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.password: %v %v", fi, err)
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != a.admin.adminPassword {
		t.Fatal("admin.password differs from the password in force")
	}
	as, err := a.store.Accounts(t.Context())
	if err != nil || len(as) != 1 || as[0].Name != "admin" || as[0].Role != "admin" || !strings.HasPrefix(as[0].PasswordHash, "$argon2id$") {
		t.Fatalf("accounts in the store: %+v %v", as, err)
	}
	if strings.Contains(as[0].PasswordHash, a.admin.adminPassword) {
		t.Fatal("password stored in clear")
	}
}

// TestLoginFloodBounded: 200 wrong Basic logins at once from one source
// are mostly refused by the limit without hashing (429), and meanwhile
// another account's right login from another source is served.
func TestLoginFloodBounded(t *testing.T) {
	a := runApp(t, "accounts: {login_failures: 5, login_window: 10m}\n", nil)
	base := "https://" + a.AdminAddr()
	if _, err := a.acct.Create(t.Context(), accounts.NewAccount{Name: "sam", Role: accounts.RoleAdmin, Password: "sam-password"}); err != nil {
		t.Fatal(err)
	}
	sam := clientFrom("127.0.0.1")
	sam.Transport = basicAuth{user: "sam", pass: "sam-password", next: sam.Transport}
	sam.Timeout = time.Minute // a few argon2id hashes under -race on a loaded machine
	flood := clientFrom("127.0.0.30")
	flood.Transport.(*http.Transport).MaxConnsPerHost = 20
	flood.Timeout = time.Minute // queued behind 20 connections on a loaded machine: a hang bound, not a goal
	var wg sync.WaitGroup
	codes := make(chan int, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", base+"/api/v1/bans", nil)
			req.SetBasicAuth("admin", "guess-"+string(rune('a'+i%26)))
			res, err := flood.Do(req)
			if err != nil {
				t.Logf("flood request: %v", err)
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	start := time.Now()
	code, _ := get(t, sam, base+"/api/v1/bans")
	t.Logf("right login during the flood: %d after %v", code, time.Since(start))
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	t.Logf("flood answers: %v", n)
	if n[http.StatusUnauthorized]+n[http.StatusTooManyRequests] != 200 || n[http.StatusTooManyRequests] < 150 {
		t.Errorf("flood answers %v: want only 401 and 429, mostly 429", n)
	}
	if code != http.StatusOK {
		t.Errorf("another account's right login during the flood: %d, want 200", code)
	}
	if s := a.acct.Stats(); s.Failed > 20 {
		t.Errorf("%d wrong passwords were hashed; the limit should stop most before hashing", s.Failed)
	}
}
