package avaya_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins"
)

// env is a simulator and a started driver whose events are collected.
type env struct {
	*drivertest.Recorder
	t   *testing.T
	sim *labavaya.Sim
	d   *avaya.Driver
}

// timing is how long the tests wait for this driver's events.
var timing = drivertest.Timing{Wait: 5 * time.Second, Quiet: 100 * time.Millisecond, Buffer: 4096}

func driverConfig(addr string, extra map[string]any) []byte {
	cfg := map[string]any{"address": addr, "user": "cti", "password": "secret", "switch_name": "CM1",
		"reconnect_min": "20ms", "reconnect_max": "200ms", "request_timeout": "2s"}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	return b
}

func simConfig(sc labavaya.Config) labavaya.Config {
	sc.User, sc.Password = "cti", "secret"
	sc.StrictNamespace = true // requests in the negotiated …/ed3/privN, as f-me/dmcc writes them
	if sc.SwitchIP == "" {
		sc.SwitchIP = "10.0.0.5"
	}
	if sc.Devices == nil {
		sc.Devices = []string{"201", "202", "203", "204"}
	}
	return sc
}

func newEnv(t *testing.T, sc labavaya.Config, extra map[string]any) *env {
	t.Helper()
	sim, err := labavaya.New(simConfig(sc))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: sim, d: avaya.New()}
	t.Cleanup(func() { _ = sim.Close() })
	t.Cleanup(func() { checkRefused(t, sim) })
	e.Recorder = drivertest.Start(t, e.d, "avaya", driverConfig(sim.Addr(), extra), timing)
	return e
}

func (e *env) monitor(devs ...string) map[string]string { return drivertest.Monitor(e.t, e.d, devs...) }

func (e *env) snapshot(dev string) plugins.DeviceSnapshot { return drivertest.Snapshot(e.t, e.d, dev) }

var bg = context.Background()

// makeCall places a call from a to b and checks AES's event order for a
// third-party MakeCall: ServiceInitiated and Originated at the caller,
// Delivered at both.
func makeCall(t *testing.T, e *env, a, b string) plugins.ConnectionRef {
	t.Helper()
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: a, Called: b})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Device != a || ref.CallID == "" || ref.ConnectionID != ref.CallID+"@"+a {
		t.Fatalf("make call ref %+v", ref)
	}
	e.Want(plugins.EventServiceInitiated, a, plugins.StateInitiated)
	e.Want(plugins.EventOriginated, a, plugins.StateConnected)
	e.Want(plugins.EventDelivered, a, plugins.StateConnected)
	e.Want(plugins.EventDelivered, b, plugins.StateAlerting)
	return ref
}

// connect makes a call from a to b, answers it and drains its events.
func connect(t *testing.T, e *env, a, b string) plugins.ConnectionRef {
	t.Helper()
	ref := makeCall(t, e, a, b)
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: b, CallID: ref.CallID}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventEstablished, a, plugins.StateConnected)
	e.Want(plugins.EventEstablished, b, plugins.StateConnected)
	return ref
}

func TestSessionDeviceIDsAndMonitors(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202", "203"}) {
		t.Fatalf("sim monitors %v", got)
	}
	if ids["201"] == ids["202"] || ids["201"] == "" {
		t.Fatalf("monitor ids %v", ids)
	}
	if st := e.d.Stats(); st.DeviceIDs != 3 || st.MonitorStarts != 3 {
		t.Fatalf("GetDeviceId before each MonitorStart: %+v", st)
	}
	if id, _ := e.d.MonitorStart(bg, "201"); id != ids["201"] {
		t.Fatalf("second MonitorStart gave %q, want %q", id, ids["201"])
	}
	// GetDeviceId refuses an unknown station: not found, not monitored.
	if _, err := e.d.MonitorStart(bg, "999"); !errors.Is(err, plugins.ErrNotFound) || !strings.Contains(err.Error(), "invalidDeviceID") {
		t.Fatalf("unknown device: %v, want ErrNotFound", err)
	}
	if _, err := e.d.Snapshot(bg, "999"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("refused device still monitored: %v", err)
	}
	if err := e.d.MonitorStop(bg, "203"); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("after stop: %v", got)
	}
	if err := e.d.MonitorStop(bg, "203"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("stop twice: %v", err)
	}
	if e.sim.Sessions() != 1 || e.d.SessionID() == "" {
		t.Fatalf("sessions %d id %q", e.sim.Sessions(), e.d.SessionID())
	}
	// The driver offers every version, newest first; the sim takes the first.
	if got := e.d.ProtocolVersion(); got != dmcc.Releases[0].Version {
		t.Fatalf("protocol version %q", got)
	}
	e.Quiet()
}

