package avaya_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins"
)

func TestSessionKeepAlive(t *testing.T) {
	// The sim grants at most 1s; the driver must reset the timer well
	// before that, and answer AES's SystemStatus.
	e := newEnv(t, labavaya.Config{SystemStatusInterval: 50 * time.Millisecond, MaxSessionDuration: 1},
		map[string]any{"session_duration": "10s"})
	e.monitor("201")
	time.Sleep(1600 * time.Millisecond)
	if e.sim.SystemStatusAnswers() == 0 {
		t.Fatal("SystemStatus not answered")
	}
	if e.sim.TimerResets() < 2 || e.sim.Expired() != 0 {
		t.Fatalf("resets %d expired %d", e.sim.TimerResets(), e.sim.Expired())
	}
	if e.sim.Sessions() != 1 || e.sim.Links() != 1 || e.d.Stats().Reconnects != 0 {
		t.Fatalf("session lost: sessions %d links %d stats %+v", e.sim.Sessions(), e.sim.Links(), e.d.Stats())
	}
	e.Quiet()
}

// TestSessionExpiry shows the simulator ends a session nobody keeps
// alive: an application that never resets the timer loses its link and
// monitors.
func TestSessionExpiry(t *testing.T) {
	sim, err := labavaya.New(simConfig(labavaya.Config{MaxSessionDuration: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	conn, err := net.Dial("tcp", sim.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := csta.NewClient(conn, csta.ClientConfig{Namespace: csta.Ed3.Namespace(), Decoder: dmcc.NewDecoder()})
	defer c.Close()
	li, _ := csta.NewRawXML(dmcc.SessionLoginInfo{UserName: "cti", Password: "secret"})
	if _, err := c.Call(bg, &csta.StartApplicationSession{
		ApplicationInfo:           csta.ApplicationInfo{ApplicationID: "test", ApplicationSpecificInfo: li},
		RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: dmcc.Versions()[4:5]},
		RequestedSessionDuration:  60,
	}); err != nil {
		t.Fatal(err)
	}
	c.SetNamespace(dmcc.Versions()[4]) // requests in the negotiated version's namespace
	resp, err := c.Call(bg, &dmcc.GetDeviceId{SwitchName: "CM1", Extension: "201"})
	if err != nil {
		t.Fatal(err)
	}
	dev := resp.(*dmcc.GetDeviceIdResponse).Device
	if dev.Value != "201:CM1:10.0.0.5:0" {
		t.Fatalf("device id %q", dev.Value)
	}
	if _, err := c.Call(bg, &csta.MonitorStart{MonitorObject: csta.MonitorObject{DeviceObject: &dev}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session not expired")
	}
	if sim.Expired() != 1 || len(sim.Monitors()) != 0 || len(sim.LiveSessions()) != 0 {
		t.Fatalf("expired %d monitors %v sessions %v", sim.Expired(), sim.Monitors(), sim.LiveSessions())
	}
}

func TestReconnectResumesSession(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	sid := e.d.SessionID()
	c := connect(t, e, "201", "202")
	e.sim.DropLinks()
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if ev.Cause != plugins.CauseLinkFailure || ev.RawCause == "" {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	// Resumed by sessionID within the cleanup delay: same session, the
	// monitors never left AES.
	if e.sim.Resumed() != 1 || e.sim.Sessions() != 1 || e.d.SessionID() != sid || e.d.Stats().Resumes != 1 {
		t.Fatalf("resumed %d sessions %d id %q→%q", e.sim.Resumed(), e.sim.Sessions(), sid, e.d.SessionID())
	}
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202", "203"}) {
		t.Fatalf("monitors after resume %v", got)
	}
	// The fresh snapshot shows the call that outlived the link.
	drivertest.WaitFor(t, "snapshot after resume", func() bool { return drivertest.CallStates(e.snapshot("201")) == c.CallID+":connected" })
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull); ev.MonitorID != ids["201"] {
		t.Fatalf("monitor id changed: %+v", ev)
	}
}

func TestReconnectTransfersMonitors(t *testing.T) {
	e := newEnv(t, labavaya.Config{NoResume: true}, nil)
	ids := e.monitor("201", "202")
	old := e.d.SessionID()
	e.sim.DropLinks()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if e.sim.Sessions() != 2 || e.d.SessionID() == old || e.d.Stats().Transfers != 1 {
		t.Fatalf("sessions %d stats %+v", e.sim.Sessions(), e.d.Stats())
	}
	// TransferMonitorObjects moved the two monitors; none were added.
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors after transfer %v", got)
	}
	if got := e.sim.LiveSessions(); len(got) != 1 {
		t.Fatalf("old session not ended: %v", got)
	}
	c := makeCall(t, e, "201", "202")
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull); ev.MonitorID != ids["201"] {
		t.Fatalf("monitor id changed: %+v", ev)
	}
}

func TestReconnectAfterSessionLost(t *testing.T) {
	// AES restarts: sessions and monitors are gone, resumption and
	// transfer are refused, so the driver monitors every device again.
	e := newEnv(t, labavaya.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	e.sim.ExpireSessions()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if e.sim.Sessions() != 2 || e.sim.Resumed() != 0 {
		t.Fatalf("sessions %d resumed %d", e.sim.Sessions(), e.sim.Resumed())
	}
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202", "203"}) {
		t.Fatalf("monitors after new session %v", got)
	}
	if st := e.d.Stats(); st.DeviceIDs != 6 || st.MonitorStarts != 6 {
		t.Fatalf("GetDeviceId and MonitorStart redone: %+v", st)
	}
	makeCall(t, e, "201", "202")
	_ = ids
}

func TestReconnectWithoutCleanupDelay(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, map[string]any{"session_cleanup_delay": 0})
	e.monitor("201", "202")
	e.sim.DropLinks()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if e.sim.Sessions() != 2 || e.sim.Resumed() != 0 || len(e.sim.LiveSessions()) != 1 {
		t.Fatalf("sessions %d resumed %d live %v", e.sim.Sessions(), e.sim.Resumed(), e.sim.LiveSessions())
	}
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors %v", got)
	}
}

