package avaya

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
)

var bg = context.Background()

// dial starts a raw DMCC client on sim.
func dial(t *testing.T, s *Sim, onEvent func(csta.Message)) *csta.Client {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := csta.NewClient(conn, csta.ClientConfig{Namespace: csta.NamespacePrefix + "ed3/priv7", Decoder: dmcc.NewDecoder(),
		CallTimeout: 2 * time.Second, OnEvent: onEvent})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// login is StartApplicationSession with SessionLoginInfo written as the
// DMCC XML Programmer's Guide shows it (acx: prefix, xsi:type).
func login(user, pass, resume string, versions ...string) *csta.StartApplicationSession {
	li := &csta.RawXML{Inner: []byte(`<acx:SessionLoginInfo xmlns:acx="http://www.avaya.com/csta" ` +
		`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="acx:SessionLoginInfo">` +
		`<acx:userName>` + user + `</acx:userName><acx:password>` + pass + `</acx:password>` +
		`<acx:sessionCleanupDelay>30</acx:sessionCleanupDelay>`)}
	if resume != "" {
		li.Inner = append(li.Inner, `<acx:sessionID>`+resume+`</acx:sessionID>`...)
	}
	li.Inner = append(li.Inner, `</acx:SessionLoginInfo>`...)
	if len(versions) == 0 {
		versions = []string{csta.NamespacePrefix + "ed3/priv7"}
	}
	return &csta.StartApplicationSession{ApplicationInfo: csta.ApplicationInfo{ApplicationID: "t", ApplicationSpecificInfo: li},
		RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: versions}, RequestedSessionDuration: 60}
}

func newSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	cfg.User, cfg.Password = "cti", "secret"
	if cfg.Devices == nil {
		cfg.Devices = []string{"201", "202"}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func definedError(err error) string {
	var se *csta.SessionError
	if errors.As(err, &se) {
		return se.DefinedError
	}
	return ""
}

func cstaError(err error) string {
	var ce *csta.CSTAErrorCode
	if errors.As(err, &ce) {
		return ce.Category + "/" + ce.Value
	}
	return ""
}

func TestSessionRules(t *testing.T) {
	s := newSim(t, Config{})
	c := dial(t, s, nil)
	// No session yet: services are refused.
	if _, err := c.Call(bg, &dmcc.GetDeviceId{SwitchName: "CM1", Extension: "201"}); cstaError(err) != "security/generic" {
		t.Fatalf("before session: %v", err)
	}
	for _, tc := range []struct {
		req  *csta.StartApplicationSession
		want string
	}{
		{login("cti", "wrong", ""), csta.SessionErrInvalidApplicationInfo},
		{login("", "", ""), csta.SessionErrInvalidApplicationInfo},
		{login("cti", "secret", "", csta.NamespacePrefix+"ed5"), csta.SessionErrRequestedProtocolVersionNotSupported},
		{login("cti", "secret", "NOSUCH-0"), "invalidSessionID"},
	} {
		if _, err := c.Call(bg, tc.req); definedError(err) != tc.want {
			t.Errorf("start: %v, want %s", err, tc.want)
		}
	}
	resp, err := c.Call(bg, login("cti", "secret", "", "3.0", csta.NamespacePrefix+"ed3/priv6"))
	if err != nil {
		t.Fatal(err)
	}
	pos := resp.(*csta.StartApplicationSessionPosResponse)
	if pos.ActualProtocolVersion != "3.0" || pos.ActualSessionDuration != 60 || pos.SessionID == "" {
		t.Fatalf("granted %+v", pos)
	}
	// A live session can't be resumed from a second link.
	c2 := dial(t, s, nil)
	if _, err := c2.Call(bg, login("cti", "secret", pos.SessionID)); definedError(err) != "invalidSessionID" {
		t.Fatalf("resume a live session: %v", err)
	}
	if _, err := c.Call(bg, &csta.ResetApplicationSessionTimer{SessionID: "other"}); definedError(err) != "invalidSessionID" {
		t.Fatalf("reset another session: %v", err)
	}
	if _, err := c.Call(bg, &csta.ResetApplicationSessionTimer{SessionID: pos.SessionID, RequestedSessionDuration: 9999}); err != nil {
		t.Fatal(err)
	}
	// A link without a session stops none; a session stops another of
	// the application's sessions by its sessionID (one left on a hung
	// link), whose link AES then closes; an unknown sessionID is refused.
	if _, err := c2.Call(bg, &csta.StopApplicationSession{SessionID: pos.SessionID}); definedError(err) != "invalidSessionID" {
		t.Fatalf("stop without a session: %v", err)
	}
	resp2, err := c2.Call(bg, login("cti", "secret", ""))
	if err != nil {
		t.Fatal(err)
	}
	sid2 := resp2.(*csta.StartApplicationSessionPosResponse).SessionID
	if _, err := c2.Call(bg, &csta.StopApplicationSession{SessionID: "nope"}); definedError(err) != "invalidSessionID" {
		t.Fatalf("stop an unknown session: %v", err)
	}
	if _, err := c2.Call(bg, &csta.StopApplicationSession{SessionID: pos.SessionID}); err != nil {
		t.Fatalf("stop the other session: %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the stopped session's link stays open")
	}
	if got := s.LiveSessions(); len(got) != 1 || got[0] != sid2 || s.Stopped() != 1 {
		t.Fatalf("sessions %v stopped %d", got, s.Stopped())
	}
	if _, err := c2.Call(bg, &csta.StopApplicationSession{SessionID: sid2}); err != nil {
		t.Fatal(err)
	}
	if len(s.LiveSessions()) != 0 {
		t.Fatalf("stopped session lives: %v", s.LiveSessions())
	}
}

func TestDeviceIDs(t *testing.T) {
	s := newSim(t, Config{SwitchIP: "10.0.0.5"})
	c := dial(t, s, nil)
	if _, err := c.Call(bg, login("cti", "secret", "")); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Call(bg, &dmcc.GetDeviceId{SwitchName: "CM1", Extension: "201"})
	if err != nil || resp.(*dmcc.GetDeviceIdResponse).Device.Value != "201:CM1:10.0.0.5:0" {
		t.Fatalf("GetDeviceId: %v %+v", err, resp)
	}
	for _, req := range []csta.Message{
		&dmcc.GetDeviceId{SwitchName: "CM2", Extension: "201"},
		&dmcc.GetDeviceId{SwitchName: "CM1", Extension: "299"},
		&dmcc.GetThirdPartyDeviceId{SwitchName: "CM1", Extension: "abc"},
		&csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{Value: "201:CM2::0"}}},
	} {
		if _, err := c.Call(bg, req); cstaError(err) != "operation/invalidDeviceID" {
			t.Errorf("%s: %v", req.RootName(), err)
		}
	}
	resp, err = c.Call(bg, &dmcc.GetThirdPartyDeviceId{SwitchName: "CM1", Extension: "0049301234"})
	if err != nil || resp.(*dmcc.GetThirdPartyDeviceIdResponse).Device.Value != "0049301234:CM1::0" {
		t.Fatalf("GetThirdPartyDeviceId: %v %+v", err, resp)
	}
	if _, err := c.Call(bg, &dmcc.ReleaseDeviceId{Device: csta.Device("201:CM1:10.0.0.5:0")}); err != nil {
		t.Fatal(err)
	}
}