func TestProtocolVersion(t *testing.T) {
	priv6, _ := dmcc.ParseVersion("6.2")
	e := newEnv(t, labavaya.Config{Versions: []string{priv6}}, nil)
	if got := e.d.ProtocolVersion(); got != priv6 {
		t.Fatalf("negotiated %q, want %q", got, priv6)
	}
	// Pinning a version AES does not speak is a refused login.
	d := avaya.New()
	err := d.Start(bg, plugins.StartRequest{Config: driverConfig(e.sim.Addr(), map[string]any{"protocol_version": "ed3/priv7"})})
	if !errors.Is(err, plugins.ErrInvalidArgument) || !strings.Contains(err.Error(), "requestedProtocolVersionNotSupported") {
		t.Fatalf("pinned unsupported version: %v", err)
	}
	_ = d.Close()
}

func TestBadLogin(t *testing.T) {
	sim, err := labavaya.New(labavaya.Config{User: "cti", Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	d := avaya.New()
	err = d.Start(bg, plugins.StartRequest{Config: driverConfig(sim.Addr(), map[string]any{"password": "wrong"})})
	if !errors.Is(err, plugins.ErrInvalidArgument) || !strings.Contains(err.Error(), "invalidApplicationInfo") {
		t.Fatalf("start with a wrong password: %v", err)
	}
	_ = d.Close()
	if sim.Sessions() != 0 {
		t.Fatal("session granted to a wrong password")
	}
}

func TestCallAnswerHoldRetrieveClear(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	ev := e.Want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	if ev.CallID != ref.CallID || ev.MonitorID != ids["201"] {
		t.Fatalf("service initiated %+v", ev)
	}
	ev = e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	// Parties arrive as DMCC device IDs (201:CM1:10.0.0.5:0) and are shown
	// as extensions.
	if ev.Calling != "201" || ev.Called != "202" || ev.CallID != ref.CallID || ev.MonitorID != ids["201"] ||
		ev.Cause != plugins.CauseNewCall || ev.RawCause != "newCall" {
		t.Fatalf("originated %+v", ev)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventDelivered, "202", plugins.StateAlerting)
	if ev.Cause != plugins.CauseNewCall || ev.ConnectionID != ref.CallID+"@202" || ev.Other != "202" {
		t.Fatalf("delivered %+v", ev)
	}
	if s := e.snapshot("202"); drivertest.CallStates(s) != ref.CallID+":alerting" || s.Calls[0].Other != "201" {
		t.Fatalf("202 snapshot %+v", s)
	}

	at202 := plugins.ConnectionRef{Device: "202", CallID: ref.CallID}
	if err := e.d.Answer(bg, at202); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventEstablished, "201", plugins.StateConnected)
	e.Want(plugins.EventEstablished, "202", plugins.StateConnected)
	if err := e.d.Answer(bg, at202); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Fatalf("answer twice: %v", err)
	}

	if err := e.d.Hold(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventHeld, "201", plugins.StateHold)
	e.Want(plugins.EventHeld, "202", plugins.StateConnected)
	if s := e.snapshot("201"); drivertest.CallStates(s) != ref.CallID+":hold" {
		t.Fatalf("201 snapshot %+v", s)
	}
	if err := e.d.Retrieve(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventRetrieved, "201", plugins.StateConnected)
	e.Want(plugins.EventRetrieved, "202", plugins.StateConnected)

	if err := e.d.GenerateDigits(bg, ref, "12#"); err != nil {
		t.Fatal(err)
	}
	if err := e.d.GenerateDigits(bg, ref, "12x"); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("bad digits: %v", err)
	}

	if err := e.d.Clear(bg, ref); err != nil {
		t.Fatal(err)
	}
	ev = e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	if ev.Other != "201" || ev.Cause != plugins.CauseNormalClearing {
		t.Fatalf("cleared %+v", ev)
	}
	e.Want(plugins.EventConnectionCleared, "202", plugins.StateConnected)
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	e.Want(plugins.EventConnectionCleared, "202", plugins.StateNull)
	// The call is over: CallCleared at both (ECMA-269 §17.2.2).
	for _, d := range []string{"201", "202"} {
		if ev := e.Want(plugins.EventCallCleared, d, plugins.StateNull); ev.Cause != plugins.CauseNormalClearing || ev.CallID != ref.CallID {
			t.Fatalf("call cleared %+v", ev)
		}
	}
	for _, d := range []string{"201", "202"} {
		if s := e.snapshot(d); len(s.Calls) != 0 {
			t.Fatalf("%s still has calls %+v", d, s.Calls)
		}
	}
	if err := e.d.Answer(bg, at202); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("answer a gone call: %v", err)
	}
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "999", Called: "202"}); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("call from an unknown station: %v", err)
	}
	e.Quiet()
}

