// Package conformance is the one test suite every CTI driver runs: the same
// scenarios (monitor, call, answer, hold/retrieve, consultation + transfer,
// conference, clear, park/pickup, DND, forwarding) against each vendor's lab
// simulator, checked in the CTI model of package plugins (CSTA, ECMA-269).
//
// A driver package runs it from its own conformance_test.go:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Target{Name: "mitel", New: func(t *testing.T) conformance.Setup {
//			sim := startSimulator(t) // registers t.Cleanup(sim.Close)
//			d := mitel.New()
//			t.Cleanup(func() { _ = d.Close() })
//			return conformance.Setup{Driver: sdk.Adapt(d), Config: cfgJSON(sim), Devices: []string{"201", "202", "203", "204"}}
//		}})
//	}
//
// Every scenario is a subtest with a fresh Setup. A driver passes only what
// it declares: a scenario needing a service the driver's Capabilities do not
// list is skipped (naming the service); a declared service that answers
// "not supported" fails; an undeclared one must answer "not supported".
package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Setup is a fresh PBX simulator plus an unstarted driver wired to it.
type Setup struct {
	// Driver is e.g. sdk.Adapt(mitel.New()), not started yet. If it has a
	// Close() error method the suite calls it at the end of the scenario;
	// otherwise Target.New registers its own cleanup.
	Driver plugins.Driver
	// Config is the JSON config passed in plugins.StartRequest{Driver: name, Config: Config}.
	Config []byte
	// Devices are at least 4 devices (extensions) that exist on the simulator.
	Devices []string
	// ParkSlot is a park slot the simulator accepts ("" = let the PBX choose).
	ParkSlot string
	// Unobtainable is a number the simulator knows no device for
	// (default "9999").
	Unobtainable string
	// DropLink, when set, makes the simulator drop the driver's link
	// (its TCP connections or event channels) the way a PBX restart
	// does; the link_restore scenario needs it.
	DropLink func()
	// Incoming, when set, rings device to with a call from the public
	// network (number); the external_caller scenario needs it.
	Incoming func(number, to string)
	// Names are the names the PBX (or the driver's configured directory)
	// has for devices; the directory scenario holds ListDevices to them,
	// and the call scenarios the parties' names in events and snapshots.
	Names map[string]string
	// ExternalName is the name the PBX gives the external caller of
	// Incoming (the network's calling name); "" when the PBX sends none
	// (ECMA-323 events carry no names). external_caller holds the
	// event's calling name to it.
	ExternalName string
	// Queue is a hunt group (or ACD queue) whose one member is
	// Devices[3], monitorable like a device; the queued scenario needs
	// it. "" when the PBX (or its simulator) has none.
	Queue string
	// External is a number of the public network the PBX routes out over
	// a trunk, whose far end answers; the external_call scenario needs it.
	External string
	// Outage, when set, takes the PBX away (links dropped, new ones
	// refused) until the returned function is called; the link_outage
	// scenario needs it (with Incoming).
	Outage func() (restore func())
	// Skip names scenarios the PBX cannot run, each with why (e.g.
	// "queued": "no hunt groups in the simulator"); they are skipped
	// with that reason, visibly.
	Skip map[string]string
	// SetMessageWaiting, when set, turns a device's message-waiting lamp
	// on or off at the PBX; the message_waiting scenario needs it.
	SetMessageWaiting func(dev string, on bool)
}

// Target is one driver under test.
type Target struct {
	// Name is the driver's name ("mitel", "avaya", "cisco"), passed in
	// StartRequest.Driver.
	Name string
	// New returns a fresh Setup; it registers its own t.Cleanup for the
	// simulator.
	New func(t *testing.T) Setup
}

// Timeouts of the suite: how long an expected event or state may take.
var (
	// EventTimeout bounds the wait for each expected event or snapshot state.
	EventTimeout = 5 * time.Second
	// StartTimeout bounds Start plus the wait for the driver's link_up.
	StartTimeout = 15 * time.Second
	// CallTimeout bounds every service call.
	CallTimeout = 5 * time.Second
)

// scenario is one subtest: the services it needs and its body.
type scenario struct {
	name  string
	needs []plugins.Service
	run   func(r *runner)
	// hook, when set, says why the Setup cannot run the scenario (the
	// hook or number it needs and lacks, or what the PBX cannot do); ""
	// when it can.
	hook func(Setup) string
}

