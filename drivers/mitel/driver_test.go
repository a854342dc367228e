package mitel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	"github.com/switchboard-gw/switchboard/drivers/mitel"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// env is a simulator and a started driver whose events are collected.
type env struct {
	*drivertest.Recorder
	t   *testing.T
	sim *labmitel.Sim
	d   *mitel.Driver
}

// timing is how long the tests wait for this driver's events.
var timing = drivertest.Timing{Wait: 10 * time.Second, Quiet: 100 * time.Millisecond, Buffer: 1024}

func driverConfig(addr string, extra map[string]any) []byte {
	cfg := map[string]any{"address": addr, "user": "csta", "password": "secret",
		"reconnect_min": "20ms", "reconnect_max": "200ms", "request_timeout": "2s"}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	return b
}

func newEnv(t *testing.T, sc labmitel.Config, extra map[string]any) *env {
	t.Helper()
	sc.User, sc.Password = "csta", "secret"
	if sc.Devices == nil {
		sc.Devices = []string{"201", "202", "203", "204"}
	}
	sim, err := labmitel.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: sim, d: mitel.New()}
	t.Cleanup(func() { _ = sim.Close() })
	t.Cleanup(func() { checkRefused(t, sim) })
	e.Recorder = drivertest.Start(t, e.d, "mitel", driverConfig(sim.Addr(), extra), timing)
	return e
}

func (e *env) monitor(devs ...string) map[string]string { return drivertest.Monitor(e.t, e.d, devs...) }

func (e *env) snapshot(dev string) plugins.DeviceSnapshot { return drivertest.Snapshot(e.t, e.d, dev) }

var bg = context.Background()

func TestSessionAndMonitors(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202", "203"}) {
		t.Fatalf("sim monitors %v", got)
	}
	if ids["201"] == ids["202"] || ids["201"] == "" {
		t.Fatalf("monitor ids %v", ids)
	}
	if id, _ := e.d.MonitorStart(bg, "201"); id != ids["201"] {
		t.Fatalf("second MonitorStart gave %q, want %q", id, ids["201"])
	}
	if _, err := e.d.MonitorStart(bg, "999"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("unknown device: %v, want ErrNotFound", err)
	}
	if err := e.d.MonitorStop(bg, "203"); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("after stop: %v", got)
	}
	if e.sim.Sessions() != 1 {
		t.Fatalf("sessions %d", e.sim.Sessions())
	}
	e.Quiet()
}

func TestBadLogin(t *testing.T) {
	sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	d := mitel.New()
	err = d.Start(bg, plugins.StartRequest{Config: driverConfig(sim.Addr(), map[string]any{"password": "wrong"})})
	if !errors.Is(err, plugins.ErrInvalidArgument) || !strings.Contains(err.Error(), "invalidApplicationInfo") {
		t.Fatalf("start with a wrong password: %v", err)
	}
	_ = d.Close()
}

func TestCallAnswerHoldRetrieveClear(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Device != "201" || ref.CallID == "" {
		t.Fatalf("make call ref %+v", ref)
	}
	ev := e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	if ev.Calling != "201" || ev.Called != "202" || ev.CallID != ref.CallID || ev.MonitorID != ids["201"] ||
		ev.Cause != plugins.CauseMakeCall || ev.RawCause != "makeCall" {
		t.Fatalf("originated %+v", ev)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventDelivered, "202", plugins.StateAlerting)
	if ev.Cause != plugins.CauseNewCall || ev.ConnectionID != ref.CallID+"@202" {
		t.Fatalf("delivered %+v", ev)
	}
	if s := e.snapshot("202"); drivertest.CallStates(s) != ref.CallID+":alerting" || s.Calls[0].Other != "201" {
		t.Fatalf("202 snapshot %+v", s)
	}
	if got := mitel.PresenceOf(e.snapshot("202")); got != mitel.PresenceBusy {
		t.Fatalf("presence while ringing %s", got)
	}

	at202 := plugins.ConnectionRef{Device: "202", CallID: ref.CallID}
	if err := e.d.Answer(bg, at202); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventEstablished, "201", plugins.StateConnected)
	e.Want(plugins.EventEstablished, "202", plugins.StateConnected)

	if err := e.d.Hold(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventHeld, "201", plugins.StateHold)
	e.Want(plugins.EventHeld, "202", plugins.StateConnected)
	if s := e.snapshot("201"); drivertest.CallStates(s) != ref.CallID+":hold" {
		t.Fatalf("201 snapshot %+v", s)
	}
	if err := e.d.Hold(bg, ref); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Fatalf("hold twice: %v", err)
	}
	if err := e.d.Retrieve(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventRetrieved, "201", plugins.StateConnected)
	e.Want(plugins.EventRetrieved, "202", plugins.StateConnected)

	if err := e.d.Clear(bg, ref); err != nil {
		t.Fatal(err)
	}
	// ConnectionCleared per connection: 201's, then 202's.
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
	e.Quiet()
}