func TestConsultationTransfer(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202", "203")
	c1 := connect(t, e, "201", "202")

	c2, err := e.d.Consultation(bg, c1, "203")
	if err != nil {
		t.Fatal(err)
	}
	ev := e.Want(plugins.EventHeld, "201", plugins.StateHold)
	if ev.Cause != plugins.CauseConsultation || ev.CallID != c1.CallID {
		t.Fatalf("held %+v", ev)
	}
	e.Want(plugins.EventHeld, "202", plugins.StateConnected)
	e.Want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	ev = e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	if ev.CallID != c2.CallID || ev.Cause != plugins.CauseConsultation {
		t.Fatalf("consult originated %+v", ev)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	e.Want(plugins.EventDelivered, "203", plugins.StateAlerting)
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "203", CallID: c2.CallID}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventEstablished, "201", plugins.StateConnected)
	e.Want(plugins.EventEstablished, "203", plugins.StateConnected)
	if s := e.snapshot("201"); len(s.Calls) != 2 {
		t.Fatalf("201 during consultation %+v", s)
	}

	res, err := e.d.Transfer(bg, c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]plugins.Event{}
	for range 3 {
		ev := e.Next()
		if ev.Type != plugins.EventTransferred {
			t.Fatalf("want transferred, got %+v", ev)
		}
		got[ev.Device] = ev
	}
	if ev := got["201"]; ev.State != plugins.StateNull || ev.Other != "203" || ev.Cause != plugins.CauseTransfer {
		t.Fatalf("201 transferred %+v", ev)
	}
	for _, d := range []string{"202", "203"} {
		ev := got[d]
		if ev.State != plugins.StateConnected || ev.CallID != res.CallID || ev.OldCallID == "" {
			t.Fatalf("%s transferred %+v (result %+v)", d, ev, res)
		}
	}
	if got["202"].OldCallID != c1.CallID {
		t.Fatalf("202's old call %q, want %q", got["202"].OldCallID, c1.CallID)
	}
	if s := e.snapshot("201"); len(s.Calls) != 0 {
		t.Fatalf("201 after transfer %+v", s)
	}
	for _, d := range []string{"202", "203"} {
		if s := e.snapshot(d); drivertest.CallStates(s) != res.CallID+":connected" {
			t.Fatalf("%s after transfer %+v", d, s)
		}
	}
	e.Quiet()
}

func TestConference(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202", "203")
	c1 := connect(t, e, "201", "202")
	c2, err := e.d.Consultation(bg, c1, "203")
	if err != nil {
		t.Fatal(err)
	}
	for range 6 { // held ×2, service initiated, originated, delivered ×2
		e.Next()
	}
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "203", CallID: c2.CallID}); err != nil {
		t.Fatal(err)
	}
	e.Next()
	e.Next()
	res, err := e.d.Conference(bg, c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ev := e.Next()
		if ev.Type != plugins.EventConferenced || ev.State != plugins.StateConnected || ev.CallID != res.CallID ||
			ev.Cause != plugins.CauseConference {
			t.Fatalf("conferenced %+v", ev)
		}
	}
	for _, d := range []string{"201", "202", "203"} {
		if s := e.snapshot(d); drivertest.CallStates(s) != res.CallID+":connected" {
			t.Fatalf("%s after conference %+v", d, s)
		}
	}
}