// Run runs every scenario as a subtest. The suite subscribes to
// Driver.Events before calling Start, waits for link_up, reads
// Capabilities and, for each scenario, skips (t.Skip with the missing
// service named) what the driver does not declare, and fails if a declared
// service answers "not supported".
func Run(t *testing.T, tg Target) {
	t.Helper()
	if tg.New == nil {
		t.Fatal("conformance: Target.New is nil")
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r := start(t, tg)
			if why, ok := r.setup.Skip[sc.name]; ok {
				t.Skipf("%s cannot run %s: %s", tg.Name, sc.name, why)
			}
			for _, svc := range sc.needs {
				if !r.caps.Supports(svc) {
					t.Skipf("%s does not declare %s", tg.Name, svc)
				}
			}
			if sc.hook != nil {
				if why := sc.hook(r.setup); why != "" {
					t.Skipf("%s: %s", tg.Name, why)
				}
			}
			sc.run(r)
		})
	}
}

// runner is one started driver with its events recorded.
type runner struct {
	t     *testing.T
	name  string
	d     plugins.Driver
	setup Setup
	caps  plugins.Capabilities
	// A, B, C and D are the first four devices of the setup.
	A, B, C, D string

	mu     sync.Mutex
	events []plugins.Event
	wake   chan struct{}
	cursor map[string]int    // device → index in events after its last match
	ids    map[string]string // device → monitor id
}

func start(t *testing.T, tg Target) *runner {
	t.Helper()
	s := tg.New(t)
	if s.Driver == nil {
		t.Fatal("conformance: Setup.Driver is nil")
	}
	if len(s.Devices) < 4 {
		t.Fatalf("conformance: Setup.Devices has %d devices, want at least 4", len(s.Devices))
	}
	r := &runner{t: t, name: tg.Name, d: s.Driver, setup: s, wake: make(chan struct{}, 1),
		cursor: map[string]int{}, ids: map[string]string{},
		A: s.Devices[0], B: s.Devices[1], C: s.Devices[2], D: s.Devices[3]}

	// Subscribe before Start, so that no event is missed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Driver.Events(ctx, func(ev plugins.Event) error {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
			select {
			case r.wake <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		if c, ok := s.Driver.(interface{ Close() error }); ok {
			_ = c.Close()
		}
		cancel()
		<-done
	})

	sctx, scancel := context.WithTimeout(context.Background(), StartTimeout)
	defer scancel()
	if err := s.Driver.Start(sctx, plugins.StartRequest{Driver: tg.Name, Config: s.Config}); err != nil {
		t.Fatalf("start %s: %v", tg.Name, err)
	}
	if _, ok := r.find(func(ev plugins.Event) bool { return ev.Type == plugins.EventLinkUp }, StartTimeout); !ok {
		t.Fatalf("%s: no link_up within %s of Start; events: %s", tg.Name, StartTimeout, r.dump(""))
	}
	caps, err := s.Driver.Capabilities(sctx)
	if err != nil {
		t.Fatalf("capabilities: %v", err)
	}
	r.caps = caps
	return r
}

// ctx returns a context bounded by CallTimeout, cancelled at the end of
// the test.
func (r *runner) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	r.t.Cleanup(cancel)
	return ctx
}

// check fails the test when err is not nil; a declared service answering
// "not supported" is named as such.
func (r *runner) check(svc plugins.Service, what string, err error) {
	r.t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, plugins.ErrNotSupported) {
		r.t.Fatalf("%s: %s declares %s but answers not supported: %v", what, r.name, svc, err)
	}
	r.t.Fatalf("%s: %v", what, err)
}

// monitor starts monitors on devs and checks their ids.
func (r *runner) monitor(devs ...string) {
	r.t.Helper()
	for _, d := range devs {
		id, err := r.d.MonitorStart(r.ctx(), d)
		if err != nil {
			r.t.Fatalf("monitor start %s: %v", d, err)
		}
		if id == "" {
			r.t.Fatalf("monitor start %s: empty monitor id", d)
		}
		for other, oid := range r.ids {
			if oid == id {
				r.t.Fatalf("monitor start %s: id %q is also %s's", d, id, other)
			}
		}
		r.ids[d] = id
	}
}

// step is one expected event at a device: its type, one of states (any
// if empty), and its call id when callID is set.
type step struct {
	typ    plugins.EventType
	states []plugins.ConnectionState
	callID string
}

func (s step) String() string {
	var b strings.Builder
	b.WriteString(s.typ.String())
	if len(s.states) > 0 {
		fmt.Fprintf(&b, " state %v", s.states)
	}
	if s.callID != "" {
		fmt.Fprintf(&b, " call %s", s.callID)
	}
	return b.String()
}

func (s step) matches(ev plugins.Event) bool {
	return (s.typ == plugins.EventUnspecified || ev.Type == s.typ) &&
		(len(s.states) == 0 || slices.Contains(s.states, ev.State)) &&
		(s.callID == "" || ev.CallID == s.callID)
}

