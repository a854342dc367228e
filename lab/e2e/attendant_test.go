package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
)

// attDevice is a device as the attendant API shows it.
type attDevice struct {
	ID    string `json:"id"`
	Line  string `json:"line"`
	Stale bool   `json:"stale"`
	Calls []struct {
		CallID string `json:"call_id"`
		State  string `json:"state"`
	} `json:"calls"`
}

// attMessage is one event stream message.
type attMessage struct {
	Seq     uint64      `json:"seq"`
	Type    string      `json:"type"`
	Source  string      `json:"source"`
	Scope   string      `json:"scope"`
	Event   string      `json:"event"`
	Device  *attDevice  `json:"device"`
	Devices []attDevice `json:"devices"`
}

// apiJSON does an authorized request with a JSON body.
func (g *gateway) apiJSON(method, path, body string) (int, []byte) {
	g.t.Helper()
	req, err := http.NewRequest(method, "https://"+g.HTTP+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	g.authorize(req)
	res, err := httpClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (g *gateway) device(id string) attDevice {
	g.t.Helper()
	code, body := g.api("GET", "/api/v1/devices/"+id)
	var d attDevice
	if err := json.Unmarshal(body, &d); code != 200 || err != nil {
		g.t.Fatalf("GET device %s: %d %s", id, code, body)
	}
	return d
}

// waitDevice polls a device until ok accepts it.
func (g *gateway) waitDevice(id, what string, ok func(attDevice) bool) attDevice {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := g.device(id)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("device %s never %s: %+v", id, what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventStream is a client of GET /api/v1/events.
type eventStream struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func (g *gateway) events(query string) *eventStream {
	g.t.Helper()
	pw, err := os.ReadFile(filepath.Join(g.dataDir, "admin.password"))
	if err != nil {
		g.t.Fatal(err)
	}
	d := ws.Dialer{
		TLSConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed
		Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Basic " +
			base64.StdEncoding.EncodeToString([]byte("admin:"+string(bytes.TrimSpace(pw))))}}),
		Timeout: 5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, "wss://"+g.HTTP+"/api/v1/events"+query)
	if err != nil {
		g.t.Fatalf("events: %v", err)
	}
	g.t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &eventStream{t: g.t, conn: conn, br: br}
}

// next returns the next message.
func (e *eventStream) next() attMessage {
	e.t.Helper()
	for {
		_ = e.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		f, err := ws.ReadFrame(e.br)
		if err != nil {
			e.t.Fatalf("event stream: %v", err)
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			_ = ws.WriteFrame(e.conn, ws.MaskFrame(ws.NewPongFrame(f.Payload)))
			continue
		case ws.OpClose:
			e.t.Fatalf("event stream closed: %q", f.Payload)
		}
		var m attMessage
		if err := json.Unmarshal(f.Payload, &m); err != nil {
			e.t.Fatalf("message %q: %v", f.Payload, err)
		}
		return m
	}
}

// until reads messages until ok accepts one.
func (e *eventStream) until(what string, ok func(attMessage) bool) attMessage {
	e.t.Helper()
	for {
		m := e.next()
		if ok(m) {
			return m
		}
		e.t.Logf("(%s) skipping %s %s %+v", what, m.Type, m.Event, m.Device)
	}
}

// all reads messages until each of oks has accepted one, in any order
// (a recall message and the lamps it changes race).
func (e *eventStream) all(what string, oks ...func(attMessage) bool) {
	e.t.Helper()
	done := make([]bool, len(oks))
	for left := len(oks); left > 0; {
		m := e.next()
		hit := false
		for i, ok := range oks {
			if !done[i] && ok(m) {
				done[i], hit = true, true
				left--
			}
		}
		if !hit {
			e.t.Logf("(%s) skipping %s %s %+v", what, m.Type, m.Event, m.Device)
		}
	}
}

func isType(typ string) func(attMessage) bool {
	return func(m attMessage) bool { return m.Type == typ }
}

func lineIs(id, line string) func(attMessage) bool {
	return func(m attMessage) bool { return m.Type == "device" && m.Device.ID == id && m.Device.Line == line }
}

// TestAttendantThreePBXs runs one gateway with the three bundled drivers
// against their lab simulators (MiVO400 CSTA, Avaya DMCC, BroadWorks
// Xsi) and plays the same scenario on a device of each through the
// attendant API: make a call from A to B, see A's lamp go busy and B's
// ring on the event stream, clear it from A, see both idle again.
func TestAttendantThreePBXs(t *testing.T) {
	t.Parallel()
	mitel, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: []string{"201", "202"}})
	if err != nil {
		t.Fatal(err)
	}
	defer mitel.Close()
	avaya, err := labavaya.New(labavaya.Config{User: "cti", Password: "secret", Devices: []string{"301", "302"}})
	if err != nil {
		t.Fatal(err)
	}
	defer avaya.Close()
	cisco, err := labcisco.New(labcisco.Config{User: "admin", Password: "secret", Users: []string{"401", "402"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cisco.Close()
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: mitel1
      driver: mitel
      config: {address: %q, user: csta, password: secret, reconnect_min: 50ms}
      monitor: ["201", "202"]
    - name: avaya1
      driver: avaya
      config: {address: %q, user: cti, password: secret, switch_name: CM1, reconnect_min: 50ms}
      monitor: ["301", "302"]
    - name: cisco1
      driver: cisco
      config: {base_url: %q, user: admin, password: secret, tls_insecure_skip_verify: true, user_domain: lab.example, reconnect_min: 50ms}
      monitor: ["401", "402"]
`, mitel.Addr(), avaya.Addr(), cisco.URL()))

	for _, pbx := range []struct{ source, a, b string }{{"mitel1", "201", "202"}, {"avaya1", "301", "302"}, {"cisco1", "401", "402"}} {
		t.Run(pbx.source, func(t *testing.T) {
			a, b := pbx.source+":"+pbx.a, pbx.source+":"+pbx.b
			for _, id := range []string{a, b} {
				g.waitDevice(id, "idle and fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
			}
			ev := g.events("?devices=" + a + "," + b)
			if snap := ev.next(); snap.Type != "snapshot" || len(snap.Devices) != 2 {
				t.Fatalf("first message %+v", snap)
			}
			code, body := g.apiJSON("POST", "/api/v1/calls", fmt.Sprintf(`{"from":%q,"to":%q}`, a, pbx.b))
			if code != http.StatusCreated {
				t.Fatalf("make call: %d %s", code, body)
			}
			var made struct {
				CallID string `json:"call_id"`
			}
			_ = json.Unmarshal(body, &made)
			t.Logf("%s: make call %s", pbx.source, body)
			var callID string
			ev.all(a+" busy, "+b+" ringing", lineIs(a, "busy"), func(m attMessage) bool {
				if lineIs(b, "ringing")(m) && len(m.Device.Calls) == 1 {
					callID = m.Device.Calls[0].CallID
					return true
				}
				return false
			})
			if da := g.device(a); da.Line != "busy" || len(da.Calls) != 1 || da.Calls[0].CallID != callID {
				t.Fatalf("caller %+v, callee's call %s", da, callID)
			}
			code, body = g.api("GET", "/api/v1/calls/"+callID)
			if code != 200 || !strings.Contains(string(body), `"device": "`+a+`"`) || !strings.Contains(string(body), `"device": "`+b+`"`) {
				t.Fatalf("GET call %s: %d %s", callID, code, body)
			}
			code, body = g.apiJSON("POST", "/api/v1/calls/"+callID+"/clear", fmt.Sprintf(`{"device":%q}`, a))
			if code != http.StatusNoContent {
				t.Fatalf("clear: %d %s", code, body)
			}
			ev.until(a+" idle", lineIs(a, "idle"))
			g.waitDevice(b, "idle", func(d attDevice) bool { return d.Line == "idle" })
		})
	}
	g.requireAlive()
}

// TestAttendantDriverKilled: the driver process dies mid-stream: clients
// get link_down, the devices are stale while the new process logs in
// (the simulator answers slowly), then the restored monitors' snapshots
// arrive fresh, with the call that started while the link was down.
func TestAttendantDriverKilled(t *testing.T) {
	t.Parallel()
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: []string{"201", "202"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: pbx1
      driver: mitel
      config: {address: %q, user: csta, password: secret, reconnect_min: 50ms}
      monitor: ["201", "202"]
`, sim.Addr()))
	d := g.waitCTI("up", func(d ctiDriver) bool { return d.State == "up" })
	g.waitDevice("pbx1:201", "fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
	ev := g.events("")
	ev.next() // snapshot

	sim.SetDelay(time.Second) // the new process's login and restore take seconds
	if err := syscall.Kill(d.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	down := ev.until("link_down", func(m attMessage) bool { return m.Type == "link_down" && m.Source == "pbx1" })
	if down.Source != "pbx1" {
		t.Fatalf("link_down %+v", down)
	}
	if dv := g.device("pbx1:201"); !dv.Stale {
		t.Fatalf("after link_down: %+v, want stale", dv)
	}
	sim.SetDelay(0)
	fresh := ev.until("fresh snapshot of 201", func(m attMessage) bool {
		return m.Type == "device" && m.Device.ID == "pbx1:201" && m.Event == "snapshot" && !m.Device.Stale
	})
	t.Logf("fresh after the kill: %+v", fresh.Device)
	ev.until("link_up", func(m attMessage) bool { return m.Type == "link_up" && m.Scope == "pbx" && m.Source == "pbx1" })
	g.waitDevice("pbx1:202", "fresh", func(d attDevice) bool { return !d.Stale && d.Line == "idle" })
	code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"pbx1:201","to":"202"}`)
	if code != http.StatusCreated {
		t.Fatalf("make call after the restart: %d %s", code, body)
	}
	ev.until("202 ringing", lineIs("pbx1:202", "ringing"))
	g.requireAlive()
}

// ciscoGateway runs a gateway with the BroadWorks driver on the lab
// simulator (users 401-404 monitored) and extra attendant settings.
func ciscoGateway(t *testing.T, attendantYAML string) *gateway {
	t.Helper()
	sim, err := labcisco.New(labcisco.Config{User: "admin", Password: "secret", Users: []string{"401", "402", "403", "404"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: cisco1
      driver: cisco
      config: {base_url: %q, user: admin, password: secret, tls_insecure_skip_verify: true, user_domain: lab.example, reconnect_min: 50ms}
      monitor: ["401", "402", "403"]
attendant:
  console_link: {tls: ""}
%s`, sim.URL(), attendantYAML))
	for _, id := range []string{"cisco1:401", "cisco1:402", "cisco1:403"} {
		g.waitDevice(id, "idle and fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
	}
	return g
}

