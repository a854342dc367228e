package cisco_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	"github.com/switchboard-gw/switchboard/drivers/drivertest"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

var bg = context.Background()

// env is a simulator and a started driver whose events are collected.
type env struct {
	*drivertest.Recorder
	t   *testing.T
	sim *labcisco.Sim
	d   *cisco.Driver
}

// timing is how long the tests wait for this driver's events.
var timing = drivertest.Timing{Wait: 5 * time.Second, Quiet: 150 * time.Millisecond, Buffer: 4096}

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
	t.Cleanup(func() { checkRefused(t, sim) })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return sim, ca
}

// heartbeatTimeout is the tests' heartbeat_timeout: with 1 s, a stream
// that a loaded machine (load 25, -race) did not read for 1.1-1.4 s was
// taken for dead, and the link went down in the middle of seven tests of a
// -count=3 run. The tests of a dead stream wait for it (stallWait).
const (
	heartbeatTimeout = 10 * time.Second
	stallWait        = 3 * heartbeatTimeout
)

func driverConfig(sim *labcisco.Sim, ca string, extra map[string]any) []byte {
	cfg := map[string]any{"base_url": sim.URL(), "user": "admin", "password": "secret", "tls_ca_file": ca,
		"user_domain": "lab.example", "reconnect_min": "20ms", "reconnect_max": "200ms", "request_timeout": "2s",
		"heartbeat_interval": "100ms", "heartbeat_timeout": heartbeatTimeout.String()}
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
	e := &env{t: t, sim: sim, d: cisco.New()}
	e.Recorder = drivertest.Start(t, e.d, "cisco", driverConfig(sim, ca, extra), timing)
	return e
}

func (e *env) monitor(devs ...string) map[string]string { return drivertest.Monitor(e.t, e.d, devs...) }

func (e *env) snapshot(dev string) plugins.DeviceSnapshot { return drivertest.Snapshot(e.t, e.d, dev) }

// connect makes a call from a to b, answers it and drains its events.
func connect(t *testing.T, e *env, a, b string) plugins.ConnectionRef {
	t.Helper()
	return e.Connect(e.d, a, b, true)
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
	drivertest.WaitFor(t, "heartbeats", func() bool { return e.d.Stats().HeartbeatsSeen >= 2 && e.sim.Stats().Heartbeats >= 2 })
	drivertest.WaitFor(t, "acks", func() bool { return e.sim.Stats().Acks >= 3 })
	if st := e.sim.Stats(); st.ChannelsOpened != 1 || st.Resends != 0 {
		t.Fatalf("sim stats %+v", st)
	}
	e.Quiet()
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
	ev := e.Want(plugins.EventServiceInitiated, "201", plugins.StateInitiated)
	if ev.CallID != ref.CallID || ev.ConnectionID != ref.ConnectionID || ev.Cause != plugins.CauseMakeCall {
		t.Fatalf("service initiated %+v", ev)
	}
	ev = e.Want(plugins.EventOriginated, "201", plugins.StateConnected)
	if ev.Calling != "201" || ev.Called != "202" || ev.MonitorID != ids["201"] || ev.Cause != plugins.CauseMakeCall ||
		ev.PBXTime.IsZero() {
		t.Fatalf("originated %+v", ev)
	}
	e.Want(plugins.EventDelivered, "201", plugins.StateConnected)
	ev = e.Want(plugins.EventDelivered, "202", plugins.StateAlerting)
	if ev.CallID != ref.CallID || ev.Calling != "201" || ev.Called != "202" || ev.ConnectionID == ref.ConnectionID {
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

	if err := e.d.Hold(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventHeld, "201", plugins.StateHold)
	e.Want(plugins.EventHeld, "202", plugins.StateConnected) // Remote Held
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
	ev = e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	if ev.Cause != plugins.CauseNormalClearing || ev.Other != "201" {
		t.Fatalf("cleared %+v", ev)
	}
	ev = e.Want(plugins.EventConnectionCleared, "202", plugins.StateNull)
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
	e.Quiet()
}

func TestConsultationTransfer(t *testing.T) {
	e := newEnv(t, labcisco.Config{}, nil)
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
	if ev := e.Want(plugins.EventOriginated, "201", plugins.StateConnected); ev.CallID != c2.CallID {
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
	if res.CallID != c2.CallID {
		t.Fatalf("transfer result %+v", res)
	}
	ev = e.Want(plugins.EventTransferred, "201", plugins.StateNull)
	if ev.Other != "203" || ev.Cause != plugins.CauseTransfer || ev.CallID != c2.CallID || ev.OldCallID != c1.CallID {
		t.Fatalf("201 transferred %+v", ev)
	}
	if ev := e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull); ev.Cause != plugins.CauseTransfer {
		t.Fatalf("201 cleared %+v", ev)
	}
	ev = e.Want(plugins.EventTransferred, "202", plugins.StateConnected)
	if ev.CallID != res.CallID || ev.OldCallID != c1.CallID || ev.Other != "203" {
		t.Fatalf("202 transferred %+v", ev)
	}
	ev = e.Want(plugins.EventTransferred, "203", plugins.StateConnected)
	if ev.CallID != res.CallID || ev.Other != "202" {
		t.Fatalf("203 transferred %+v", ev)
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
	e := newEnv(t, labcisco.Config{}, nil)
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
	// The held call is retrieved first, then the conference starts.
	e.Want(plugins.EventRetrieved, "201", plugins.StateConnected)
	e.Want(plugins.EventRetrieved, "202", plugins.StateConnected)
	got := map[string]plugins.Event{}
	for range 3 {
		ev := e.Next()
		if ev.Type != plugins.EventConferenced || ev.State != plugins.StateConnected || ev.CallID != res.CallID {
			t.Fatalf("conferenced %+v", ev)
		}
		got[ev.Device] = ev
	}
	if got["201"].OldCallID != c2.CallID || got["203"].OldCallID != c2.CallID || got["202"].OldCallID != "" {
		t.Fatalf("old calls %+v", got)
	}
	for _, d := range []string{"201", "202", "203"} {
		if s := e.snapshot(d); drivertest.CallStates(s) != res.CallID+":connected" {
			t.Fatalf("%s after conference %+v", d, s)
		}
	}
	e.Quiet()
}

// checkRefused fails t if the simulator's own Xsi parser (written from the
// Xsi XSDs, not from the driver's codec) refused anything the driver sent.
func checkRefused(t testing.TB, sim *labcisco.Sim) {
	t.Helper()
	if r := sim.Refused(); len(r) > 0 {
		t.Errorf("the simulator refused what the driver sent (%d): %q", len(r), r)
	}
}
