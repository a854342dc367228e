package cisco_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

var bg = context.Background()

// env is a simulator and a started driver whose events are collected.
type env struct {
	t      *testing.T
	sim    *labcisco.Sim
	d      *cisco.Driver
	events chan plugins.Event
}

// newSim starts a simulator with the lab credentials; its certificate is
// written to a file for tls_ca_file.
func newSim(t testing.TB, sc labcisco.Config) (*labcisco.Sim, string) {
	t.Helper()
	sc.User, sc.Password = "admin", "secret"
	if sc.AckTimeout == 0 {
		sc.AckTimeout = time.Second
	}
	if sc.MinExpires == 0 {
		sc.MinExpires = 1
	}
	sim, err := labcisco.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return sim, ca
}

func driverConfig(sim *labcisco.Sim, ca string, extra map[string]any) []byte {
	cfg := map[string]any{"base_url": sim.URL(), "user": "admin", "password": "secret", "tls_ca_file": ca,
		"user_domain": "lab.example", "reconnect_min": "20ms", "reconnect_max": "200ms", "request_timeout": "2s",
		"heartbeat_interval": "100ms", "heartbeat_timeout": "1s"}
	for k, v := range extra {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	b, _ := json.Marshal(cfg)
	return b
}

func newEnv(t *testing.T, sc labcisco.Config, extra map[string]any) *env {
	t.Helper()
	sim, ca := newSim(t, sc)
	e := &env{t: t, sim: sim, d: cisco.New(), events: make(chan plugins.Event, 4096)}
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.d.Events(ctx, func(ev plugins.Event) error { e.events <- ev; return nil })
	}()
	t.Cleanup(func() {
		_ = e.d.Close()
		cancel()
		<-done
	})
	sctx, scancel := context.WithTimeout(bg, 5*time.Second)
	defer scancel()
	if err := e.d.Start(sctx, plugins.StartRequest{Driver: "cisco", Config: driverConfig(sim, ca, extra)}); err != nil {
		t.Fatalf("start: %v", err)
	}
	e.want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	return e
}

// next returns the next event, failing the test after 5s.
func (e *env) next() plugins.Event {
	e.t.Helper()
	select {
	case ev := <-e.events:
		return ev
	case <-time.After(5 * time.Second):
		e.t.Fatal("no event within 5s")
	}
	return plugins.Event{}
}

// want takes the next event and checks its type, device and state.
func (e *env) want(typ plugins.EventType, dev string, st plugins.ConnectionState) plugins.Event {
	e.t.Helper()
	ev := e.next()
	if ev.Type != typ || ev.Device != dev || ev.State != st {
		e.t.Fatalf("got %s dev=%q state=%s (call %s cause %s/%s), want %s dev=%q state=%s",
			ev.Type, ev.Device, ev.State, ev.CallID, ev.Cause, ev.RawCause, typ, dev, st)
	}
	return ev
}

// quiet checks that no event arrives for a moment.
func (e *env) quiet() {
	e.t.Helper()
	select {
	case ev := <-e.events:
		e.t.Fatalf("unexpected event %s dev=%s call=%s", ev.Type, ev.Device, ev.CallID)
	case <-time.After(150 * time.Millisecond):
	}
}

func (e *env) monitor(devs ...string) map[string]string {
	e.t.Helper()
	ids := map[string]string{}
	for _, d := range devs {
		id, err := e.d.MonitorStart(bg, d)
		if err != nil {
			e.t.Fatalf("monitor %s: %v", d, err)
		}
		ids[d] = id
	}
	return ids
}

func (e *env) snapshot(dev string) plugins.DeviceSnapshot {
	e.t.Helper()
	s, err := e.d.Snapshot(bg, dev)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// callStates renders a snapshot's calls as "call:state".
func callStates(s plugins.DeviceSnapshot) string {
	var out []string
	for _, c := range s.Calls {
		out = append(out, c.CallID+":"+c.State.String())
	}
	return strings.Join(out, ",")
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// connect makes a call from a to b, answers it and drains its events.
func connect(t *testing.T, e *env, a, b string) plugins.ConnectionRef {
	t.Helper()
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: a, Called: b})
	if err != nil {
		t.Fatal(err)
	}
	e.want(plugins.EventServiceInitiated, a, plugins.StateInitiated)
	e.want(plugins.EventOriginated, a, plugins.StateConnected)
	e.want(plugins.EventDelivered, a, plugins.StateConnected)
	e.want(plugins.EventDelivered, b, plugins.StateAlerting)
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: b, CallID: ref.CallID}); err != nil {
		t.Fatal(err)
	}
	e.want(plugins.EventEstablished, a, plugins.StateConnected)
	e.want(plugins.EventEstablished, b, plugins.StateConnected)
	return ref
}

