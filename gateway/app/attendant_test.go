package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/plugins"
)

// testSource is an attendant.Source for the API tests: make call and
// clear work, hold is not supported, forwarding answers unavailable,
// everything else is not supported.
type testSource struct {
	name string
	devs []string
	mu   sync.Mutex
	log  []string
}

func (s *testSource) did(f string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, fmt.Sprintf(f, a...))
}

func (s *testSource) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

var errNS = fmt.Errorf("test source: %w", plugins.ErrNotSupported)

func (s *testSource) Name() string { return s.name }
func (s *testSource) Up() bool     { return true }
func (s *testSource) Capabilities(context.Context) (plugins.Capabilities, error) {
	return plugins.Capabilities{}, nil
}
func (s *testSource) Monitors() []string                                   { return s.devs }
func (s *testSource) MonitorStart(context.Context, string) (string, error) { return "", errNS }
func (s *testSource) MonitorStop(context.Context, string) error            { return nil }
func (s *testSource) Snapshot(_ context.Context, d string) (plugins.DeviceSnapshot, error) {
	return plugins.DeviceSnapshot{Device: d}, nil
}
func (s *testSource) MakeCall(_ context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	s.did("make %s %s", r.Calling, r.Called)
	return plugins.ConnectionRef{Device: r.Calling, CallID: "c5", ConnectionID: "x5"}, nil
}
func (s *testSource) Answer(context.Context, plugins.ConnectionRef) error { return errNS }
func (s *testSource) Clear(_ context.Context, c plugins.ConnectionRef) error {
	s.did("clear %s %s", c.Device, c.CallID)
	return nil
}
func (s *testSource) Hold(context.Context, plugins.ConnectionRef) error     { return errNS }
func (s *testSource) Retrieve(context.Context, plugins.ConnectionRef) error { return errNS }
func (s *testSource) Consultation(context.Context, plugins.ConnectionRef, string) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, errNS
}
func (s *testSource) Transfer(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, errNS
}
func (s *testSource) SingleStepTransfer(context.Context, plugins.ConnectionRef, string) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, errNS
}
func (s *testSource) Conference(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, errNS
}
func (s *testSource) Deflect(context.Context, plugins.ConnectionRef, string) error { return errNS }
func (s *testSource) GenerateDigits(context.Context, plugins.ConnectionRef, string) error {
	return errNS
}
func (s *testSource) Park(context.Context, plugins.ConnectionRef, string) (string, error) {
	return "", errNS
}
func (s *testSource) Pickup(context.Context, string, string) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, errNS
}
func (s *testSource) SetDND(_ context.Context, d string, on bool) error {
	s.did("dnd %s %v", d, on)
	return nil
}
func (s *testSource) SetForwarding(context.Context, string, plugins.Forwarding) error {
	return fmt.Errorf("test source: %w: link down", plugins.ErrUnavailable)
}
func (s *testSource) SetAgentState(context.Context, plugins.AgentStateRequest) error { return errNS }
func (s *testSource) Reconnect(_ context.Context, h, a plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	s.did("reconnect %s/%s %s/%s", h.Device, h.CallID, a.Device, a.CallID)
	return h, nil
}
func (s *testSource) Alternate(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, errNS
}
func (s *testSource) ListDevices(context.Context, string, int) (plugins.DevicePage, error) {
	return plugins.DevicePage{}, errNS
}

// attendantApp runs a gateway whose attendant model has one test source
// "pbx1" with devices 201 and 202, 201 in call c1.
func attendantApp(t *testing.T, extra string) (*App, *testSource) {
	t.Helper()
	src := &testSource{name: "pbx1", devs: []string{"201", "202"}}
	a := runApp(t, extra, func(a *App) { a.att.AddSource(src) })
	a.att.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Type: plugins.EventSnapshot, Device: "201",
		Snapshot: &plugins.DeviceSnapshot{Device: "201", Calls: []plugins.CallSnapshot{{CallID: "c1", ConnectionID: "x1", State: plugins.StateConnected, Other: "202"}}}})
	a.att.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Type: plugins.EventSnapshot, Device: "202",
		Snapshot: &plugins.DeviceSnapshot{Device: "202", Forwarding: []plugins.Forwarding{{Type: plugins.ForwardImmediate, To: "0441234567", Enabled: true}}}})
	return a, src
}