func TestSingleStepTransferAndDeflect(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202", "203", "204")
	c := connect(t, e, "201", "202")
	// 202 passes the call on to 203 blind.
	res, err := e.d.SingleStepTransfer(bg, plugins.ConnectionRef{Device: "202", CallID: c.CallID}, "203")
	if err != nil {
		t.Fatal(err)
	}
	if res.Device != "203" || res.CallID != c.CallID {
		t.Fatalf("single step result %+v", res)
	}
	got := map[string]plugins.Event{}
	for range 2 {
		ev := e.Next()
		if ev.Type != plugins.EventTransferred || ev.Cause != plugins.CauseSingleStepTransfer || ev.Other != "203" {
			t.Fatalf("want transferred, got %+v", ev)
		}
		got[ev.Device] = ev
	}
	if got["202"].State != plugins.StateNull || got["201"].State != plugins.StateConnected {
		t.Fatalf("transferred %+v", got)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	ev := e.Want(plugins.EventDelivered, "203", plugins.StateAlerting)
	if ev.Cause != plugins.CauseSingleStepTransfer {
		t.Fatalf("delivered after single step %+v", ev)
	}
	if s := e.snapshot("202"); len(s.Calls) != 0 {
		t.Fatalf("202 after single step %+v", s)
	}
	// 203 deflects the ringing call to 204.
	if err := e.d.Deflect(bg, plugins.ConnectionRef{Device: "203", CallID: c.CallID}, "204"); err != nil {
		t.Fatal(err)
	}
	got = map[string]plugins.Event{}
	for range 2 {
		ev := e.Next()
		if ev.Type != plugins.EventDiverted || ev.Other != "204" || ev.Cause != plugins.CauseRedirected {
			t.Fatalf("want diverted, got %+v", ev)
		}
		got[ev.Device] = ev
	}
	if got["203"].State != plugins.StateNull {
		t.Fatalf("diverted %+v", got)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	e.Want(plugins.EventDelivered, "204", plugins.StateAlerting)
	if s := e.snapshot("203"); len(s.Calls) != 0 {
		t.Fatalf("203 after deflect %+v", s)
	}
	if s := e.snapshot("204"); drivertest.CallStates(s) != c.CallID+":alerting" {
		t.Fatalf("204 after deflect %+v", s)
	}
	// Deflecting a call that is not ringing is refused.
	if err := e.d.Deflect(bg, c, "203"); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Fatalf("deflect a connected call: %v", err)
	}
}

func TestDNDAndForwarding(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201", "202", "203")
	if err := e.d.SetDND(bg, "202", true); err != nil {
		t.Fatal(err)
	}
	ev := e.Want(plugins.EventDoNotDisturb, "202", plugins.StateUnspecified)
	if !ev.DND || !e.sim.DND("202") || !e.snapshot("202").DND {
		t.Fatalf("dnd event %+v", ev)
	}
	// A call to a DND phone fails.
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventFailed, "201", plugins.StateFail)
	if ev.Cause != plugins.CauseDoNotDisturb || ev.Other != "202" {
		t.Fatalf("failed %+v", ev)
	}
	e.Want(plugins.EventFailed, "202", plugins.StateNull)
	if err := e.d.Clear(bg, plugins.ConnectionRef{Device: "201", CallID: ev.CallID}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	e.Want(plugins.EventCallCleared, "201", plugins.StateNull)
	if err := e.d.SetDND(bg, "202", false); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventDoNotDisturb, "202", plugins.StateUnspecified); ev.DND {
		t.Fatalf("dnd off %+v", ev)
	}

	fw := plugins.Forwarding{Type: plugins.ForwardImmediate, To: "203", Enabled: true}
	if err := e.d.SetForwarding(bg, "202", fw); err != nil {
		t.Fatal(err)
	}
	ev = e.Want(plugins.EventForwarding, "202", plugins.StateUnspecified)
	if ev.Forwarding == nil || *ev.Forwarding != fw || e.sim.Forwarding("202", "forwardImmediate") != "203" {
		t.Fatalf("forwarding event %+v", ev)
	}
	if s := e.snapshot("202"); len(s.Forwarding) != 1 || s.Forwarding[0] != fw {
		t.Fatalf("snapshot %+v", s)
	}
	// A call to 202 is diverted to 203.
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventDiverted, "202", plugins.StateNull)
	if ev.Other != "203" || ev.Cause != plugins.CauseCallForwardImmediate {
		t.Fatalf("diverted %+v", ev)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	e.Want(plugins.EventDelivered, "203", plugins.StateAlerting)
	if err := e.d.SetForwarding(bg, "202", plugins.Forwarding{Type: plugins.ForwardImmediate}); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventForwarding, "202", plugins.StateUnspecified); ev.Forwarding.Enabled {
		t.Fatalf("forwarding off %+v", ev)
	}
	if err := e.d.SetForwarding(bg, "202", plugins.Forwarding{Type: plugins.ForwardBusy, Enabled: true}); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("forwarding without destination: %v", err)
	}
	// A fresh monitor reads DND and forwarding from AES (GetDoNotDisturb,
	// GetForwarding).
	if err := e.d.SetDND(bg, "204", true); err != nil {
		t.Fatal(err)
	}
	e.monitor("204")
	drivertest.WaitFor(t, "204 snapshot", func() bool { return e.snapshot("204").DND })
}