func TestConsultationTransfer(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
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

// connect makes a call from a to b, answers it and drains its events.
func connect(t *testing.T, e *env, a, b string) plugins.ConnectionRef {
	t.Helper()
	return e.Connect(e.d, a, b, false)
}

func TestConference(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201", "202", "203")
	c1 := connect(t, e, "201", "202")
	c2, err := e.d.Consultation(bg, c1, "203")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // held ×2, originated, delivered ×2
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
		if ev.Type != plugins.EventConferenced || ev.State != plugins.StateConnected || ev.CallID != res.CallID {
			t.Fatalf("conferenced %+v", ev)
		}
	}
	for _, d := range []string{"201", "202", "203"} {
		if s := e.snapshot(d); drivertest.CallStates(s) != res.CallID+":connected" {
			t.Fatalf("%s after conference %+v", d, s)
		}
	}
}

func TestDNDAndForwarding(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201", "202", "203")
	if got := mitel.PresenceOf(e.snapshot("202")); got != mitel.PresenceAvailable {
		t.Fatalf("presence %s", got)
	}
	if err := e.d.SetDND(bg, "202", true); err != nil {
		t.Fatal(err)
	}
	ev := e.Want(plugins.EventDoNotDisturb, "202", plugins.StateUnspecified)
	if !ev.DND || !e.sim.DND("202") || !e.snapshot("202").DND {
		t.Fatalf("dnd event %+v", ev)
	}
	if got := mitel.PresenceOf(e.snapshot("202")); got != mitel.PresenceDND || got.UserPresence() != "Unavailable" {
		t.Fatalf("presence %s", got)
	}
	// A call to a DND phone fails.
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
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
	s := e.snapshot("202")
	if len(s.Forwarding) != 1 || s.Forwarding[0] != fw || mitel.PresenceOf(s) != mitel.PresenceAway {
		t.Fatalf("snapshot %+v presence %s", s, mitel.PresenceOf(s))
	}
	// A call to 202 is diverted to 203.
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventDiverted, "202", plugins.StateNull)
	if ev.Other != "203" || ev.Cause != plugins.CauseCallForwardImmediate {
		t.Fatalf("diverted %+v", ev)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	e.Want(plugins.EventDelivered, "203", plugins.StateAlerting)
	_ = ref
	if err := e.d.SetForwarding(bg, "202", plugins.Forwarding{Type: plugins.ForwardImmediate}); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventForwarding, "202", plugins.StateUnspecified); ev.Forwarding.Enabled {
		t.Fatalf("forwarding off %+v", ev)
	}
	if err := e.d.SetForwarding(bg, "202", plugins.Forwarding{Type: plugins.ForwardBusy, Enabled: true}); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("forwarding without destination: %v", err)
	}
}

func TestMonitorLicenceLimit(t *testing.T) {
	e := newEnv(t, labmitel.Config{MonitorLimit: 2}, nil)
	e.monitor("201", "202")
	_, err := e.d.MonitorStart(bg, "203")
	if !errors.Is(err, mitel.ErrMonitorLimit) || !errors.Is(err, plugins.ErrFailedPrecondition) ||
		!strings.Contains(err.Error(), "overallMonitorLimitExceeded") {
		t.Fatalf("third monitor: %v", err)
	}
	if _, err := e.d.Snapshot(bg, "203"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("refused device still monitored: %v", err)
	}
	if err := e.d.MonitorStop(bg, "202"); err != nil {
		t.Fatal(err)
	}
	e.monitor("203")
}

func TestReconnectRestoresMonitors(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	c := connect(t, e, "201", "202")
	e.sim.DropLinks()
	ev := e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	if ev.Cause != plugins.CauseLinkFailure || ev.RawCause == "" {
		t.Fatalf("link down %+v", ev)
	}
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202", "203"}) {
		t.Fatalf("monitors after reconnect %v", got)
	}
	if e.sim.Sessions() != 2 {
		t.Fatalf("sessions %d, want 2", e.sim.Sessions())
	}
	// Calls outlive the link at the PBX: the fresh snapshot shows them.
	if s := e.snapshot("201"); drivertest.CallStates(s) != c.CallID+":connected" {
		t.Fatalf("201 after reconnect %+v", s)
	}
	// Events flow with the same monitor ids.
	if err := e.d.Clear(bg, c); err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull); ev.MonitorID != ids["201"] {
		t.Fatalf("monitor id changed: %+v", ev)
	}
}

func TestMalformedFrames(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, nil)
	e.monitor("201", "202")
	// A well-framed bad document is dropped; the link stays.
	e.sim.SendMalformed(labmitel.BadXML)
	connect(t, e, "201", "202")
	if st := e.d.Stats(); st.Dropped == 0 || st.LinkUps != 1 {
		t.Fatalf("stats after bad XML %+v", st)
	}
	// A broken header can't be resynchronised: the driver reconnects.
	e.sim.SendMalformed(labmitel.BadHeader)
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := e.sim.Monitors(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("monitors %v", got)
	}
}