func attDo(t *testing.T, c *http.Client, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestAttendantAPI: the REST resources over a source: reads, a call made
// through the source, the source's refusals as 501/503 problems naming it,
// unknown ids 404, and bad bodies 400/413 — all problem documents.
func TestAttendantAPI(t *testing.T) {
	a, src := attendantApp(t, "")
	base := "https://" + a.AdminAddr()
	c := authClient(a, "127.0.0.1")

	if code, _, body := attDo(t, clientFrom("127.0.0.1"), "GET", base+"/api/v1/devices", ""); code != 401 {
		t.Fatalf("no credentials: %d %s", code, body)
	}
	code, _, body := attDo(t, c, "GET", base+"/api/v1/devices?source=pbx1", "") // the gateway's own u1000 is a lamp too
	var list struct{ Devices []attendant.Device }
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Devices) != 2 {
		t.Fatalf("devices: %d %s", code, body)
	}
	if d := list.Devices[0]; d.ID != "pbx1:201" || d.Line != attendant.LineBusy || d.Presence != attendant.PresenceBusy {
		t.Fatalf("201: %+v", d)
	}
	if code, _, body := attDo(t, c, "GET", base+"/api/v1/devices?q=202", ""); code != 200 || strings.Count(body, `"id": "pbx1:`) != 1 {
		t.Fatalf("q=202: %d %s", code, body)
	}
	if code, _, body := attDo(t, c, "GET", base+"/api/v1/devices?source=other", ""); code != 200 || !strings.Contains(body, `"devices": []`) {
		t.Fatalf("source=other: %d %s", code, body)
	}
	if code, _, body := attDo(t, c, "GET", base+"/api/v1/calls/pbx1:c1", ""); code != 200 || !strings.Contains(body, `"device": "pbx1:201"`) {
		t.Fatalf("call c1: %d %s", code, body)
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
		inDetail           string
	}{
		{"GET", "/api/v1/devices/pbx1:999", "", 404, "unknown device"},
		{"GET", "/api/v1/calls/pbx1:nope", "", 404, "unknown call"},
		{"POST", "/api/v1/calls/pbx1:c1/hold", `{"device":"pbx1:201"}`, 501, "source pbx1"},
		{"PUT", "/api/v1/devices/pbx1:202/forwarding", `{"type":"immediate","to":"300","enabled":true}`, 503, "source pbx1"},
		{"POST", "/api/v1/calls/pbx1:c1/clear", `{"device":"pbx1:202"}`, 404, "not in call"},
		{"POST", "/api/v1/calls", `{"from":"pbx1:201","to":`, 400, "unexpected EOF"},
		{"POST", "/api/v1/calls", `{"from":"pbx1:201","to":"202","x":1}`, 400, "unknown field"},
		{"POST", "/api/v1/calls", `{"from":"pbx1:201","to":202}`, 400, "cannot unmarshal"},
		{"POST", "/api/v1/calls", `{"from":"201","to":"202"}`, 400, "device id"},
		{"POST", "/api/v1/calls", `{"from":"pbx1:201","to":"` + strings.Repeat("9", 70<<10) + `"}`, 413, "too large"},
		{"PUT", "/api/v1/devices/pbx1:201/dnd", `{"enabled":"yes"}`, 400, "cannot unmarshal"},
		{"PUT", "/api/v1/presence/pbx1:201", `{"presence":"sleepy"}`, 400, "unknown presence"},
		{"POST", "/api/v1/calls/pbx1:c1/dtmf", `{"device":"pbx1:201","digits":"1x"}`, 400, "digits"},
		{"POST", "/api/v1/parked/pbx1:700/retrieve", `{"device":"pbx1:201"}`, 404, "no call parked"},
	} {
		code, h, body := attDo(t, c, tc.method, base+tc.path, tc.body)
		if code != tc.code || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, tc.inDetail) {
			t.Errorf("%s %s %.60s: %d %s %s, want %d problem with %q", tc.method, tc.path, tc.body, code, h.Get("Content-Type"), body, tc.code, tc.inDetail)
		}
	}
	code, _, body = attDo(t, c, "POST", base+"/api/v1/calls", `{"from":"pbx1:201","to":"202"}`)
	if code != 201 || !strings.Contains(body, `"call_id": "pbx1:c5"`) {
		t.Fatalf("make call: %d %s", code, body)
	}
	if code, _, body := attDo(t, c, "POST", base+"/api/v1/calls/pbx1:c1/clear", `{"device":"pbx1:201"}`); code != 204 {
		t.Fatalf("clear: %d %s", code, body)
	}
	if code, _, body := attDo(t, c, "PUT", base+"/api/v1/devices/pbx1:202/dnd", `{"enabled":true}`); code != 204 {
		t.Fatalf("dnd: %d %s", code, body)
	}
	if got := src.calls(); !slices.Equal(got, []string{"make 201 202", "clear 201 c1", "dnd 202 true"}) {
		t.Fatalf("the source got %v", got)
	}
	code, _, body = attDo(t, c, "PUT", base+"/api/v1/presence/pbx1:202", `{"presence":"Absent"}`)
	if code != 200 || !strings.Contains(body, `"presence": "away"`) || !strings.Contains(body, `"mivo400": "Absent"`) {
		t.Fatalf("presence: %d %s", code, body)
	}
}

