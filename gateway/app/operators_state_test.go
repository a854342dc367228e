package app

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/attendant"
)

// nextOperatorMsg reads the stream up to the next type operator message.
func nextOperatorMsg(t *testing.T, s *wsStream) attendant.OperatorChange {
	t.Helper()
	for {
		m, _ := readMsg(t, s.conn, s.br)
		if m.Type == "operator" && m.Operator != nil {
			return *m.Operator
		}
	}
}

// TestOperatorStatePushedAndKept: an operator's state changes reach the
// event stream as type operator messages (login, a pause by a
// supervisor, resume by the operator, logout); the state and a user's
// own presence survive a restart of the gateway.
func TestOperatorStatePushedAndKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "switchboard.yaml")
	yaml := "domain: example.com\ndata_dir: " + filepath.Join(dir, "data") + "\n" +
		"sip:\n  listen: [udp://127.0.0.1:0]\nhttp:\n  listen: 127.0.0.1:0\n" +
		"users:\n  - {username: u1000, password: secret}\n  - {username: u1001, password: secret}\n" +
		"turn: {enabled: false}\nwebrtc: {port: 0}\nattendant: {console_link: {tls: \"\"}}\n" +
		"operators: {pause_reasons: optional}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "pause_reasons.txt"), []byte("Lunch\nBriefing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	olga := [2]string{"olga", "olga-password"}
	t.Run("first run", func(t *testing.T) {
		a := startApp(t, path, nil, cheapAccounts(t, nil))
		base := "https://" + a.AdminAddr()
		c := clientFrom("127.0.0.1")
		mkOperator(t, a, c, base, "olga", "gateway:u1000", "operators")
		want(t, "create sam", do(t, c, base, call{method: "POST", path: "/api/v1/accounts", basic: adminBasic(a),
			body: map[string]any{"name": "sam", "role": "supervisor", "password": "sam-password"}}), http.StatusCreated)
		conn, br := wsDialAs(t, a.AdminAddr(), "", olga)
		s := &wsStream{conn, br}

		cookie, csrf := login(t, c, base, "olga", "olga-password")
		if g := nextOperatorMsg(t, s); g.Name != "olga" || g.State != "available" || g.By != "olga" || g.Device != "gateway:u1000" {
			t.Fatalf("after login: %+v", g)
		}
		want(t, "sam pauses olga", do(t, c, base, call{method: "PUT", path: "/api/v1/operators/olga/state",
			basic: [2]string{"sam", "sam-password"}, body: map[string]string{"state": "paused", "reason": "Briefing"}}), http.StatusOK)
		if g := nextOperatorMsg(t, s); g.Name != "olga" || g.State != "paused" || g.Reason != "Briefing" || g.By != "sam" || g.Since.IsZero() {
			t.Fatalf("after the supervisor's pause: %+v", g)
		}
		want(t, "olga resumes", do(t, c, base, call{method: "PUT", path: "/api/v1/operators/me/state", cookie: cookie,
			hdr: map[string]string{"X-CSRF-Token": csrf}, body: map[string]string{"state": "available"}}), http.StatusOK)
		if g := nextOperatorMsg(t, s); g.State != "available" || g.By != "olga" {
			t.Fatalf("after resume: %+v", g)
		}
		want(t, "olga pauses for lunch", do(t, c, base, call{method: "PUT", path: "/api/v1/operators/me/state", basic: olga,
			body: map[string]string{"state": "paused", "reason": "Lunch"}}), http.StatusOK)
		nextOperatorMsg(t, s)
		want(t, "logout", do(t, c, base, call{method: "DELETE", path: "/api/v1/session", cookie: cookie,
			hdr: map[string]string{"X-CSRF-Token": csrf}}), http.StatusNoContent)
		if g := nextOperatorMsg(t, s); g.State != "offline" {
			t.Fatalf("after logout: %+v", g)
		}
		want(t, "sam sets u1000 away", do(t, c, base, call{method: "PUT", path: "/api/v1/presence/gateway:u1000", basic: [2]string{"sam", "sam-password"},
			body: map[string]string{"presence": "away"}}), http.StatusOK)
	})
	t.Run("after restart", func(t *testing.T) {
		a := startApp(t, path, nil, cheapAccounts(t, nil))
		base := "https://" + a.AdminAddr()
		c := clientFrom("127.0.0.1")
		var me operatorPanel
		r := do(t, c, base, call{method: "GET", path: "/api/v1/operators/me", basic: olga})
		want(t, "operators/me", r, http.StatusOK)
		r.json(t, &me)
		if me.State != "paused" || me.Reason != "Lunch" {
			t.Errorf("olga after the restart: %s %q, want paused for Lunch", me.State, me.Reason)
		}
		var pv presenceView
		r = do(t, c, base, call{method: "GET", path: "/api/v1/presence/gateway:u1000", basic: olga})
		want(t, "presence", r, http.StatusOK)
		r.json(t, &pv)
		if pv.UserPresence != attendant.PresenceAway || pv.Presence != attendant.PresenceAway {
			t.Errorf("u1000's presence after the restart: %+v, want away", pv)
		}
	})
}

// wsStream is one event stream connection.
type wsStream struct {
	conn net.Conn
	br   *bufio.Reader
}
