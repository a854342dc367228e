package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/callpolicy"
	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// reloadApp is a running gateway whose config file a test rewrites.
type reloadApp struct {
	*App
	t    *testing.T
	path string
	base string
}

// startReloadApp runs a gateway like runApp (127.0.0.1 port 0, user
// u1000) with extra YAML and the logger log (nil: discard).
func startReloadApp(t *testing.T, extra string, log *slog.Logger) *reloadApp {
	t.Helper()
	dir := t.TempDir()
	r := &reloadApp{t: t, path: filepath.Join(dir, "switchboard.yaml")}
	r.base = "domain: example.com\ndata_dir: " + filepath.Join(dir, "data") + "\n" +
		"sip:\n  listen: [udp://127.0.0.1:0, tcp://127.0.0.1:0]\n" +
		"http:\n  listen: 127.0.0.1:0\n" +
		"turn: {enabled: false}\nwebrtc: {port: 0}\n" +
		"attendant: {console_link: {tls: \"\"}}\n" // no fixed port 51235 in parallel tests
	r.write(extra)
	r.App = startApp(t, r.path, log, nil)
	return r
}

// write replaces the config file with the base and extra.
func (r *reloadApp) write(extra string) {
	r.t.Helper()
	if err := os.WriteFile(r.path, []byte(r.base+extra), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// api calls the admin API as the first-run admin.
func (r *reloadApp) api(method, path string) (int, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, "https://"+r.AdminAddr()+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := authClient(r.App, "127.0.0.1").Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// lastReload is GET /api/v1/config's last_reload.
func (r *reloadApp) lastReload() ReloadResult {
	r.t.Helper()
	code, b := r.api("GET", "/api/v1/config")
	if code != 200 {
		r.t.Fatalf("GET /api/v1/config: %d %s", code, b)
	}
	var page struct {
		LastReload *ReloadResult `json:"last_reload"`
	}
	if err := json.Unmarshal(b, &page); err != nil || page.LastReload == nil {
		r.t.Fatalf("config page %v: %s", err, b)
	}
	return *page.LastReload
}

// TestReloadLiveSettings: a reload through POST /api/v1/reload applies
// the registrar's intervals and the records' retention (an old record is
// deleted at once) while naming what needs a restart; the result is in
// GET /api/v1/config.
func TestReloadLiveSettings(t *testing.T) {
	users := "users:\n  - {username: u1000, password: secret}\n"
	r := startReloadApp(t, users+"registrar: {min_expires: 60}\n", nil)
	ctx := context.Background()
	now := time.Now()
	old := cdr.Record{ID: "old", CallID: "old", Caller: "u1000", Callee: "2001", Setup: now.Add(-10 * 24 * time.Hour), End: now.Add(-10 * 24 * time.Hour)}
	recent := cdr.Record{ID: "recent", CallID: "recent", Caller: "u1000", Callee: "2001", Setup: now.Add(-time.Hour), End: now.Add(-time.Hour)}
	if err := r.store.AddRecords(ctx, []cdr.Record{old, recent}); err != nil {
		t.Fatal(err)
	}

	r.write(users + "registrar: {min_expires: 300}\nrecords: {retention_days: 5}\nmedia: {port_min: 41000}\nsip_unused: 1\n")
	if code, b := r.api("POST", "/api/v1/reload"); code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "sip_unused") {
		t.Fatalf("reload of a file with an unknown key: %d %s", code, b)
	}
	if got := r.reg.Expiries().Min; got != 60*time.Second {
		t.Fatalf("a refused reload changed min_expires to %v", got)
	}
	if lr := r.lastReload(); lr.OK || !strings.Contains(lr.Error, "sip_unused") || lr.Trigger != "api" {
		t.Fatalf("last reload after a bad file: %+v", lr)
	}

	r.write(users + "registrar: {min_expires: 300}\nrecords: {retention_days: 5}\nmedia: {port_min: 41000}\n" +
		"security: {rate_limit: {requests_per_second: 7, burst: 9}, ban: {failures: 4}}\n")
	code, b := r.api("POST", "/api/v1/reload")
	if code != 200 {
		t.Fatalf("reload: %d %s", code, b)
	}
	var res ReloadResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("reload result: %s", b)
	if !res.OK || !slices.Contains(res.Applied, "registrar.min_expires") || !slices.Contains(res.Applied, "records.retention_days") {
		t.Fatalf("applied %v (ok %v, error %q)", res.Applied, res.OK, res.Error)
	}
	if !slices.Equal(res.NeedsRestart, []string{"media.port_min"}) {
		t.Fatalf("needs restart %v, want [media.port_min]", res.NeedsRestart)
	}
	if got := r.reg.Expiries().Min; got != 300*time.Second {
		t.Fatalf("min_expires %v after the reload", got)
	}
	if l := r.guard.Limits(); l.RatePerSecond != 7 || l.Burst != 9 || l.BanFailures != 4 {
		t.Fatalf("guard limits after the reload: %+v", l)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := r.store.CallHistory(ctx, store.CallQuery{Parties: []string{"u1000"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].ID == "recent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records after lowering the retention: %d, want only the recent one", len(recs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lr := r.lastReload(); !lr.OK || !slices.Equal(lr.NeedsRestart, []string{"media.port_min"}) {
		t.Fatalf("last reload %+v", lr)
	}

	// The restart-only key stays named on a later reload that changes
	// nothing else; the applied keys are not applied twice.
	res = r.ReloadAs(ctx, "signal")
	if !res.OK || len(res.Applied) != 0 || !slices.Equal(res.NeedsRestart, []string{"media.port_min"}) {
		t.Fatalf("second reload %+v", res)
	}
}

// TestReloadRemovesUser: a user taken out of users: is deleted; a user
// added by the CLI (not in the file) stays.
func TestReloadRemovesUser(t *testing.T) {
	r := startReloadApp(t, "users:\n  - {username: u1000, password: secret}\n  - {username: u1001, password: secret}\n", nil)
	ctx := context.Background()
	if err := r.store.PutUsers(ctx, []store.User{store.NewUser("cli", "example.com", "pw", "", "")}); err != nil {
		t.Fatal(err)
	}
	r.write("users:\n  - {username: u1000, password: secret}\n")
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.users.HA1("u1001", "MD5"); ok {
		t.Error("removed user u1001 still authenticates")
	}
	for _, u := range []string{"u1000", "cli"} {
		if _, ok := r.users.HA1(u, "MD5"); !ok {
			t.Errorf("user %s gone", u)
		}
	}
}

// syncBuffer is a log sink tests read while the gateway writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReloadLogLevel: log.level takes effect at once: after a reload to
// warn, the info line of the next reload is not written.
func TestReloadLogLevel(t *testing.T) {
	var buf syncBuffer
	lv := new(slog.LevelVar)
	log := slog.New(&levelHandler{Handler: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: lv}), level: lv})
	users := "users:\n  - {username: u1000, password: secret}\n"
	r := startReloadApp(t, users+"log: {level: info}\n", log)
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `msg=reloaded`); n != 1 {
		t.Fatalf("%d reloaded lines at info, want 1:\n%s", n, buf.String())
	}
	r.write(users + "log: {level: warn}\n")
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `msg=reloaded`); n != 1 {
		t.Fatalf("info lines still written at warn: %d reloaded lines", n)
	}
	if lr := r.LastReload(); lr == nil || !lr.OK {
		t.Fatalf("last reload %+v", lr)
	}
}

// TestReloadConcurrentWithRequests: reloads while the admin API and the
// reload API are used and while what calls read (routes, numbering,
// diverts, trunk settings, admission, trunk health, guard and registrar
// settings) is read (run with -race).
func TestReloadConcurrentWithRequests(t *testing.T) {
	users := "users:\n  - {username: u1000, password: secret}\n"
	r := startReloadApp(t, users, nil)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			for j := range 5 {
				if (i+j)%2 == 0 {
					r.api("GET", "/api/v1/config")
					r.api("GET", "/api/v1/trunks")
				} else {
					r.api("POST", "/api/v1/reload")
				}
			}
		})
	}
	// What a call reads while the reloads swap it.
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if tr := r.live.Route("2001"); tr != nil {
				_ = tr.Snapshot()
			}
			_, _ = r.live.Outbound("pbx", "2001")
			_, _ = r.live.Divert("u1000")
			_ = r.calls.Live().TrunkSettings["pbx"]
			if tk, err := r.policy.Admit(callpolicy.Call{Party: callpolicyUser("u1000"), Number: "2001", Local: true}); err == nil {
				tk.Release()
			}
			_ = r.dns.Snapshot()
			_ = r.guard.Limits()
			_ = r.reg.Expiries()
		}
	})
	for i := range 5 {
		extra := users + "trunks:\n  - {name: pbx, target: \"sip:127.0.0.1:5999\", match: [\"2x\"]}\n"
		if i%2 == 1 {
			extra = users + "registrar: {min_expires: 120}\nsecurity: {rate_limit: {requests_per_second: 50}}\n" +
				"trunks:\n  - {name: pbx, target: \"sip:127.0.0.2:5999\", match: [\"2x\"], number: {prefix: \"0\"}}\n"
		}
		r.write(extra)
		if err := r.Reload(context.Background()); err != nil {
			t.Errorf("reload %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	if tr := r.live.Route("2001"); tr == nil || tr.Name() != "pbx" {
		t.Errorf("after the last reload 2001 routes to %v", tr)
	}
}

// TestReloadCallSettings: a reload swaps what the B2BUA sees of users'
// class of service and diverts, the numbering plan, session timers and
// a trunk's settings; calls that follow get them.
func TestReloadCallSettings(t *testing.T) {
	r := startReloadApp(t, "users:\n  - {username: u1000, password: secret}\n", nil)
	if c := r.policy.ClassOf(callpolicyUser("u1000")); c != "default" {
		t.Fatalf("class before: %s", c)
	}
	if _, ok := r.live.Divert("u1000"); ok {
		t.Fatal("divert before")
	}
	r.write(`users:
  - {username: u1000, password: secret, class: intl, divert: {busy: "1001"}}
call_policy:
  classes: [{name: intl, allow: [internal, national, international]}]
numbering: {region: CH}
calls: {session_expires: 600s, min_se: 120s}
trunks:
  - {name: pbx, target: "sip:127.0.0.1:5999", match: ["2x"], domain: pbx.example.net}
`)
	res := r.ReloadAs(context.Background(), "signal")
	if !res.OK {
		t.Fatalf("reload: %+v", res)
	}
	t.Logf("applied %v parts %v notes %v", res.Applied, res.Parts, res.Notes)
	if c := r.policy.ClassOf(callpolicyUser("u1000")); c != "intl" {
		t.Errorf("class after: %s", c)
	}
	if dv, ok := r.live.Divert("u1000"); !ok || dv.Busy != "1001" {
		t.Errorf("divert after: %+v %v", dv, ok)
	}
	if reg := r.live.plan.Load().Region(); reg != "CH" {
		t.Errorf("numbering region after: %q", reg)
	}
	lv := r.calls.Live()
	if lv.SessionExpires != 600*time.Second || lv.MinSE != 120*time.Second {
		t.Errorf("session timers after: %v %v", lv.SessionExpires, lv.MinSE)
	}
	if lv.TrunkSettings["pbx"].Domain != "pbx.example.net" || len(lv.Trunks) != 1 {
		t.Errorf("trunk settings after: %+v", lv)
	}
	if tr := r.live.Route("2001"); tr == nil || tr.Name() != "pbx" {
		t.Errorf("route of 2001 after: %v", tr)
	}

	// A class the policy does not know is refused before anything changes.
	r.write("users:\n  - {username: u1000, password: secret, class: nosuch}\n")
	if res := r.ReloadAs(context.Background(), "signal"); res.OK {
		t.Fatalf("a file naming an unknown class was applied: %+v", res)
	}
	if tr := r.live.Route("2001"); tr == nil {
		t.Error("a refused reload removed the trunk")
	}
	if c := r.policy.ClassOf(callpolicyUser("u1000")); c != "intl" {
		t.Errorf("a refused reload changed the class: %s", c)
	}
}

func callpolicyUser(name string) callpolicy.Party {
	return callpolicy.Party{Kind: callpolicy.User, Name: name}
}

// TestReloadRetriesFailedPart: a part whose commit failed runs again on
// the next reload although its keys did not change again.
func TestReloadRetriesFailedPart(t *testing.T) {
	r := startReloadApp(t, "users:\n  - {username: u1000, password: secret}\nregistrar: {min_expires: 60}\n", nil)
	fail := true
	runs := 0
	r.AddReloader(Reloader{Name: "flaky", Keys: []string{"registrar.min_expires"},
		Prepare: func(context.Context, *config.Config, *config.Config) (func() ([]string, error), error) {
			return func() ([]string, error) {
				runs++
				if fail {
					return nil, errors.New("store down")
				}
				return nil, nil
			}, nil
		}})
	r.write("users:\n  - {username: u1000, password: secret}\nregistrar: {min_expires: 120}\n")
	res := r.ReloadAs(context.Background(), "signal")
	if res.OK || !strings.Contains(res.Error, "flaky: store down") || !slices.Contains(res.Parts, "registrar") {
		t.Fatalf("first reload %+v", res)
	}
	fail = false
	if res := r.ReloadAs(context.Background(), "signal"); !res.OK || !slices.Contains(res.Parts, "flaky") || runs != 2 {
		t.Fatalf("second reload %+v, runs %d", res, runs)
	}
	if res := r.ReloadAs(context.Background(), "signal"); slices.Contains(res.Parts, "flaky") || runs != 2 {
		t.Fatalf("third reload ran the healed part again: %+v", res)
	}
}