// asOperator runs h as account acct (role operator, groups) on a request.
func asOperator(h http.HandlerFunc, acct string, groups []string, method, target, body string, pathValues ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(pathValues); i += 2 {
		r.SetPathValue(pathValues[i], pathValues[i+1])
	}
	r = r.WithContext(accounts.WithPrincipal(r.Context(), accounts.Principal{Account: acct, Role: accounts.RoleOperator, Groups: groups}))
	w := httptest.NewRecorder()
	h(w, r)
	return w
}

// TestAttendantOperatorRights: with operator groups configured, an
// operator acts only on their groups' devices (403 otherwise), changes
// only their own device's DND (others: supervisor), sees colleagues'
// forwarding masked and only their own history.
func TestAttendantOperatorRights(t *testing.T) {
	a, src := attendantApp(t, `attendant:
  console_link: {tls: ""}
  groups: [{name: front, devices: ["pbx1:202"]}]
  operators: [{account: alice, device: "pbx1:202"}]
  forwarding_mask: 3
`)
	s := a.admin
	clear := func(w http.ResponseWriter, r *http.Request) { s.callAction(w, r, "clear") }
	if w := asOperator(clear, "alice", []string{"front"}, "POST", "/", `{"device":"pbx1:201"}`, "id", "pbx1:c1"); w.Code != 403 ||
		!strings.Contains(w.Body.String(), "not in your groups") {
		t.Fatalf("clear at a device outside the group: %d %s", w.Code, w.Body)
	}
	if w := asOperator(s.makeCall, "bob", []string{"back"}, "POST", "/", `{"from":"pbx1:202","to":"1"}`); w.Code != 403 {
		t.Fatalf("make call from another group's device: %d %s", w.Code, w.Body)
	}
	if w := asOperator(s.makeCall, "alice", []string{"front"}, "POST", "/", `{"from":"pbx1:202","to":"1"}`); w.Code != 201 {
		t.Fatalf("make call from own group's device: %d %s", w.Code, w.Body)
	}
	if w := asOperator(s.putDND, "alice", nil, "PUT", "/", `{"enabled":true}`, "id", "pbx1:201"); w.Code != 403 {
		t.Fatalf("dnd of another device: %d %s", w.Code, w.Body)
	}
	if w := asOperator(s.putDND, "alice", nil, "PUT", "/", `{"enabled":true}`, "id", "pbx1:202"); w.Code != 204 {
		t.Fatalf("dnd of own device: %d %s", w.Code, w.Body)
	}
	if got := src.calls(); !slices.Equal(got, []string{"make 202 1", "dnd 202 true"}) {
		t.Fatalf("the source got %v", got)
	}
	if w := asOperator(s.getDevice, "bob", nil, "GET", "/", "", "id", "pbx1:202"); !strings.Contains(w.Body.String(), `"to": "0441234xxx"`) {
		t.Fatalf("colleague's forwarding unmasked: %s", w.Body)
	}
	if w := asOperator(s.getDevice, "alice", nil, "GET", "/", "", "id", "pbx1:202"); !strings.Contains(w.Body.String(), `"to": "0441234567"`) {
		t.Fatalf("own forwarding masked: %s", w.Body)
	}
}

