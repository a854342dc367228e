package drivertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Driver is a driver under test: the SDK's interface and Close.
type Driver interface {
	sdk.Driver
	Close() error
}

// Timing is how long a [Recorder] waits: Wait for an event before the
// test fails, Quiet for a silence that must hold. Drivers whose PBX is
// slower (HTTP round trips) wait longer.
type Timing struct {
	Wait, Quiet time.Duration
	// Buffer is how many events are held while the test does not read.
	Buffer int
}

// Recorder holds the events of a started driver for the test to check.
type Recorder struct {
	t      testing.TB
	timing Timing
	events chan plugins.Event
}

// Start starts d as driver name with config, reads its events into a
// Recorder and waits for the first link_up. Cleanup closes d and stops
// reading; register the PBX simulator's Close before calling Start, so
// it runs after.
func Start(t testing.TB, d Driver, name string, config []byte, tm Timing) *Recorder {
	t.Helper()
	r := &Recorder{t: t, timing: tm, events: make(chan plugins.Event, max(tm.Buffer, 1))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Events(ctx, func(ev plugins.Event) error { r.events <- ev; return nil })
	}()
	t.Cleanup(func() {
		_ = d.Close()
		cancel()
		<-done
	})
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := d.Start(sctx, plugins.StartRequest{Driver: name, Config: config}); err != nil {
		t.Fatalf("start: %v", err)
	}
	r.Want(plugins.EventLinkUp, "", plugins.StateUnspecified)
	return r
}

// Events is the channel the driver's events arrive on.
func (r *Recorder) Events() <-chan plugins.Event { return r.events }

// Next returns the next event, failing the test after Timing.Wait.
func (r *Recorder) Next() plugins.Event {
	r.t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(r.timing.Wait):
		r.t.Fatalf("no event within %s", r.timing.Wait)
	}
	return plugins.Event{}
}

// Want takes the next event and checks its type, device and state.
func (r *Recorder) Want(typ plugins.EventType, dev string, st plugins.ConnectionState) plugins.Event {
	r.t.Helper()
	ev := r.Next()
	if ev.Type != typ || ev.Device != dev || ev.State != st {
		r.t.Fatalf("got %s dev=%q state=%s (call %s cause %s/%s), want %s dev=%q state=%s",
			ev.Type, ev.Device, ev.State, ev.CallID, ev.Cause, ev.RawCause, typ, dev, st)
	}
	return ev
}

// WantWithin is Want with its own wait, for an event that takes longer
// than Timing.Wait by nature (a link up after restoring hundreds of
// monitors on a loaded machine).
func (r *Recorder) WantWithin(d time.Duration, typ plugins.EventType, dev string, st plugins.ConnectionState) plugins.Event {
	r.t.Helper()
	select {
	case ev := <-r.events:
		if ev.Type != typ || ev.Device != dev || ev.State != st {
			r.t.Fatalf("got %s dev=%q state=%s (call %s cause %s/%s), want %s dev=%q state=%s",
				ev.Type, ev.Device, ev.State, ev.CallID, ev.Cause, ev.RawCause, typ, dev, st)
		}
		return ev
	case <-time.After(d):
		r.t.Fatalf("no event within %s", d)
	}
	return plugins.Event{}
}

// QuietButResync is Quiet allowing RESYNC events: a driver whose
// snapshot was slow to answer (a loaded PBX or machine) asks again and
// tells the host, which only re-reads the device.
func (r *Recorder) QuietButResync() {
	r.t.Helper()
	deadline := time.After(r.timing.Quiet)
	for {
		select {
		case ev := <-r.events:
			if ev.Type != plugins.EventResync {
				r.t.Fatalf("unexpected event %s dev=%s call=%s", ev.Type, ev.Device, ev.CallID)
			}
		case <-deadline:
			return
		}
	}
}

// Quiet checks that no event arrives for Timing.Quiet.
func (r *Recorder) Quiet() {
	r.t.Helper()
	select {
	case ev := <-r.events:
		r.t.Fatalf("unexpected event %s dev=%s call=%s", ev.Type, ev.Device, ev.CallID)
	case <-time.After(r.timing.Quiet):
	}
}

// Monitor starts monitoring devs and returns their monitor ids.
func Monitor(t testing.TB, d sdk.Driver, devs ...string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, dev := range devs {
		id, err := d.MonitorStart(context.Background(), dev)
		if err != nil {
			t.Fatalf("monitor %s: %v", dev, err)
		}
		ids[dev] = id
	}
	return ids
}

// Snapshot returns the driver's snapshot of dev.
func Snapshot(t testing.TB, d sdk.Driver, dev string) plugins.DeviceSnapshot {
	t.Helper()
	s, err := d.Snapshot(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// CallStates renders a snapshot's calls as "call:state,..." for
// comparison.
func CallStates(s plugins.DeviceSnapshot) string {
	var out []string
	for _, c := range s.Calls {
		out = append(out, c.CallID+":"+c.State.String())
	}
	return strings.Join(out, ",")
}

// WaitFor polls cond every 10ms for up to 5s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Caller is a driver that places and answers calls.
type Caller interface {
	sdk.MakeCaller
	sdk.Answerer
}

// Connect places a call from a to b (MakeCall), answers it at b and takes
// the events both devices see, checking each. serviceInitiated: the PBX
// reports a third-party MakeCall with ServiceInitiated at a first (AES,
// BroadWorks do; MiVO400 does not).
func (r *Recorder) Connect(d Caller, a, b string, serviceInitiated bool) plugins.ConnectionRef {
	r.t.Helper()
	ctx := context.Background()
	ref, err := d.MakeCall(ctx, plugins.MakeCallRequest{Calling: a, Called: b})
	if err != nil {
		r.t.Fatal(err)
	}
	if serviceInitiated {
		r.Want(plugins.EventServiceInitiated, a, plugins.StateInitiated)
	}
	r.Want(plugins.EventOriginated, a, plugins.StateConnected)
	r.Want(plugins.EventDelivered, a, plugins.StateConnected)
	r.Want(plugins.EventDelivered, b, plugins.StateAlerting)
	if err := d.Answer(ctx, plugins.ConnectionRef{Device: b, CallID: ref.CallID}); err != nil {
		r.t.Fatal(err)
	}
	r.Want(plugins.EventEstablished, a, plugins.StateConnected)
	r.Want(plugins.EventEstablished, b, plugins.StateConnected)
	return ref
}
