package mitel

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

var bg = context.Background()

// raw opens a link and returns the conn and a frame reader on it.
func raw(t *testing.T, s *Sim) (net.Conn, *cstaxml.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, cstaxml.NewReader(c, 0)
}

func login(user, pass string) *cstaxml.StartApplicationSession {
	li, _ := xml.Marshal(loginInfo{UserName: user, Password: pass})
	return &cstaxml.StartApplicationSession{
		ApplicationInfo:           cstaxml.ApplicationInfo{ApplicationID: "test", ApplicationSpecificInfo: &cstaxml.Raw{Inner: li}},
		RequestedProtocolVersions: cstaxml.ProtocolVersions{ProtocolVersion: []string{cstaxml.Ed5}},
		RequestedSessionDuration:  60,
	}
}

// client is a minimal application for the simulator's own tests: one
// request at a time, events skipped.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *cstaxml.Reader
	id   cstaxml.InvokeID
}

func dialClient(t *testing.T, s *Sim) *client {
	c, r := raw(t, s)
	return &client{t: t, conn: c, r: r}
}

// call sends m and returns the response with the same invoke ID,
// answering the switch's SystemStatus on the way.
func (c *client) call(m cstaxml.Message) cstaxml.Message {
	c.t.Helper()
	c.id++
	b, err := cstaxml.Marshal(m, cstaxml.Ed5)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.Write(cstaxml.Frame(c.id, b)); err != nil {
		c.t.Fatal(err)
	}
	for {
		id, p, err := c.r.Read()
		if err != nil {
			c.t.Fatal(err)
		}
		resp, err := cstaxml.Decode(p)
		if err != nil {
			c.t.Fatalf("%v: %s", err, p)
		}
		if _, ok := resp.(*cstaxml.SystemStatus); ok {
			b, _ := cstaxml.Marshal(&cstaxml.SystemStatusResponse{}, cstaxml.Ed5)
			_, _ = c.conn.Write(cstaxml.Frame(id, b))
			continue
		}
		if id == c.id {
			return resp
		}
	}
}

// TestWireFormat checks the bytes MiVO400 would send: 8-byte header with
// the echoed invoke ID, ed5 with the csta: prefix, events on 9999.
func TestWireFormat(t *testing.T) {
	s, err := New(Config{User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, f := raw(t, s)
	type frame struct {
		InvokeID cstaxml.InvokeID
		Payload  []byte
	}
	send := func(id cstaxml.InvokeID, m cstaxml.Message) {
		b, err := cstaxml.Marshal(m, cstaxml.Ed5)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(cstaxml.Frame(id, b)); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (frame, cstaxml.Message) {
		id, p, err := f.Read()
		if err != nil {
			t.Fatal(err)
		}
		m, err := cstaxml.Decode(p)
		if err != nil {
			t.Fatalf("%v: %s", err, p)
		}
		return frame{id, p}, m
	}
	send(7, login("u", "p"))
	fr, m := read()
	if fr.InvokeID != 7 {
		t.Fatalf("invoke id %s", fr.InvokeID)
	}
	if _, ok := m.(*cstaxml.StartApplicationSessionPosResponse); !ok {
		t.Fatalf("got %T", m)
	}
	send(8, &cstaxml.MonitorStart{MonitorObject: cstaxml.MonitorObject{DeviceObject: &cstaxml.DeviceID{Value: "201"}}, MonitorType: "device"})
	fr, m = read()
	if !bytes.Contains(fr.Payload, []byte(`<csta:MonitorStartResponse xmlns:csta="`+cstaxml.Ed5+`">`)) {
		t.Fatalf("not prefixed ed5: %s", fr.Payload)
	}
	xref := m.(*cstaxml.MonitorStartResponse).MonitorCrossRefID
	send(9, &cstaxml.SetDoNotDisturb{Device: cstaxml.Device("201"), DoNotDisturbOn: true})
	if fr, _ = read(); fr.InvokeID != 9 {
		t.Fatalf("response id %s", fr.InvokeID)
	}
	fr, m = read()
	ev, ok := m.(*cstaxml.DoNotDisturbEvent)
	if fr.InvokeID != cstaxml.EventInvokeID || !ok {
		t.Fatalf("event %s %T %s", fr.InvokeID, m, fr.Payload)
	}
	if ev.MonitorCrossRefID != xref || !ev.DoNotDisturbOn || ev.Device.DeviceIdentifier == nil || ev.Device.DeviceIdentifier.Value != "201" {
		t.Fatalf("dnd event %+v", ev)
	}
}

func TestSessionRules(t *testing.T) {
	s, err := New(Config{User: "u", Password: "p", MonitorLimit: 1, Devices: []string{"201", "202"},
		SystemStatusInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dialClient(t, s)
	monitor := func(dev string) cstaxml.Message {
		return c.call(&cstaxml.MonitorStart{MonitorObject: cstaxml.MonitorObject{DeviceObject: &cstaxml.DeviceID{Value: dev}}})
	}
	if ce, ok := monitor("201").(*cstaxml.ErrorCode); !ok || ce.Category != cstaxml.CategorySecurity {
		t.Fatalf("monitor before session: %+v", ce)
	}
	if ne, ok := c.call(login("u", "wrong")).(*cstaxml.StartApplicationSessionNegResponse); !ok ||
		ne.ErrorCode.DefinedError != cstaxml.SessionErrInvalidApplicationInfo {
		t.Fatalf("bad login: %+v", ne)
	}
	if _, ok := c.call(login("u", "p")).(*cstaxml.StartApplicationSessionPosResponse); !ok {
		t.Fatal("login refused")
	}
	if r, ok := monitor("201").(*cstaxml.MonitorStartResponse); !ok {
		t.Fatalf("monitor: %+v", r)
	}
	if ce, ok := monitor("999").(*cstaxml.ErrorCode); !ok || ce.Value != "invalidDeviceID" {
		t.Fatalf("unknown device: %+v", ce)
	}
	if ce, ok := monitor("202").(*cstaxml.ErrorCode); !ok || ce.Value != "overallMonitorLimitExceeded" ||
		ce.Category != cstaxml.CategorySystemResourceAvailability {
		t.Fatalf("licence limit: %+v", ce)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.SystemStatusAnswers() == 0 {
		c.call(&cstaxml.MonitorStop{MonitorCrossRefID: "none"}) // reads, answering SystemStatus
		if time.Now().After(deadline) {
			t.Fatal("no SystemStatus round trip")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.DropLinks()
	_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := c.r.Read(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("link not dropped")
			}
			break
		}
	}
	if len(s.Monitors()) != 0 {
		t.Fatalf("monitors survive their link: %v", s.Monitors())
	}
}

func TestSessionExpires(t *testing.T) {
	s, err := New(Config{MaxSessionDuration: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, f := raw(t, s)
	b, _ := cstaxml.Marshal(login("", ""), "")
	_, _ = conn.Write(cstaxml.Frame(1, b))
	if _, _, err := f.Read(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, _, err = f.Read()
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("session did not expire: %v", err)
	}
	if s.Links() != 0 {
		t.Fatalf("links %d", s.Links())
	}
}

func TestPrefix(t *testing.T) {
	in := []byte(`<?xml version="1.0" encoding="UTF-8"?><A xmlns="ns"><b>x &lt;1!98&gt;</b><c/></A>`)
	want := `<?xml version="1.0" encoding="UTF-8"?><csta:A xmlns:csta="ns"><csta:b>x &lt;1!98&gt;</csta:b><csta:c/></csta:A>`
	if got := string(prefix(in)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