// TestEventOrder checks the order AES sends a third-party MakeCall's
// events in, on one link monitoring both parties.
func TestEventOrder(t *testing.T) {
	s := newSim(t, Config{SystemStatusInterval: 20 * time.Millisecond})
	events := make(chan csta.Message, 64)
	c := dial(t, s, func(m csta.Message) { events <- m })
	if _, err := c.Call(bg, login("cti", "secret", "")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"201", "202"} {
		if _, err := c.Call(bg, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{Value: s.DeviceID(d)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Call(bg, &csta.MakeCall{CallingDevice: csta.Device(s.DeviceID("201")),
		CalledDirectoryNumber: csta.Device("202:CM1::0")}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent", "DeliveredEvent"}
	for i, w := range want {
		select {
		case m := <-events:
			if m.RootName() != w {
				t.Fatalf("event %d: %s, want %s", i, m.RootName(), w)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no %s", w)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.SystemStatusAnswers() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no SystemStatus sent or answered")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTransferMonitorObjects(t *testing.T) {
	s := newSim(t, Config{NoResume: true})
	c := dial(t, s, nil)
	resp, err := c.Call(bg, login("cti", "secret", ""))
	if err != nil {
		t.Fatal(err)
	}
	old := resp.(*csta.StartApplicationSessionPosResponse).SessionID
	if _, err := c.Call(bg, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{Value: s.DeviceID("201")}}}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	c2 := dial(t, s, nil)
	if _, err := c2.Call(bg, login("cti", "secret", old)); definedError(err) != "invalidSessionID" {
		t.Fatalf("resume with NoResume: %v", err)
	}
	resp, err = c2.Call(bg, login("cti", "secret", ""))
	if err != nil {
		t.Fatal(err)
	}
	nw := resp.(*csta.StartApplicationSessionPosResponse).SessionID
	if _, err := c2.Call(bg, &dmcc.TransferMonitorObjects{FromSessionID: "nope", ToSessionID: nw}); cstaError(err) == "" {
		t.Fatalf("transfer from an unknown session: %v", err)
	}
	// f-me/dmcc: TransferMonitorObjects needs the session-level monitor
	// (deviceServices/transferMonitorObjects) first.
	if _, err := c2.Call(bg, &dmcc.TransferMonitorObjects{FromSessionID: old, ToSessionID: nw}); cstaError(err) == "" {
		t.Fatalf("transfer without the session monitor: %v", err)
	}
	if _, err := c2.Call(bg, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &csta.DeviceID{MediaClass: "notKnown"}},
		Extensions: &csta.RawXML{Inner: []byte(`<privateData><private><AvayaEvents><invertFilter>true</invertFilter></AvayaEvents></private></privateData>`)}}); cstaError(err) == "" {
		t.Fatalf("session monitor without transferMonitorObjects: %v", err)
	}
	if _, err := c2.Call(bg, dmcc.SessionMonitorStart()); err != nil {
		t.Fatalf("session monitor: %v", err)
	}
	if _, err := c2.Call(bg, &dmcc.TransferMonitorObjects{FromSessionID: old, ToSessionID: nw}); err != nil {
		t.Fatal(err)
	}
	if got := s.LiveSessions(); len(got) != 1 || got[0] != nw || len(s.Monitors()) != 1 {
		t.Fatalf("sessions %v monitors %v", got, s.Monitors())
	}
}

func TestUndecodableRequest(t *testing.T) {
	s := newSim(t, Config{})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f := csta.NewHeaderFramer(conn)
	if err := f.WriteFrame(csta.Frame{InvokeID: 7, Payload: []byte(`<MakeCall><callingDevice>`)}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	fr, err := f.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	m, err := csta.Decode(fr.Payload)
	if err != nil || fr.InvokeID != 7 || m.RootName() != "CSTAErrorCode" {
		t.Fatalf("answer %v %s %v", err, fr.InvokeID, m)
	}
}

// TestDriverLoginAccepted: the login the Avaya driver writes
// (dmcc.SessionLoginInfo) is what this simulator, reading it the way the
// DMCC XML Programmer's Guide and f-me/dmcc write it, accepts: Avaya's
// namespace and xsi:type="acx:SessionLoginInfo".
func TestDriverLoginAccepted(t *testing.T) {
	s := newSim(t, Config{})
	c := dial(t, s, nil)
	li, err := csta.NewRawXML(dmcc.SessionLoginInfo{UserName: "cti", Password: "secret", SessionCleanupDelay: 30})
	if err != nil {
		t.Fatal(err)
	}
	req := &csta.StartApplicationSession{ApplicationInfo: csta.ApplicationInfo{ApplicationID: "t", ApplicationSpecificInfo: li},
		RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: []string{csta.NamespacePrefix + "ed3/priv7"}}}
	if _, err := c.Call(bg, req); err != nil {
		t.Fatalf("the driver's login: %v (refused: %q)", err, s.Refused())
	}
}