func TestChannelAndSubscriptions(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	if got := e.sim.Subscribed(); !slices.Equal(got, []string{"201", "202", "203"}) {
		t.Fatalf("sim subscriptions %v", got)
	}
	if ids["201"] == ids["202"] || ids["201"] == "" {
		t.Fatalf("monitor ids %v", ids)
	}
	if id, _ := e.d.MonitorStart(bg, "201"); id != ids["201"] {
		t.Fatalf("second MonitorStart gave %q, want %q", id, ids["201"])
	}
	if _, err := e.d.MonitorStart(bg, "999"); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
	if err := e.d.MonitorStop(bg, "203"); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Subscribed(); !slices.Equal(got, []string{"201", "202"}) {
		t.Fatalf("after stop: %v", got)
	}
	// Heartbeats go out and come back on the stream; every event (the
	// CallSubscriptionEvents) is acknowledged.
	waitFor(t, "heartbeats", func() bool { return e.d.Stats().HeartbeatsSeen >= 2 && e.sim.Stats().Heartbeats >= 2 })
	waitFor(t, "acks", func() bool { return e.sim.Stats().Acks >= 3 })
	if st := e.sim.Stats(); st.ChannelsOpened != 1 || st.Resends != 0 {
		t.Fatalf("sim stats %+v", st)
	}
	e.quiet()
}