// answeredAt makes a call 401 → 402 through the API, answers it at 402
// (the operator) and returns its id as 402 sees it.
func answeredAt(t *testing.T, g *gateway, ev *eventStream) string {
	t.Helper()
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"cisco1:401","to":"402"}`); code != http.StatusCreated {
		t.Fatalf("make call: %d %s", code, body)
	}
	ring := ev.until("402 ringing", lineIs("cisco1:402", "ringing"))
	call := ring.Device.Calls[0].CallID
	if code, body := g.apiJSON("POST", "/api/v1/calls/"+call+"/answer", `{"device":"cisco1:402"}`); code != http.StatusNoContent {
		t.Fatalf("answer: %d %s", code, body)
	}
	ev.until("402 busy", lineIs("cisco1:402", "busy"))
	return call
}

// TestAttendantSafeTransfer: the operator (402) blind-transfers an
// answered call to 403, which the simulator leaves ringing; after
// attendant.safe_transfer the call comes back to the operator's phone
// (deflected from 403 to 402), and clients get a recall message.
func TestAttendantSafeTransfer(t *testing.T) {
	t.Parallel()
	g := ciscoGateway(t, "  safe_transfer: 1s\n")
	ev := g.events("")
	ev.next()
	call := answeredAt(t, g, ev)
	code, body := g.apiJSON("POST", "/api/v1/calls/"+call+"/transfer", `{"device":"cisco1:402","to":"403"}`)
	if code != http.StatusOK {
		t.Fatalf("transfer: %d %s", code, body)
	}
	ev.until("403 ringing", lineIs("cisco1:403", "ringing"))
	transferred := time.Now()
	ev.all("recall, 402 ringing again", isType("recall"), lineIs("cisco1:402", "ringing"))
	t.Logf("recalled after %s", time.Since(transferred))
	g.waitDevice("cisco1:403", "idle after the recall", func(d attDevice) bool { return d.Line == "idle" })
}

// TestAttendantParkRecall: the operator parks an answered call against
// 404; GET /api/v1/parked lists it with its operator; after
// attendant.park_recall the gateway retrieves it to the operator's phone.
func TestAttendantParkRecall(t *testing.T) {
	t.Parallel()
	g := ciscoGateway(t, "  park_recall: 1s\n")
	ev := g.events("")
	ev.next()
	call := answeredAt(t, g, ev)
	code, body := g.apiJSON("POST", "/api/v1/calls/"+call+"/park", `{"device":"cisco1:402","slot":"404"}`)
	if code != http.StatusOK || !strings.Contains(string(body), `"slot": "cisco1:404"`) {
		t.Fatalf("park: %d %s", code, body)
	}
	ev.until("402 idle", lineIs("cisco1:402", "idle"))
	code, body = g.api("GET", "/api/v1/parked")
	if code != 200 || !strings.Contains(string(body), `"operator": "admin"`) || !strings.Contains(string(body), `"device": "cisco1:402"`) {
		t.Fatalf("parked: %d %s", code, body)
	}
	ev.all("recall, 402 busy again", isType("recall"), isType("unparked"), lineIs("cisco1:402", "busy"))
	if code, body = g.api("GET", "/api/v1/parked"); !strings.Contains(string(body), `"parked": []`) {
		t.Fatalf("parked after the recall: %d %s", code, body)
	}
}

// TestAttendantResume: a console that reconnects with since= gets exactly
// the messages it missed (a call made while it was away, seq after seq);
// one whose since fell out of attendant.event_ring gets a snapshot.
func TestAttendantResume(t *testing.T) {
	t.Parallel()
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: []string{"201", "202"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	g := startGateway(t, fmt.Sprintf(`cti:
  drivers:
    - name: pbx1
      driver: mitel
      config: {address: %q, user: csta, password: secret, reconnect_min: 50ms}
      monitor: ["201", "202"]