// TestOpenAPIMatchesRoutes: every /api/ pattern registered with route has
// an operation in GET /api/openapi.json and every operation a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a := runApp(t, "", nil)
	code, body := get(t, clientFrom("127.0.0.1"), "https://"+a.AdminAddr()+"/api/openapi.json")
	if code != 200 {
		t.Fatalf("openapi.json: %d %s", code, body)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("document: %v %.200s", err, body)
	}
	inDoc := map[string]bool{}
	for p, ops := range doc.Paths {
		for op := range ops {
			if op == "parameters" || op == "summary" || op == "description" {
				continue
			}
			inDoc[op+" "+p] = true
		}
	}
	routed := map[string]bool{}
	for _, pat := range a.admin.routes {
		m, p := openapiPattern(pat)
		if !strings.HasPrefix(p, "/api/") {
			continue
		}
		routed[m+" "+p] = true
		if !inDoc[m+" "+p] {
			t.Errorf("route %q has no operation in the OpenAPI document", pat)
		}
	}
	for op := range inDoc {
		if !routed[op] {
			t.Errorf("operation %q has no route", op)
		}
	}
	if len(routed) < 30 {
		t.Fatalf("only %d routes seen", len(routed))
	}
}

// wsDial opens the event stream over TLS at addr with query q.
func wsDial(t *testing.T, a *App, addr, q string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := ws.Dialer{
		TLSConfig: &tls.Config{InsecureSkipVerify: true},
		Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Basic " +
			base64.StdEncoding.EncodeToString([]byte(accounts.FirstRunAccount+":"+a.admin.adminPassword))}}),
		Timeout: 5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, "wss://"+addr+"/api/v1/events"+q)
	if err != nil {
		t.Fatalf("dial events: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return conn, br
}

// readMsg reads the next text frame as a message.
func readMsg(t *testing.T, conn net.Conn, br *bufio.Reader) (attendant.Message, ws.Frame) {
	t.Helper()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		f, err := ws.ReadFrame(br)
		if err != nil {
			t.Fatalf("read frame: %v", err)
		}
		if f.Header.OpCode == ws.OpPing {
			continue
		}
		if f.Header.OpCode == ws.OpClose {
			return attendant.Message{}, f
		}
		var m attendant.Message
		if err := json.Unmarshal(f.Payload, &m); err != nil {
			t.Fatalf("frame %q: %v", f.Payload, err)
		}
		return m, f
	}
}

