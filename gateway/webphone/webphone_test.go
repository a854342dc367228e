package webphone

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

const realm = "example.com"

// fakeGuard records what the handler reports.
type fakeGuard struct {
	mu     sync.Mutex
	failed []string // ip user
	ok     []string
	banned map[netip.Addr]bool
}

func (g *fakeGuard) AuthFailed(ip netip.Addr, user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failed = append(g.failed, ip.String()+" "+user)
}

func (g *fakeGuard) AuthSucceeded(ip netip.Addr, user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ok = append(g.ok, ip.String()+" "+user)
}

func (g *fakeGuard) Banned(ip netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.banned[ip]
}

// fakeHistory records the query and answers with recs.
type fakeHistory struct {
	mu   sync.Mutex
	q    store.CallQuery
	recs []cdr.Record
}

func (h *fakeHistory) CallHistory(_ context.Context, q store.CallQuery) ([]cdr.Record, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.q = q
	if _, err := q.Normalize(); err != nil {
		return nil, err
	}
	return h.recs, nil
}

// fixture is a handler behind a TLS test server with a settable clock and
// account table.
type fixture struct {
	t     *testing.T
	h     *Handler
	srv   *httptest.Server
	guard *fakeGuard
	hist  *fakeHistory

	mu       sync.Mutex
	now      time.Time
	accounts map[string]Account
	lookups  int
}

func newFixture(t *testing.T, edit func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, guard: &fakeGuard{banned: map[netip.Addr]bool{}}, hist: &fakeHistory{},
		now: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC), accounts: map[string]Account{}}
	f.setPassword("u1002", "secret")
	o := Options{
		Realm: realm, Domain: "example.com",
		Accounts: func(u string) (Account, bool) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.lookups++
			a, ok := f.accounts[u]
			return a, ok
		},
		History:   f.hist,
		Listeners: func() []Listener { return []Listener{{Scheme: "wss", Addr: "0.0.0.0:8089", Path: "/ws"}} },
		Guard:     f.guard,
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
	}
	if edit != nil {
		edit(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	mux := http.NewServeMux()
	h.Register(mux)
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) setPassword(user, pass string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[user] = Account{Username: user, DisplayName: "Web Desk", Extension: "1002", HA1MD5: store.HA1MD5(user, realm, pass)}
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// do sends a request; hdr are header name/value pairs.
func (f *fixture) do(method, path, body string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (f *fixture) login(user, pass string) (*http.Response, string) {
	f.t.Helper()
	b, _ := json.Marshal(loginRequest{Username: user, Password: pass})
	return f.do("POST", "/phone/api/login", string(b), "Content-Type", "application/json")
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", cookieName, res.Header)
	return nil
}

func TestLoginSessionAndConfig(t *testing.T) {
	f := newFixture(t, nil)
	res, body := f.login("u1002", "secret")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	c := sessionCookie(t, res)
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/phone" || c.MaxAge != int((12*time.Hour).Seconds()) {
		t.Errorf("cookie %+v", c)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(f.srv.URL, "https://")
	hostOnly := host[:strings.LastIndex(host, ":")]
	if cfg.URI != "sip:u1002@example.com" || cfg.DisplayName != "Web Desk" || cfg.Extension != "1002" || cfg.Realm != realm ||
		len(cfg.WSServers) != 1 || cfg.WSServers[0] != "wss://"+hostOnly+":8089/ws" || cfg.ICEServers == nil {
		t.Errorf("config %+v", cfg)
	}
	if len(f.guard.ok) != 1 || f.guard.ok[0] != "127.0.0.1 u1002" {
		t.Errorf("guard successes %v", f.guard.ok)
	}

	// The cookie opens the API; the history is the user's own.
	res, body = f.do("GET", "/phone/api/calls?limit=5", "", "Cookie", c.Name+"="+c.Value)
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("calls: %d %s", res.StatusCode, body)
	}
	if got := strings.Join(f.hist.q.Parties, ","); got != "u1002,1002" || f.hist.q.Limit != 5 {
		t.Errorf("history query %+v", f.hist.q)
	}
	// Logout ends it: the same cookie replayed is refused.
	res, _ = f.do("POST", "/phone/api/logout", "", "Cookie", c.Name+"="+c.Value)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	res, _ = f.do("GET", "/phone/api/config", "", "Cookie", c.Name+"="+c.Value, requestedWith, "1")
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Session") {
		t.Errorf("replayed cookie after logout: %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
}

func TestSessionEnds(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.SessionTTL = time.Hour })
	cookieOf := func() string {
		res, body := f.login("u1002", "secret")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("login: %d %s", res.StatusCode, body)
		}
		c := sessionCookie(t, res)
		return c.Name + "=" + c.Value
	}
	status := func(cookie string) int {
		res, _ := f.do("GET", "/phone/api/config", "", "Cookie", cookie)
		return res.StatusCode
	}
	// Expiry.
	c := cookieOf()
	f.advance(59 * time.Minute)
	if s := status(c); s != http.StatusOK {
		t.Fatalf("before expiry: %d", s)
	}
	f.advance(time.Minute)
	if s := status(c); s != http.StatusUnauthorized {
		t.Errorf("after expiry: %d", s)
	}
	// A password change ends the sessions of the old password.
	c = cookieOf()
	f.setPassword("u1002", "new-secret")
	if s := status(c); s != http.StatusUnauthorized {
		t.Errorf("after a password change: %d", s)
	}
	// A made-up or oversized cookie is just not a session.
	for _, bad := range []string{cookieName + "=AAAA", cookieName + "=" + strings.Repeat("x", 4000), cookieName + "="} {
		if s := status(bad); s != http.StatusUnauthorized {
			t.Errorf("cookie %.40q: %d", bad, s)
		}
	}
}

func TestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	f := newFixture(t, nil)
	resA, bodyA := f.login("u1002", "wrong")
	lookupsA := f.lookups
	resB, bodyB := f.login("nobody", "wrong")
	if resA.StatusCode != http.StatusUnauthorized || resB.StatusCode != resA.StatusCode || bodyA != bodyB {
		t.Errorf("wrong password %d %s; unknown user %d %s", resA.StatusCode, bodyA, resB.StatusCode, bodyB)
	}
	if f.lookups != 2*lookupsA {
		t.Errorf("lookups: %d for a wrong password, %d for both", lookupsA, f.lookups)
	}
	want := []string{"127.0.0.1 u1002", "127.0.0.1 nobody"}
	if strings.Join(f.guard.failed, "|") != strings.Join(want, "|") {
		t.Errorf("guard failures %v, want %v", f.guard.failed, want)
	}
	// Basic credentials count the same way.
	res, _ := f.do("GET", "/phone/api/config", "", "Authorization", basic("u1002", "wrong"))
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") || len(f.guard.failed) != 3 {
		t.Errorf("basic: %d %q, failures %v", res.StatusCode, res.Header.Get("WWW-Authenticate"), f.guard.failed)
	}
	res, body := f.do("GET", "/phone/api/config", "", "Authorization", basic("u1002", "secret"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"sip:u1002@example.com"`) {
		t.Errorf("basic with the right password: %d %s", res.StatusCode, body)
	}
}

func basic(u, p string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
}

func TestFailureLimitAndBans(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailureBurst, o.FailureRefill = 3, 10*time.Second })
	// Right passwords take no tokens.
	for range 10 {
		if res, body := f.login("u1002", "secret"); res.StatusCode != http.StatusOK {
			t.Fatalf("login: %d %s", res.StatusCode, body)
		}
	}
	for i := range 3 {
		if res, _ := f.login("u1002", "guess"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, res.StatusCode)
		}
	}
	// Out of tokens: even the right password waits, and is not verified.
	lookups := f.lookups
	res, _ := f.login("u1002", "secret")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "10" || f.lookups != lookups {
		t.Errorf("over the limit: %d Retry-After %q, lookups %d→%d", res.StatusCode, res.Header.Get("Retry-After"), lookups, f.lookups)
	}
	res, _ = f.do("GET", "/phone/api/config", "", "Authorization", basic("u1002", "secret"))
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("basic over the limit: %d", res.StatusCode)
	}
	f.advance(10 * time.Second)
	if res, _ := f.login("u1002", "secret"); res.StatusCode != http.StatusOK {
		t.Errorf("after one refill: %d", res.StatusCode)
	}
	if st := f.h.Stats(); st.LoginsFailed != 3 || st.Limited != 2 || st.LoginsOK != 11 {
		t.Errorf("stats %+v", st)
	}

	// A banned source is refused everything, even with a session.
	res, _ = f.login("u1002", "secret")
	c := sessionCookie(t, res)
	f.guard.mu.Lock()
	f.guard.banned[netip.MustParseAddr("127.0.0.1")] = true
	f.guard.mu.Unlock()
	if res, _ := f.login("u1002", "secret"); res.StatusCode != http.StatusForbidden {
		t.Errorf("login from a banned source: %d", res.StatusCode)
	}
	if res, _ := f.do("GET", "/phone/api/config", "", "Authorization", basic("u1002", "secret")); res.StatusCode != http.StatusForbidden {
		t.Errorf("basic from a banned source: %d", res.StatusCode)
	}
	if res, _ := f.do("GET", "/phone/api/config", "", "Cookie", c.Name+"="+c.Value); res.StatusCode != http.StatusForbidden {
		t.Errorf("session from a banned source: %d", res.StatusCode)
	}
}

func TestMalformedInput(t *testing.T) {
	f := newFixture(t, nil)
	json := "application/json"
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		want                     int
	}{
		{"not json", "POST", "/phone/api/login", "username=u1002&password=secret", []string{"Content-Type", json}, 400},
		{"form", "POST", "/phone/api/login", "username=u1002&password=secret", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"no content type", "POST", "/phone/api/login", `{"username":"u1002","password":"secret"}`, nil, 415},
		{"unknown field", "POST", "/phone/api/login", `{"username":"u1002","password":"secret","admin":true}`, []string{"Content-Type", json}, 400},
		{"trailing data", "POST", "/phone/api/login", `{"username":"u1002","password":"secret"}{}`, []string{"Content-Type", json}, 400},
		{"oversized", "POST", "/phone/api/login", `{"username":"u1002","password":"` + strings.Repeat("a", 5000) + `"}`, []string{"Content-Type", json}, 400},
		{"huge padding", "POST", "/phone/api/login", strings.Repeat(" ", 1<<20) + `{"username":"u1002","password":"secret"}`, []string{"Content-Type", json}, 400},
		{"empty password", "POST", "/phone/api/login", `{"username":"u1002","password":""}`, []string{"Content-Type", json}, 400},
		{"control in user", "POST", "/phone/api/login", `{"username":"u10\n02","password":"secret"}`, []string{"Content-Type", json}, 400},
		{"cross origin", "POST", "/phone/api/login", `{"username":"u1002","password":"secret"}`, []string{"Content-Type", json, "Origin", "https://evil.example"}, 403},
		{"cross origin logout", "POST", "/phone/api/logout", "", []string{"Origin", "https://evil.example"}, 403},
		{"basic not base64", "GET", "/phone/api/config", "", []string{"Authorization", "Basic %%%"}, 400},
		{"basic no colon", "GET", "/phone/api/config", "", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("u1002"))}, 400},
		{"basic oversized", "GET", "/phone/api/config", "", []string{"Authorization", "Basic " + strings.Repeat("QUFB", 1000)}, 400},
		{"other scheme", "GET", "/phone/api/config", "", []string{"Authorization", "Bearer x"}, 401},
		{"bad limit", "GET", "/phone/api/calls?limit=100000", "", []string{"Authorization", basic("u1002", "secret")}, 400},
		{"bad before", "GET", "/phone/api/calls?before=yesterday", "", []string{"Authorization", basic("u1002", "secret")}, 400},
		{"unknown endpoint", "GET", "/phone/api/../api/v1/calls", "", nil, 404},
		{"unknown method", "DELETE", "/phone/api/calls", "", nil, 404},
		{"directory listing", "GET", "/phone/static/vendor/", "", nil, 404},
		{"build notes", "GET", "/phone/static/vendor/README.txt", "", nil, 404},
		{"outside static", "GET", "/phone/static/../static.go", "", nil, 404},
	}
	for _, c := range cases {
		res, body := f.do(c.method, c.path, c.body, c.hdr...)
		if res.StatusCode != c.want {
			t.Errorf("%s: %d %.200s, want %d", c.name, res.StatusCode, body, c.want)
		}
	}
	if len(f.guard.failed) != 0 || f.h.Stats().Sessions != 0 {
		t.Errorf("malformed input counted as failures %v or made sessions", f.guard.failed)
	}
}

func TestSessionTableBounded(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxSessions, o.MaxSessionsPerUser = 20, 5 })
	var first string
	for i := range 8 {
		res, _ := f.login("u1002", "secret")
		if i == 0 {
			c := sessionCookie(t, res)
			first = c.Name + "=" + c.Value
		}
		f.advance(time.Second)
	}
	if n := f.h.Stats().Sessions; n != 5 {
		t.Errorf("one user's sessions: %d, want 5", n)
	}
	if res, _ := f.do("GET", "/phone/api/config", "", "Cookie", first); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the oldest session survived eviction: %d", res.StatusCode)
	}
	for i := range 40 {
		u := "user" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		f.setPassword(u, "pw")
		if res, _ := f.login(u, "pw"); res.StatusCode != http.StatusOK {
			t.Fatalf("login %s: %d", u, res.StatusCode)
		}
	}
	if n := f.h.Stats().Sessions; n != 20 {
		t.Errorf("sessions after a flood of logins: %d, want 20", n)
	}
}

func TestFailLimiterBounded(t *testing.T) {
	now := time.Unix(0, 0)
	l := newFailLimiter(2, time.Second, 100)
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		l.fail(ip, now)
	}
	if len(l.m) > 100 {
		t.Fatalf("limiter table %d entries, bound 100", len(l.m))
	}
	// New sources are refused while the table is full of live buckets,
	// admitted again once they have refilled.
	if l.allowed(netip.MustParseAddr("10.9.9.9"), now) {
		t.Error("a new source was admitted into a full table")
	}
	if !l.allowed(netip.MustParseAddr("10.9.9.9"), now.Add(2*time.Second)) {
		t.Error("a new source was refused after the table refilled")
	}
	// IPv6 is counted per /64.
	l = newFailLimiter(2, time.Hour, 100)
	l.fail(netip.MustParseAddr("2001:db8::1"), now)
	l.fail(netip.MustParseAddr("2001:db8::2"), now)
	if l.allowed(netip.MustParseAddr("2001:db8::ffff"), now) || !l.allowed(netip.MustParseAddr("2001:db8:0:1::1"), now) {
		t.Error("IPv6 not counted per /64")
	}
}

func TestWSURLs(t *testing.T) {
	cases := []struct {
		host   string
		listen []Listener
		want   string
	}{
		{"203.0.113.5:8443", []Listener{{"wss", "0.0.0.0:8089", "/ws"}}, "wss://203.0.113.5:8089/ws"},
		{"pbx.example.com:8443", []Listener{{"wss", "[::]:8089", "/ws"}}, "wss://pbx.example.com:8089/ws"},
		{"pbx.example.com", []Listener{{"wss", "10.0.0.2:8089", "/sip"}}, "wss://pbx.example.com:8089/sip"},
		{"127.0.0.1:8443", []Listener{{"wss", "10.0.0.2:8089", "/ws"}}, "wss://10.0.0.2:8089/ws"},
		{"[2001:db8::1]:8443", []Listener{{"wss", "0.0.0.0:8089", "/ws"}}, "wss://[2001:db8::1]:8089/ws"},
		{"127.0.0.1:8443", []Listener{{"ws", "0.0.0.0:8080", "/ws"}, {"wss", "127.0.0.1:8089", ""}}, "wss://127.0.0.1:8089/"},
	}
	for _, c := range cases {
		h, err := New(Options{Accounts: func(string) (Account, bool) { return Account{}, false }, Listeners: func() []Listener { return c.listen }})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/phone", nil)
		r.Host = c.host
		if got := h.wsURLs(r); len(got) != 1 || got[0] != c.want {
			t.Errorf("page %s, listeners %v: %v, want %s", c.host, c.listen, got, c.want)
		}
	}
}

func TestPage(t *testing.T) {
	f := newFixture(t, nil)
	res, body := f.do("GET", "/phone", "")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `id="login-form"`) {
		t.Fatalf("page: %d %.200s", res.StatusCode, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' wss://127.0.0.1:8089/ws") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if haveJsSIP() == strings.Contains(body, `id="jssip-missing"`) {
		t.Errorf("JsSIP embedded %v, but the page says otherwise", haveJsSIP())
	}
	res, body = f.do("GET", "/phone/static/app.js", "")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(body, "JsSIP.UA") {
		t.Errorf("app.js: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestNewNeedsAccounts(t *testing.T) {
	if _, err := New(Options{}); err != ErrNoAccounts {
		t.Errorf("New without accounts: %v", err)
	}
}

// TestConcurrentLogins floods the handler from many goroutines with right
// and wrong passwords, Basic and cookie requests (run with -race): every
// right password gets in, no wrong one does, the tables stay bounded.
func TestConcurrentLogins(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailureBurst, o.MaxSessions, o.MaxSessionsPerUser = 1000, 30, 30 })
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pass, want := "secret", http.StatusOK
			if i%2 == 1 {
				pass, want = "wrong", http.StatusUnauthorized
			}
			res, _ := f.login("u1002", pass)
			if res.StatusCode != want {
				errs <- "login " + pass + ": " + res.Status
				return
			}
			if want == http.StatusOK {
				c := sessionCookie(t, res)
				if r, _ := f.do("GET", "/phone/api/ice", "", "Cookie", c.Name+"="+c.Value); r.StatusCode != http.StatusOK && r.StatusCode != http.StatusUnauthorized {
					errs <- "ice: " + r.Status // 401 only when evicted by newer logins
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if st := f.h.Stats(); st.LoginsOK != 50 || st.LoginsFailed != 50 || st.Sessions > 30 {
		t.Errorf("stats %+v", st)
	}
}

// TestPageWithoutJsSIP: a binary built before the npm step serves a page
// that says so and loads no bundle.
func TestPageWithoutJsSIP(t *testing.T) {
	var b strings.Builder
	if err := pageTmpl.Execute(&b, struct{ JsSIP bool }{false}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.Contains(page, `id="jssip-missing"`) || !strings.Contains(page, "make build") || strings.Contains(page, "jssip.min.js") {
		t.Errorf("page without JsSIP:\n%s", page)
	}
	b.Reset()
	if err := pageTmpl.Execute(&b, struct{ JsSIP bool }{true}); err != nil {
		t.Fatal(err)
	}
	if page := b.String(); strings.Contains(page, `id="jssip-missing"`) || !strings.Contains(page, `src="/phone/static/vendor/jssip.min.js"`) {
		t.Errorf("page with JsSIP:\n%s", page)
	}
}