attendant: {console_link: {tls: ""}, event_ring: 100}
`, sim.Addr()))
	g.waitDevice("pbx1:202", "fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
	g.waitDevice("pbx1:201", "fresh", func(d attDevice) bool { return d.Line == "idle" && !d.Stale })
	const watch = "?devices=pbx1:201,pbx1:202"
	ev := g.events(watch)
	last := ev.next().Seq
	ev.conn.Close()

	call := func() {
		t.Helper()
		code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"pbx1:201","to":"202"}`)
		if code != http.StatusCreated {
			t.Fatalf("make call: %d %s", code, body)
		}
		d := g.waitDevice("pbx1:202", "ringing", func(d attDevice) bool { return d.Line == "ringing" })
		if code, body := g.apiJSON("POST", "/api/v1/calls/"+d.Calls[0].CallID+"/clear", `{"device":"pbx1:201"}`); code != http.StatusNoContent {
			t.Fatalf("clear: %d %s", code, body)
		}
		g.waitDevice("pbx1:202", "idle", func(d attDevice) bool { return d.Line == "idle" })
		g.waitDevice("pbx1:201", "idle", func(d attDevice) bool { return d.Line == "idle" })
	}
	call() // while the console is away
	ev = g.events(fmt.Sprintf(watch+"&since=%d", last))
	sawRinging := false
	for want := last + 1; ; want++ {
		m := ev.next()
		if m.Seq != want || m.Type != "device" {
			t.Fatalf("resumed message %+v, want seq %d device", m, want)
		}
		sawRinging = sawRinging || m.Device.ID == "pbx1:202" && m.Device.Line == "ringing"
		if m.Device.ID == "pbx1:201" && m.Device.Line == "idle" && sawRinging {
			break
		}
	}
	ev.conn.Close()
	// Calls until more than the ring of 100 messages went by.
	for i := 0; ; i++ {
		call()
		probe := g.events("?devices=pbx1:none")
		seq := probe.next().Seq
		probe.conn.Close()
		if seq > last+110 {
			t.Logf("%d calls: seq %d", i+2, seq)
			break
		}
		if i > 60 {
			t.Fatalf("seq %d after %d calls", seq, i+2)
		}
	}
	ev = g.events(fmt.Sprintf(watch+"&since=%d", last))
	if m := ev.next(); m.Type != "snapshot" || len(m.Devices) != 2 || m.Seq <= last+100 {
		t.Fatalf("since=%d after more than the ring: %+v", last, m)
	}
}