// TestEventStreamWS: the WebSocket stream on the HTTPS port and on the
// console link: a snapshot first, then live device messages; a
// reconnect with since= gets what it missed; a flood of client frames
// closes that client (1008) and no other.
func TestEventStreamWS(t *testing.T) {
	a, _ := attendantApp(t, "attendant: {console_link: {tls: 127.0.0.1:0, plain: 127.0.0.1:0, plain_enabled: true}}\n")
	links := a.admin.consoleAddrs()
	if len(links) != 2 {
		t.Fatalf("console link listeners %v", links)
	}
	conn, br := wsDial(t, a, a.AdminAddr(), "?devices=pbx1:202")
	snap, _ := readMsg(t, conn, br)
	if snap.Type != "snapshot" || len(snap.Devices) != 1 || snap.Devices[0].ID != "pbx1:202" {
		t.Fatalf("first message %+v", snap)
	}
	tlsConn, tlsBr := wsDial(t, a, links[0], "")
	if m, _ := readMsg(t, tlsConn, tlsBr); m.Type != "snapshot" || !slices.ContainsFunc(m.Devices, func(d attendant.Device) bool { return d.ID == "pbx1:201" }) ||
		!slices.ContainsFunc(m.Devices, func(d attendant.Device) bool { return d.ID == "pbx1:202" }) {
		t.Fatalf("console link (TLS) first message %+v", m)
	}
	a.att.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Seq: 1, Device: "202", Type: plugins.EventDelivered, CallID: "c2", State: plugins.StateAlerting})
	m, _ := readMsg(t, conn, br)
	if m.Type != "device" || m.Device.Line != attendant.LineRinging || m.Seq != snap.Seq+1 {
		t.Fatalf("live message %+v", m)
	}
	conn.Close()
	a.att.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Seq: 2, Device: "202", Type: plugins.EventEstablished, CallID: "c2", State: plugins.StateConnected})
	conn2, br2 := wsDial(t, a, a.AdminAddr(), fmt.Sprintf("?devices=pbx1:202&since=%d", m.Seq))
	missed, _ := readMsg(t, conn2, br2)
	if missed.Type != "device" || missed.Seq != m.Seq+1 || missed.Device.Line != attendant.LineBusy {
		t.Fatalf("after reconnect with since=%d: %+v", m.Seq, missed)
	}
	// A flood of client frames: closed with 1008, the TLS client unharmed.
	for range 200 {
		if err := ws.WriteFrame(conn2, ws.MaskFrame(ws.NewTextFrame([]byte("x")))); err != nil {
			break
		}
	}
	if _, f := readMsg(t, conn2, br2); f.Header.OpCode != ws.OpClose {
		t.Fatalf("flooding client not closed")
	} else if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusPolicyViolation {
		t.Fatalf("flood close code %d", code)
	}
	if m, _ := readMsg(t, tlsConn, tlsBr); m.Type != "device" || m.Seq != snap.Seq+1 {
		t.Fatalf("TLS console client after the flood: %+v", m)
	}
	// A frame over 4 KiB: 1009.
	conn3, br3 := wsDial(t, a, a.AdminAddr(), "")
	readMsg(t, conn3, br3)
	_ = ws.WriteFrame(conn3, ws.MaskFrame(ws.NewTextFrame(make([]byte, 5000))))
	if _, f := readMsg(t, conn3, br3); f.Header.OpCode != ws.OpClose {
		t.Fatal("oversized frame not closed")
	} else if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusMessageTooBig {
		t.Fatalf("oversized close code %d", code)
	}
	// Plain console link answers the same API; a non-WebSocket GET is 426.
	code, _, body := attDo(t, http.DefaultClient, "GET", "http://"+links[1]+"/api/v1/events", "")
	if code != 401 {
		t.Fatalf("plain console link without credentials: %d %s", code, body)
	}
	code, _, _ = attDo(t, authClient(a, "127.0.0.1"), "GET", "https://"+a.AdminAddr()+"/api/v1/events?since=abc", "")
	if code != 400 {
		t.Fatalf("since=abc: %d", code)
	}
}

// TestEventStreamSlowReaderWS: a console that stops reading is dropped
// (1013 with the reason) once its queue fills, while another console
// receives every message in order; the dropped one reconnecting with its
// old since= gets a snapshot.
func TestEventStreamSlowReaderWS(t *testing.T) {
	a, _ := attendantApp(t, "attendant: {console_link: {tls: \"\"}, client_queue: 1024}\n")
	slow, slowBr := wsDial(t, a, a.AdminAddr(), "")
	first, _ := readMsg(t, slow, slowBr)
	fast, fastBr := wsDial(t, a, a.AdminAddr(), "")
	readMsg(t, fast, fastBr)
	const n = 30000 // ~15 MB: more than the sockets buffer
	got := make(chan error, 1)
	var read atomic.Int64
	go func() {
		next := first.Seq + 1
		for range n {
			read.Add(1)
			_ = fast.SetReadDeadline(time.Now().Add(20 * time.Second))
			f, err := ws.ReadFrame(fastBr)
			if err == nil && f.Header.OpCode == ws.OpPing {
				continue
			}
			// Every message starts {"seq":N, (stream.go marshals seq first).
			want := fmt.Sprintf(`{"seq":%d,`, next)
			if err != nil || f.Header.OpCode != ws.OpText || !strings.HasPrefix(string(f.Payload), want) {
				got <- fmt.Errorf("fast reader: %v op %v %.40q, want %s", err, f.Header.OpCode, f.Payload, want)
				return
			}
			next++
		}
		got <- nil
	}()
	start := time.Now()
	for i := range n {
		// Paced to the fast reader (a console that keeps up), never to the slow one.
		for deadline := time.Now().Add(20 * time.Second); int64(i)-read.Load() > 512 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		a.att.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Seq: uint64(i + 1), Device: "202", Type: plugins.EventDoNotDisturb, DND: i%2 == 0})
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages to the fast reader in %s; dropped clients %d", n, time.Since(start), a.att.Dropped())
	if a.att.Dropped() != 1 {
		t.Fatalf("dropped %d clients, want the slow one", a.att.Dropped())
	}
	// The slow reader finds, after what was queued, the close frame, or
	// the end of the connection when even the close frame could not be
	// written to its full socket.
	for {
		_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
		f, err := ws.ReadFrame(slowBr)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			break
		}
		if err != nil {
			t.Fatalf("slow reader: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			code, reason := ws.ParseCloseFrameData(f.Payload)
			if code != 1013 || !strings.Contains(reason, "slow reader") {
				t.Fatalf("close %d %q", code, reason)
			}
			break
		}
	}
	again, againBr := wsDial(t, a, a.AdminAddr(), fmt.Sprintf("?since=%d", first.Seq))
	if m, _ := readMsg(t, again, againBr); m.Type != "snapshot" {
		t.Fatalf("reconnect with an old since: %+v", m)
	}
}

