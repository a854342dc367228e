package mitel

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

var bg = context.Background()

// raw opens a link and returns the conn and a framer on it.
func raw(t *testing.T, s *Sim) (net.Conn, *csta.HeaderFramer) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, csta.NewHeaderFramer(c)
}

func login(user, pass string) *csta.StartApplicationSession {
	li, _ := csta.NewRawXML(loginInfo{UserName: user, Password: pass})
	return &csta.StartApplicationSession{
		ApplicationInfo:           csta.ApplicationInfo{ApplicationID: "test", ApplicationSpecificInfo: li},
		RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: []string{csta.Ed5.Namespace()}},
		RequestedSessionDuration:  60,
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
	_, f := raw(t, s)
	send := func(id csta.InvokeID, m csta.Message) {
		b, err := csta.Marshal(m, csta.Ed5.Namespace())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.WriteFrame(csta.Frame{InvokeID: id, Payload: b}); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (csta.Frame, csta.Message) {
		fr, err := f.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		m, err := csta.Decode(fr.Payload)
		if err != nil {
			t.Fatalf("%v: %s", err, fr.Payload)
		}
		return fr, m
	}
	send(7, login("u", "p"))
	fr, m := read()
	if fr.InvokeID != 7 {
		t.Fatalf("invoke id %s", fr.InvokeID)
	}
	if _, ok := m.(*csta.StartApplicationSessionPosResponse); !ok {
		t.Fatalf("got %T", m)
	}
	send(8, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{Value: "201"}}, MonitorType: "device"})
	fr, m = read()
	if !bytes.Contains(fr.Payload, []byte(`<csta:MonitorStartResponse xmlns:csta="`+csta.Ed5.Namespace()+`">`)) {
		t.Fatalf("not prefixed ed5: %s", fr.Payload)
	}
	xref := m.(*csta.MonitorStartResponse).MonitorCrossRefID
	send(9, &csta.SetDoNotDisturb{Device: csta.Device("201"), DoNotDisturbOn: true})
	if fr, _ = read(); fr.InvokeID != 9 {
		t.Fatalf("response id %s", fr.InvokeID)
	}
	fr, m = read()
	raw, ok := m.(*csta.RawMessage)
	if fr.InvokeID != csta.EventInvokeID || !ok || raw.RootName() != "DoNotDisturbEvent" {
		t.Fatalf("event %s %T %s", fr.InvokeID, m, fr.Payload)
	}
	var ev dndEvent
	if err := raw.Unmarshal(&ev); err != nil || ev.MonitorCrossRefID != xref || !ev.DoNotDisturbOn || ev.Device.ID() != "201" {
		t.Fatalf("dnd event %+v %v", ev, err)
	}
}

func TestSessionRules(t *testing.T) {
	s, err := New(Config{User: "u", Password: "p", MonitorLimit: 1, Devices: []string{"201", "202"},
		SystemStatusInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := csta.NewClient(conn, csta.ClientConfig{})
	defer c.Close()
	monitor := func(dev string) error {
		_, err := c.Call(bg, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{Value: dev}}})
		return err
	}
	var ce *csta.CSTAErrorCode
	if err := monitor("201"); !errors.As(err, &ce) {
		t.Fatalf("monitor before session: %v", err)
	}
	var se *csta.SessionError
	if _, err := c.Call(bg, login("u", "wrong")); !errors.As(err, &se) || se.DefinedError != csta.SessionErrInvalidApplicationInfo {
		t.Fatalf("bad login: %v", err)
	}
	if _, err := c.Call(bg, login("u", "p")); err != nil {
		t.Fatal(err)
	}
	if err := monitor("201"); err != nil {
		t.Fatal(err)
	}
	if err := monitor("999"); !errors.As(err, &ce) || ce.Value != "invalidDeviceID" {
		t.Fatalf("unknown device: %v", err)
	}
	if err := monitor("202"); !errors.As(err, &ce) || ce.Value != "overallMonitorLimitExceeded" ||
		ce.Category != csta.CategorySystemResourceAvailability {
		t.Fatalf("licence limit: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.SystemStatusAnswers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no SystemStatus round trip")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.DropLinks()
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("link not dropped")
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
	b, _ := csta.Marshal(login("", ""), "")
	_ = f.WriteFrame(csta.Frame{InvokeID: 1, Payload: b})
	if _, err := f.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = f.ReadFrame()
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