func TestAgentState(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201")
	req := plugins.AgentStateRequest{Device: "201", AgentID: "1001", State: plugins.AgentReady}
	if err := e.d.SetAgentState(bg, req); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Fatalf("ready before log-on: %v", err)
	}
	for _, st := range []plugins.AgentState{plugins.AgentLoggedOn, plugins.AgentReady, plugins.AgentNotReady,
		plugins.AgentWorkingAfterCall, plugins.AgentLoggedOff} {
		req.State = st
		if err := e.d.SetAgentState(bg, req); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		if ev := e.Want(plugins.EventAgentState, "201", plugins.StateUnspecified); ev.AgentState != st {
			t.Fatalf("agent event %+v, want %s", ev, st)
		}
		if got := e.snapshot("201").AgentState; got != st {
			t.Fatalf("snapshot agent state %s, want %s", got, st)
		}
	}
	if e.sim.AgentState("201") != dmcc.AgentLoggedOff {
		t.Fatalf("sim agent state %q", e.sim.AgentState("201"))
	}
	req.State = plugins.AgentBusy
	if err := e.d.SetAgentState(bg, req); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("busy is not settable: %v", err)
	}
}

func TestSlowAES(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, map[string]any{"request_timeout": "300ms"})
	e.monitor("201")
	e.sim.SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	if err := e.d.SetDND(ctx, "201", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow AES: %v", err)
	}
	e.sim.SetDelay(0)
}