// ev builds a step.
func ev(typ plugins.EventType, states ...plugins.ConnectionState) step {
	return step{typ: typ, states: states}
}

// onCall returns s restricted to call id.
func (s step) onCall(id string) step { s.callID = id; return s }

// expect waits for steps at dev, in order, after the last event matched at
// dev; other events may come between them. Each matched event must carry
// dev's monitor id. It returns the matched events.
func (r *runner) expect(dev string, steps ...step) []plugins.Event {
	r.t.Helper()
	out := make([]plugins.Event, 0, len(steps))
	for _, s := range steps {
		deadline := time.Now().Add(EventTimeout)
		for {
			r.mu.Lock()
			i := r.cursor[dev]
			found := -1
			for ; i < len(r.events); i++ {
				if e := r.events[i]; e.Device == dev && s.matches(e) {
					found = i
					break
				}
			}
			var got plugins.Event
			if found >= 0 {
				got = r.events[found]
				r.cursor[dev] = found + 1
			}
			r.mu.Unlock()
			if found >= 0 {
				if id := r.ids[dev]; id != "" && got.MonitorID != id {
					r.t.Fatalf("%s at %s: monitor id %q, want %q (%s)", got.Type, dev, got.MonitorID, id, describe(got))
				}
				out = append(out, got)
				break
			}
			if !r.wait(deadline) {
				r.t.Fatalf("at %s: no %s within %s; events at %s since the last match:\n%s",
					dev, s, EventTimeout, dev, r.dump(dev))
			}
		}
	}
	return out
}

// find waits up to d for an event matching f anywhere in the record.
func (r *runner) find(f func(plugins.Event) bool, d time.Duration) (plugins.Event, bool) {
	deadline := time.Now().Add(d)
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if f(e) {
				r.mu.Unlock()
				return e, true
			}
		}
		r.mu.Unlock()
		if !r.wait(deadline) {
			return plugins.Event{}, false
		}
	}
}

// mark returns the number of events recorded so far.
func (r *runner) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// findAfter looks for an event matching f among those recorded after
// mark, without waiting.
func (r *runner) findAfter(mark int, f func(plugins.Event) bool) (plugins.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events[mark:] {
		if f(e) {
			return e, true
		}
	}
	return plugins.Event{}, false
}

// wait waits for a new event or a short poll interval; false once the
// deadline passed.
func (r *runner) wait(deadline time.Time) bool {
	left := time.Until(deadline)
	if left <= 0 {
		return false
	}
	select {
	case <-r.wake:
	case <-time.After(min(left, 50*time.Millisecond)):
	}
	return true
}

// dump renders the events at dev (all events when dev is "") after its
// cursor.
func (r *runner) dump(dev string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for i := r.cursor[dev]; i < len(r.events); i++ {
		if e := r.events[i]; dev == "" || e.Device == dev {
			fmt.Fprintf(&b, "  %s\n", describe(e))
		}
	}
	if b.Len() == 0 {
		return "  (none)"
	}
	return b.String()
}

func describe(e plugins.Event) string {
	return fmt.Sprintf("#%d %s dev=%s call=%s state=%s cause=%s(%s) monitor=%s other=%s",
		e.Seq, e.Type, e.Device, e.CallID, e.State, e.Cause, e.RawCause, e.MonitorID, e.Other)
}

// eventually polls Snapshot(dev) until ok accepts it.
func (r *runner) eventually(dev, what string, ok func(plugins.DeviceSnapshot) bool) plugins.DeviceSnapshot {
	r.t.Helper()
	deadline := time.Now().Add(EventTimeout)
	for {
		s, err := r.d.Snapshot(r.ctx(), dev)
		if err != nil {
			r.t.Fatalf("snapshot %s: %v", dev, err)
		}
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("snapshot %s: want %s, got %+v", dev, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// calls returns a predicate: the snapshot has exactly the given states.
func calls(states ...plugins.ConnectionState) func(plugins.DeviceSnapshot) bool {
	return func(s plugins.DeviceSnapshot) bool {
		if len(s.Calls) != len(states) {
			return false
		}
		var got []plugins.ConnectionState
		for _, c := range s.Calls {
			got = append(got, c.State)
		}
		slices.Sort(got)
		want := slices.Clone(states)
		slices.Sort(want)
		return slices.Equal(got, want)
	}
}

// refOf is the connection of ev's device in ev's call.
func refOf(e plugins.Event) plugins.ConnectionRef {
	return plugins.ConnectionRef{Device: e.Device, CallID: e.CallID, ConnectionID: e.ConnectionID}
}