func TestCallAnswerHoldRetrieveClear(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	ids := e.monitor("201", "202", "203")
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Device != "201" || ref.CallID == "" || ref.ConnectionID == "" {
		t.Fatalf("make call ref %+v", ref)
	}
	// Click-to-dial: the caller's phone first, then the call is its own.
	ev := e.want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	if ev.CallID != ref.CallID || ev.ConnectionID != ref.ConnectionID || ev.Cause != plugins.CauseMakeCall {
		t.Fatalf("service initiated %+v", ev)
	}
	ev = e.want(plugins.EventOriginated, "201", plugins.StateConnected)
	if ev.Calling != "201" || ev.Called != "202" || ev.MonitorID != ids["201"] || ev.Cause != plugins.CauseMakeCall ||
		ev.PBXTime.IsZero() {
		t.Fatalf("originated %+v", ev)
	}
	e.want(plugins.EventDelivered, "201", plugins.StateConnected)
	ev = e.want(plugins.EventDelivered, "202", plugins.StateAlerting)
	if ev.CallID != ref.CallID || ev.Calling != "201" || ev.Called != "202" || ev.ConnectionID == ref.ConnectionID {
		t.Fatalf("delivered %+v", ev)
	}
	if s := e.snapshot("202"); callStates(s) != ref.CallID+":alerting" || s.Calls[0].Other != "201" {
		t.Fatalf("202 snapshot %+v", s)
	}

	at202 := plugins.ConnectionRef{Device: "202", CallID: ref.CallID}
	if err := e.d.Answer(bg, at202); err != nil {
		t.Fatal(err)
	}
	e.want(plugins.EventEstablished, "201", plugins.StateConnected)
	e.want(plugins.EventEstablished, "202", plugins.StateConnected)

	if err := e.d.Hold(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.want(plugins.EventHeld, "201", plugins.StateHold)
	e.want(plugins.EventHeld, "202", plugins.StateConnected) // Remote Held
	if s := e.snapshot("201"); callStates(s) != ref.CallID+":hold" {
		t.Fatalf("201 snapshot %+v", s)
	}
	if err := e.d.Hold(bg, ref); !errors.Is(err, plugins.ErrFailedPrecondition) {
		t.Fatalf("hold twice: %v", err)
	}
	if err := e.d.Retrieve(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.want(plugins.EventRetrieved, "201", plugins.StateConnected)
	e.want(plugins.EventRetrieved, "202", plugins.StateConnected)

	if err := e.d.GenerateDigits(bg, ref, "12#,5"); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Digits("201"); got != "12#,5" {
		t.Fatalf("digits %q", got)
	}
	if err := e.d.GenerateDigits(bg, ref, "12x"); !errors.Is(err, plugins.ErrInvalidArgument) {
		t.Fatalf("bad digits: %v", err)
	}

	if err := e.d.Clear(bg, ref); err != nil {
		t.Fatal(err)
	}
	ev = e.want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	if ev.Cause != plugins.CauseNormalClearing || ev.Other != "201" {
		t.Fatalf("cleared %+v", ev)
	}
	ev = e.want(plugins.EventConnectionCleared, "202", plugins.StateNull)
	if ev.Other != "201" {
		t.Fatalf("cleared at 202 %+v", ev)
	}
	for _, d := range []string{"201", "202"} {
		if s := e.snapshot(d); len(s.Calls) != 0 {
			t.Fatalf("%s still has calls %+v", d, s.Calls)
		}
	}
	if err := e.d.Answer(bg, at202); !errors.Is(err, plugins.ErrNotFound) {
		t.Fatalf("answer a gone call: %v", err)
	}
	e.quiet()
}

func TestConsultationTransfer(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	c1 := connect(t, e, "201", "202")
	c2, err := e.d.Consultation(bg, c1, "203")
	if err != nil {
		t.Fatal(err)
	}
	ev := e.want(plugins.EventHeld, "201", plugins.StateHold)
	if ev.Cause != plugins.CauseConsultation || ev.CallID != c1.CallID {
		t.Fatalf("held %+v", ev)
	}
	e.want(plugins.EventHeld, "202", plugins.StateConnected)
	e.want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	if ev := e.want(plugins.EventOriginated, "201", plugins.StateConnected); ev.CallID != c2.CallID {
		t.Fatalf("consult originated %+v", ev)
	}
	e.want(plugins.EventDelivered, "201", plugins.StateConnected)
	e.want(plugins.EventDelivered, "203", plugins.StateAlerting)
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "203", CallID: c2.CallID}); err != nil {
		t.Fatal(err)
	}
	e.want(plugins.EventEstablished, "201", plugins.StateConnected)
	e.want(plugins.EventEstablished, "203", plugins.StateConnected)
	if s := e.snapshot("201"); len(s.Calls) != 2 {
		t.Fatalf("201 during consultation %+v", s)
	}

	res, err := e.d.Transfer(bg, c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	if res.CallID != c2.CallID {
		t.Fatalf("transfer result %+v", res)
	}
	ev = e.want(plugins.EventTransferred, "201", plugins.StateNull)
	if ev.Other != "203" || ev.Cause != plugins.CauseTransfer || ev.CallID != c2.CallID || ev.OldCallID != c1.CallID {
		t.Fatalf("201 transferred %+v", ev)
	}
	if ev := e.want(plugins.EventConnectionCleared, "201", plugins.StateNull); ev.Cause != plugins.CauseTransfer {
		t.Fatalf("201 cleared %+v", ev)
	}
	ev = e.want(plugins.EventTransferred, "202", plugins.StateConnected)
	if ev.CallID != res.CallID || ev.OldCallID != c1.CallID || ev.Other != "203" {
		t.Fatalf("202 transferred %+v", ev)
	}
	ev = e.want(plugins.EventTransferred, "203", plugins.StateConnected)
	if ev.CallID != res.CallID || ev.Other != "202" {
		t.Fatalf("203 transferred %+v", ev)
	}
	if s := e.snapshot("201"); len(s.Calls) != 0 {
		t.Fatalf("201 after transfer %+v", s)
	}
	for _, d := range []string{"202", "203"} {
		if s := e.snapshot(d); callStates(s) != res.CallID+":connected" {
			t.Fatalf("%s after transfer %+v", d, s)
		}
	}
	e.quiet()
}

func TestConference(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
	e.monitor("201", "202", "203")
	c1 := connect(t, e, "201", "202")
	c2, err := e.d.Consultation(bg, c1, "203")
	if err != nil {
		t.Fatal(err)
	}
	for range 6 { // held ×2, service initiated, originated, delivered ×2
		e.next()
	}
	if err := e.d.Answer(bg, plugins.ConnectionRef{Device: "203", CallID: c2.CallID}); err != nil {
		t.Fatal(err)
	}
	e.next()
	e.next()
	res, err := e.d.Conference(bg, c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	// The held call is retrieved first, then the conference starts.
	e.want(plugins.EventRetrieved, "201", plugins.StateConnected)
	e.want(plugins.EventRetrieved, "202", plugins.StateConnected)
	got := map[string]plugins.Event{}
	for range 3 {
		ev := e.next()
		if ev.Type != plugins.EventConferenced || ev.State != plugins.StateConnected || ev.CallID != res.CallID {
			t.Fatalf("conferenced %+v", ev)
		}
		got[ev.Device] = ev
	}
	if got["201"].OldCallID != c2.CallID || got["203"].OldCallID != c2.CallID || got["202"].OldCallID != "" {
		t.Fatalf("old calls %+v", got)
	}
	for _, d := range []string{"201", "202", "203"} {
		if s := e.snapshot(d); callStates(s) != res.CallID+":connected" {
			t.Fatalf("%s after conference %+v", d, s)
		}
	}
	e.quiet()
}