func TestConfig(t *testing.T) {
	base := `"user":"u","password":"p","switch_name":"CM1"`
	for _, tc := range []struct {
		name, json, err, addr string
	}{
		{"minimal", `{"address":"aes",` + base + `}`, "", "aes:4721"},
		{"tls port", `{"address":"aes","tls":true,` + base + `}`, "", "aes:4722"},
		{"explicit port", `{"address":"10.0.0.5:9000",` + base + `}`, "", "10.0.0.5:9000"},
		{"full", `{"address":"10.0.0.5:4722","tls":true,"tls_server_name":"aes",` + base + `,
			"application_id":"x","protocol_version":"6.3","session_duration":"60s","session_cleanup_delay":0,
			"reconnect_min":1,"reconnect_max":"10s","request_timeout":"3s"}`, "", "10.0.0.5:4722"},
		{"no address", `{` + base + `}`, "address is required", ""},
		{"bad port", `{"address":"aes:99999",` + base + `}`, "bad port", ""},
		{"no login", `{"address":"aes","switch_name":"CM1"}`, "user and password are required", ""},
		{"no switch", `{"address":"aes","user":"u","password":"p"}`, "switch_name is required", ""},
		{"unknown key", `{"address":"aes",` + base + `,"adress":"x"}`, "unknown field", ""},
		{"version", `{"address":"aes",` + base + `,"protocol_version":"9.9"}`, "protocol_version", ""},
		{"session", `{"address":"aes",` + base + `,"session_duration":"1s"}`, "session_duration", ""},
		{"cleanup", `{"address":"aes",` + base + `,"session_cleanup_delay":"2h"}`, "session_cleanup_delay", ""},
		{"backoff", `{"address":"aes",` + base + `,"reconnect_min":"10s","reconnect_max":"1s"}`, "reconnect_min", ""},
		{"duration", `{"address":"aes",` + base + `,"request_timeout":"soon"}`, "duration", ""},
		{"insecure", `{"address":"aes",` + base + `,"tls_insecure_skip_verify":true}`, "without tls", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := avaya.ParseConfig([]byte(tc.json))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Address != tc.addr || c.SessionDuration == 0 || c.ApplicationID == "" {
					t.Fatalf("defaults not set: %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
	// Every problem is reported at once.
	_, err := avaya.ParseConfig([]byte(`{}`))
	for _, want := range []string{"address", "user and password", "switch_name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("empty config: %v lacks %q", err, want)
		}
	}
	c, _ := avaya.ParseConfig([]byte(`{"address":"aes",` + base + `}`))
	if time.Duration(c.SessionDuration) != avaya.DefaultSessionDuration || c.SessionCleanupDelay == nil ||
		time.Duration(*c.SessionCleanupDelay) != avaya.DefaultSessionCleanupDelay ||
		time.Duration(c.ReconnectMin) != avaya.DefaultReconnectMin {
		t.Fatalf("defaults %+v", c)
	}
}

func TestVersionNames(t *testing.T) {
	for in, want := range map[string]string{
		"6.3": "ed3/priv7", "ed3/priv6": "ed3/priv6", "4.0": "ed3/priv1", "3.1": "ed2/priv1",
		"http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv4": "ed3/priv4",
	} {
		got, ok := dmcc.ParseVersion(in)
		if !ok || !strings.HasSuffix(got, want) {
			t.Errorf("%s → %s, want …%s", in, got, want)
		}
	}
	if v, ok := dmcc.ParseVersion("3.0"); !ok || v != "3.0" {
		t.Errorf("AES 3.0's literal version: %q", v)
	}
	if _, ok := dmcc.ParseVersion("ed5"); ok {
		t.Error("ed5 accepted")
	}
	if dmcc.Extension("4750:CM1:10.0.0.5:0") != "4750" || dmcc.Switch("4750:CM1::0") != "CM1" || dmcc.Extension("4750") != "4750" {
		t.Error("device ID parts")
	}
}

// checkRefused fails t if the simulator's own parser (written from the
// vendor's documents, not from the driver's codec) refused anything the
// driver sent.
func checkRefused(t *testing.T, sim *labavaya.Sim) {
	t.Helper()
	if r := sim.Refused(); len(r) > 0 {
		t.Errorf("the simulator refused what the driver sent (%d): %q", len(r), r)
	}
}

// TestAgentStateAtMonitorStart: a console that starts monitoring a
// station whose agent is already logged on sees the agent's state
// (GetAgentState at monitor start) before any agent event; a station with
// no agent logged on shows logged off.
func TestAgentStateAtMonitorStart(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201")
	for _, st := range []plugins.AgentState{plugins.AgentLoggedOn, plugins.AgentNotReady} {
		if err := e.d.SetAgentState(bg, plugins.AgentStateRequest{Device: "201", AgentID: "1001", State: st}); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		e.Want(plugins.EventAgentState, "201", plugins.StateUnspecified)
	}
	// A second console: a driver of its own, monitoring after the fact.
	d2 := avaya.New()
	rec := drivertest.Start(t, d2, "avaya", driverConfig(e.sim.Addr(), nil), timing)
	drivertest.Monitor(t, d2, "201", "202")
	drivertest.WaitFor(t, "agent state at monitor start", func() bool {
		return drivertest.Snapshot(t, d2, "201").AgentState == plugins.AgentNotReady &&
			drivertest.Snapshot(t, d2, "202").AgentState == plugins.AgentLoggedOff
	})
	rec.Quiet()
}