func TestSlowPBX(t *testing.T) {
	e := newEnv(t, labmitel.Config{}, map[string]any{"request_timeout": "300ms"})
	e.monitor("201")
	e.sim.SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	if err := e.d.SetDND(ctx, "201", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow PBX: %v", err)
	}
	e.sim.SetDelay(0)
}

func TestSystemStatusAndSessionTimer(t *testing.T) {
	e := newEnv(t, labmitel.Config{SystemStatusInterval: 50 * time.Millisecond, MaxSessionDuration: 1},
		map[string]any{"session_duration": "10s"})
	e.monitor("201")
	time.Sleep(1500 * time.Millisecond) // past the 1s session granted: the timer must have been reset
	if e.sim.SystemStatusAnswers() == 0 {
		t.Fatal("SystemStatus not answered")
	}
	if e.sim.Sessions() != 1 || e.sim.Links() != 1 {
		t.Fatalf("session lost: sessions %d links %d", e.sim.Sessions(), e.sim.Links())
	}
	e.Quiet()
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name, json, err string
	}{
		{"minimal", `{"address":"pbx:7001"}`, ""},
		{"full", `{"address":"10.0.0.5:7001","tls":true,"tls_server_name":"pbx","user":"u","password":"p",
			"application_id":"x","edition":"ed4","session_duration":"60s","reconnect_min":1,"reconnect_max":"10s",
			"request_timeout":"3s"}`, ""},
		{"no address", `{}`, "address is required"},
		{"no port", `{"address":"pbx"}`, "want host:port"},
		{"bad port", `{"address":"pbx:99999"}`, "bad port"},
		{"unknown key", `{"address":"pbx:1","adress":"x"}`, "unknown field"},
		{"edition", `{"address":"pbx:1","edition":"ed9"}`, "edition"},
		{"session", `{"address":"pbx:1","session_duration":"1s"}`, "session_duration"},
		{"backoff", `{"address":"pbx:1","reconnect_min":"10s","reconnect_max":"1s"}`, "reconnect_min"},
		{"duration", `{"address":"pbx:1","request_timeout":"soon"}`, "duration"},
		{"password alone", `{"address":"pbx:1","password":"p"}`, "password without user"},
		{"insecure", `{"address":"pbx:1","tls_insecure_skip_verify":true}`, "without tls"},
		{"ca without tls", `{"address":"pbx:1","tls_ca_file":"/x"}`, "without tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := mitel.ParseConfig([]byte(tc.json))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Edition == "" || c.SessionDuration == 0 || c.ApplicationID == "" {
					t.Fatalf("defaults not set: %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
	c, _ := mitel.ParseConfig([]byte(`{"address":"pbx:1"}`))
	if c.Edition != "ed5" || time.Duration(c.SessionDuration) != mitel.DefaultSessionDuration ||
		time.Duration(c.ReconnectMin) != mitel.DefaultReconnectMin {
		t.Fatalf("defaults %+v", c)
	}
}

func TestPresenceMapping(t *testing.T) {
	for _, tc := range []struct{ mivo, want string }{
		{"Available", "available"}, {"Absent", "away"}, {"Busy", "busy"}, {"In a meeting", "busy"},
		{"Unavailable", "dnd"},
	} {
		p, ok := mitel.FromUserPresence(tc.mivo)
		if !ok || string(p) != tc.want {
			t.Errorf("%s → %s, want %s", tc.mivo, p, tc.want)
		}
	}
	for _, p := range []mitel.Presence{mitel.PresenceAvailable, mitel.PresenceAway, mitel.PresenceBusy, mitel.PresenceDND} {
		if back, _ := mitel.FromUserPresence(p.UserPresence()); back != p {
			t.Errorf("%s does not round-trip (%s)", p, p.UserPresence())
		}
	}
	if _, ok := mitel.FromUserPresence("Renamed"); ok {
		t.Error("unknown name accepted")
	}
}

// newDriverOnly starts a driver whose events nobody reads.
func newDriverOnly(t *testing.T, addr string, extra map[string]any) *mitel.Driver {
	t.Helper()
	d := mitel.New()
	if err := d.Start(bg, plugins.StartRequest{Config: driverConfig(addr, extra)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestReconnectManyMonitors(t *testing.T) {
	e := newEnv(t, labmitel.Config{Devices: []string{}}, nil)
	var devs []string
	for i := range 300 {
		devs = append(devs, fmt.Sprint(1000+i))
	}
	e.monitor(devs...)
	e.sim.DropLinks()
	e.Want(plugins.EventLinkDown, "", plugins.StateUnspecified)
	start := time.Now()
	e.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	if got := len(e.sim.Monitors()); got != 300 {
		t.Fatalf("%d monitors restored, want 300", got)
	}
	t.Logf("300 monitors restored in %s", time.Since(start))
}

// checkRefused fails t if the simulator's own parser (written from the
// vendor's documents, not from the driver's codec) refused anything the
// driver sent.
func checkRefused(t *testing.T, sim *labmitel.Sim) {
	t.Helper()
	if r := sim.Refused(); len(r) > 0 {
		t.Errorf("the simulator refused what the driver sent (%d): %q", len(r), r)
	}
}