func TestMonitorWhileDown(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, map[string]any{"reconnect_min": "300ms", "reconnect_max": "300ms"})
	e.monitor("201")
	e.sim.DropLinks()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	// Down: the device is remembered, call control says unavailable.
	if _, err := e.d.MonitorStart(bg, "202"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("make call while down: %v", err)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors %v", got)
	}
}

func TestCloseStopsSession(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201")
	if err := e.d.Close(); err != nil {
		t.Fatal(err)
	}
	// StopApplicationSession: AES frees the session at once instead of
	// keeping it for the cleanup delay.
	drivertest.WaitFor(t, "session stopped", func() bool { return len(e.sim.LiveSessions()) == 0 && len(e.sim.Monitors()) == 0 })
	ctx, cancel := context.WithTimeout(bg, time.Second)
	defer cancel()
	if _, err := e.d.MakeCall(ctx, plugins.MakeCallRequest{Calling: "201", Called: "202"}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("after close: %v", err)
	}
}

// TestReconnectManyMonitors restores 300 monitors twice: by resuming the
// session (snapshots only), then after the session was lost (GetDeviceId,
// MonitorStart and snapshots for each).
func TestReconnectManyMonitors(t *testing.T) {
	e := newEnv(t, labavaya.Config{Devices: []string{}}, nil)
	var devs []string
	for i := range 300 {
		devs = append(devs, strconv.Itoa(1000+i))
	}
	e.monitor(devs...)
	for _, lose := range []bool{false, true} {
		if lose {
			e.sim.ExpireSessions()
		} else {
			e.sim.DropLinks()
		}
		e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
		start := time.Now()
		// 300 monitors' restore: seconds on a loaded 2-core machine
		e.WantWithin(30*time.Second, plugins.EventLinkUp, "", plugins.StateUnspecified)
		if got := len(e.sim.Monitors()); got != 300 {
			t.Fatalf("%d monitors restored, want 300", got)
		}
		t.Logf("session lost %v: 300 monitors restored in %s", lose, time.Since(start))
	}
}

