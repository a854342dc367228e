package app

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/plugins"
)

// logBuf is a slog handler's output a test reads.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// cheapAccounts gives the app an accounts service with cheap password
// hashing (same store, same first-run admin); log, when set, becomes the
// app's logger for request-time logging.
func cheapAccounts(t *testing.T, log *logBuf) func(*App) {
	return func(a *App) {
		svc, err := accounts.New(accounts.Options{Store: a.store, SessionIdle: 30 * time.Minute,
			SessionMax: 12 * time.Hour, LoginFailures: 50, Hash: accounts.HashParams{Memory: 64, Time: 1, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		a.acct = svc
		if log != nil {
			a.log = slog.New(slog.NewTextHandler(log, nil))
		}
	}
}

// mkOperator creates an operator account as the admin.
func mkOperator(t *testing.T, a *App, c *http.Client, base, name, device string, groups ...string) [2]string {
	t.Helper()
	body := map[string]any{"name": name, "role": "operator", "groups": groups, "password": name + "-password"}
	if device != "" {
		body["device"] = device
	}
	want(t, "create "+name, do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: adminBasic(a), body: body}), http.StatusCreated)
	return [2]string{name, name + "-password"}
}

// TestPanicButton: an operator presses the panic button; the gateway
// rings the operator's own phone (click-to-dial, RFC 3725) and, once it
// answers, calls the configured number from it. The press is logged with
// the operator. No device is 409, no credentials 401.
func TestPanicButton(t *testing.T) {
	lb := &logBuf{}
	a := runApp(t, gwctiUsers+"operators: {panic: {enabled: true, number: \"1001\"}}\n", cheapAccounts(t, lb))
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	olga := mkOperator(t, a, c, base, "olga", "gateway:u1000", "reception")
	nodev := mkOperator(t, a, c, base, "nick", "", "reception")
	p0 := newTestPhone(t, a, "u1000", 50*time.Millisecond)
	p1 := newTestPhone(t, a, "u1001", 50*time.Millisecond)

	want(t, "panic without credentials", do(t, c, base, call{method: "POST", path: "/api/v1/operators/me/panic"}), http.StatusUnauthorized)
	want(t, "panic without a device", do(t, c, base, call{method: "POST", path: "/api/v1/operators/me/panic", basic: nodev}), http.StatusConflict)
	if p0.seen(isReq("INVITE")) || p1.seen(isReq("INVITE")) {
		t.Fatal("a refused panic rang a phone")
	}

	r := do(t, c, base, call{method: "POST", path: "/api/v1/operators/me/panic", basic: olga})
	want(t, "panic", r, http.StatusCreated)
	var res connResult
	r.json(t, &res)
	if res.Device != "gateway:u1000" || !strings.HasPrefix(res.CallID, "gateway:") {
		t.Fatalf("panic answer %+v", res)
	}
	inv0 := p0.wait("INVITE at the operator's phone", isReq("INVITE"))
	if !strings.Contains(inv0.get("From"), "sip:1001@") {
		t.Errorf("operator's phone INVITE From %q: want the panic number", inv0.get("From"))
	}
	inv1 := p1.wait("INVITE at the panic number", isReq("INVITE"))
	if !strings.Contains(inv1.get("From"), "u1000") {
		t.Errorf("panic number's INVITE From %q: want the operator's device u1000", inv1.get("From"))
	}
	if log := lb.String(); !strings.Contains(log, "panic button pressed") || !strings.Contains(log, "operator=olga") {
		t.Errorf("no audit line naming the operator in the log:\n%s", log)
	}
	// Hang up through the API's source so the test ends clean.
	_ = a.GatewaySource().Clear(context.Background(), refOf(res))
}

// TestPanicButtonDisabled: with operators.panic off the button is 404
// and nothing rings.
func TestPanicButtonDisabled(t *testing.T) {
	a := runApp(t, "", cheapAccounts(t, nil))
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	olga := mkOperator(t, a, c, base, "olga", "gateway:u1000", "reception")
	p0 := newTestPhone(t, a, "u1000", 50*time.Millisecond)
	want(t, "panic disabled", do(t, c, base, call{method: "POST", path: "/api/v1/operators/me/panic", basic: olga}), http.StatusNotFound)
	time.Sleep(200 * time.Millisecond)
	if p0.seen(isReq("INVITE")) {
		t.Fatal("a disabled panic button rang the operator's phone")
	}
}

// refOf is the source's reference of a call the API answered with.
func refOf(r connResult) plugins.ConnectionRef {
	_, dev, _ := strings.Cut(r.Device, ":")
	_, id, _ := strings.Cut(r.CallID, ":")
	return plugins.ConnectionRef{Device: dev, CallID: id, ConnectionID: r.ConnectionID}
}

// TestPanicButtonPBXDevice: an operator whose device is a PBX's presses
// the panic button: the call goes through that source's MakeCall (the
// driver), from the operator's device to the configured number.
func TestPanicButtonPBXDevice(t *testing.T) {
	src := &testSource{name: "pbx1", devs: []string{"201", "202"}}
	cheap := cheapAccounts(t, nil)
	a := runApp(t, "operators: {panic: {enabled: true, number: \"112\"}}\n", func(a *App) { cheap(a); a.att.AddSource(src) })
	base := "https://" + a.AdminAddr()
	c := clientFrom("127.0.0.1")
	olga := mkOperator(t, a, c, base, "olga", "pbx1:201", "reception")
	r := do(t, c, base, call{method: "POST", path: "/api/v1/operators/me/panic", basic: olga})
	want(t, "panic from a PBX device", r, http.StatusCreated)
	var res connResult
	r.json(t, &res)
	if res.CallID != "pbx1:c5" || res.Device != "pbx1:201" {
		t.Fatalf("panic answer %+v", res)
	}
	if got := src.calls(); len(got) != 1 || got[0] != "make 201 112" {
		t.Fatalf("source got %q, want one make call 201 -> 112", got)
	}
	// A device whose source is not running: 503, nothing placed.
	mkOperator(t, a, c, base, "otto", "pbx9:301", "reception")
	want(t, "panic from a device of no source", do(t, c, base, call{method: "POST", path: "/api/v1/operators/me/panic",
		basic: [2]string{"otto", "otto-password"}}), http.StatusServiceUnavailable)
	if got := src.calls(); len(got) != 1 {
		t.Fatalf("source got %q after the refused press", got)
	}
}