// TestConsoleLinkHostile: garbage, oversized headers and plaintext on the
// TLS port get errors from the console link listeners, a page of another
// origin may not open the stream, and the links keep serving.
func TestConsoleLinkHostile(t *testing.T) {
	a, _ := attendantApp(t, "attendant: {console_link: {tls: 127.0.0.1:0, plain: 127.0.0.1:0, plain_enabled: true}}\n")
	links := a.admin.consoleAddrs()
	raw := func(addr, data string) string {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write([]byte(data))
		b, _ := io.ReadAll(io.LimitReader(c, 4096))
		return string(b)
	}
	if got := raw(links[1], "GARBAGE\r\n\r\n"); !strings.Contains(got, "400 Bad Request") {
		t.Fatalf("garbage on the plain link: %q", got)
	}
	if got := raw(links[1], "GET /api/v1/devices HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 200<<10)+"\r\n\r\n"); !strings.Contains(got, "431") {
		t.Fatalf("oversized header on the plain link: %.80q", got)
	}
	if got := raw(links[0], "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); strings.Contains(got, "200 OK") {
		t.Fatalf("plaintext on the TLS link answered: %q", got)
	}
	c := authClient(a, "127.0.0.1")
	req, _ := http.NewRequest("GET", "https://"+a.AdminAddr()+"/api/v1/events", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Upgrade", "websocket")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("stream from another origin: %d", res.StatusCode)
	}
	for _, base := range []string{"https://" + links[0], "http://" + links[1]} {
		if code, _, body := attDo(t, c, "GET", base+"/api/v1/devices/pbx1:201", ""); code != 200 {
			t.Fatalf("%s after the garbage: %d %s", base, code, body)
		}
	}
}

// TestHistoryPerOperator: GET /api/v1/history (moved from /api/v1/calls)
// shows an operator their own calls whatever user= says; an admin sees
// the user asked for.
func TestHistoryPerOperator(t *testing.T) {
	a := runApp(t, "", nil)
	now := time.Now().UTC().Truncate(time.Second)
	recs := []cdr.Record{
		{ID: "r1", CallID: "c1", Direction: "local", Caller: "alice", Callee: "2000", Setup: now.Add(-time.Minute), End: now, Status: 200, Cause: "normal"},
		{ID: "r2", CallID: "c2", Direction: "local", Caller: "bob", Callee: "2001", Setup: now.Add(-time.Minute), End: now, Status: 200, Cause: "normal"},
	}
	if err := a.store.AddRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	w := asOperator(a.admin.history, "alice", nil, "GET", "/api/v1/history?user=bob", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"id": "r1"`) || strings.Contains(w.Body.String(), `"id": "r2"`) {
		t.Fatalf("operator alice asking for bob's: %d %s", w.Code, w.Body)
	}
	code, body := get(t, authClient(a, "127.0.0.1"), "https://"+a.AdminAddr()+"/api/v1/history?user=bob")
	if code != 200 || !strings.Contains(body, `"id": "r2"`) || strings.Contains(body, `"id": "r1"`) {
		t.Fatalf("admin asking for bob's: %d %s", code, body)
	}
	if code, _ := get(t, authClient(a, "127.0.0.1"), "https://"+a.AdminAddr()+"/api/v1/calls?user=bob"); code != 200 {
		t.Fatalf("GET /api/v1/calls is now the active calls: %d", code)
	}
}