// TestMonitorStopWhileDown: a monitor stopped while the link is down is
// stopped at AES once the session is resumed.
func TestMonitorStopWhileDown(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, map[string]any{"reconnect_min": "300ms", "reconnect_max": "300ms"})
	e.monitor("201", "202")
	e.sim.DropLinks()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if err := e.d.MonitorStop(bg, "202"); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if e.sim.Resumed() != 1 {
		t.Fatalf("resumed %d", e.sim.Resumed())
	}
	drivertest.WaitFor(t, "202's monitor stopped at AES", func() bool { return slices.Equal(e.sim.Monitors(), []string{"201"}) })
}

// TestAESUnreachable: an AES that can't be reached is not a failed Start;
// the driver says the link is down and keeps trying.
func TestAESUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	d := avaya.New()
	events := make(chan plugins.Event, 64)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Events(ctx, func(ev plugins.Event) error { events <- ev; return nil })
	}()
	defer func() { _ = d.Close(); cancel(); <-done }()
	if err := d.Start(bg, plugins.StartRequest{Config: driverConfig(addr, nil)}); err != nil {
		t.Fatalf("start: %v", err)
	}
	select {
	case ev := <-events:
		if ev.Type != plugins.EventLinkDown || !strings.Contains(ev.RawCause, "dial") {
			t.Fatalf("first event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no link_down")
	}
	if _, err := d.MonitorStart(bg, "201"); err != nil {
		t.Fatalf("monitor while down: %v", err)
	}
	if err := d.Answer(bg, plugins.ConnectionRef{Device: "201", CallID: "1"}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Fatalf("answer while down: %v", err)
	}
}

// TestKeepaliveFindsDeadLink: AES stops answering (the link stays open,
// nothing comes back). The session timer reset at the keepalive interval
// times out, the driver reports link_down and reconnects once AES answers
// again. With only half the 60s session duration between resets the
// link_down would come far past the wait.
func TestKeepaliveFindsDeadLink(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, map[string]any{"session_duration": "60s", "keepalive": "1s",
		"request_timeout": "1s"})
	e.monitor("201")
	e.sim.SetDelay(time.Hour) // frozen: requests are read, never answered
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if ev.Cause != plugins.CauseLinkFailure || !strings.Contains(ev.RawCause, "reset session timer") {
		t.Fatalf("link down %+v", ev)
	}
	e.sim.SetDelay(0)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if e.d.SessionID() == "" || e.d.Stats().Reconnects == 0 {
		t.Fatalf("not reconnected: session %q stats %+v", e.d.SessionID(), e.d.Stats())
	}
}

// TestAbandonedSessionStopped: AES stops answering and still holds the
// old session on the old socket when the driver comes back, so resuming
// and TransferMonitorObjects are refused. The driver monitors again on a
// new session and stops the abandoned one, so AES holds one session and
// one monitor per device (licences), not two until the old one expires.
func TestAbandonedSessionStopped(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, map[string]any{"session_duration": "60s", "keepalive": "1s",
		"request_timeout": "1s"})
	e.monitor("201", "202")
	old := e.d.SessionID()
	e.sim.SetDelay(time.Hour) // the old link hangs at AES
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.sim.SetDelay(0)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	sid := e.d.SessionID()
	if sid == "" || sid == old {
		t.Fatalf("session %q after %q: want a new one", sid, old)
	}
	if got := e.sim.LiveSessions(); !slices.Equal(got, []string{sid}) {
		t.Fatalf("sessions at AES %v, want only %s (old %s)", got, sid, old)
	}
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors at AES %v", got)
	}
	if e.sim.Stopped() != 1 || e.d.Stats().Abandoned != 1 {
		t.Fatalf("stopped %d abandoned %d", e.sim.Stopped(), e.d.Stats().Abandoned)
	}
	connect(t, e, "201", "202") // the new monitors deliver events
}
