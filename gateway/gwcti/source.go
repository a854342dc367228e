// Package gwcti is the gateway as a CTI source (issue 14): its registered
// users are devices and the calls its B2BUA carries are calls, reported
// and controlled through the same driver model (plugins, CSTA-based) the
// PBX drivers use, so that the attendant model and its clients do not
// care whether a lamp is on a PBX or on the gateway.
//
// Devices are usernames ("u1000"; "gateway:u1000" in the API); a call is
// the B2BUA's call ID (b2bua.CallEvent.ID), the same across transfers.
//
// Events reach Options.OnEvent (or SetOnEvent's sink) from one goroutine
// (Start) through a bounded queue: the SIP path never waits for the
// model. An event that does not fit is dropped and its sequence number is
// skipped, so the consumer sees a gap in Event.Seq and re-snapshots, as
// for a driver.
//
// Registration state: a user whose last binding went away (unregistered
// or expired) gets EventLinkDown with Device set to it (cause
// link_failure); its first binding brings EventLinkUp with Device set. A
// link event without Device is the source's own: EventLinkUp once Start
// runs. The attendant model marks such a device's lamp offline until its
// link is up again.
package gwcti

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Name is the source's name: the prefix of its device and call ids.
const Name = "gateway"

// DefaultQueue is Options.Queue's default.
const DefaultQueue = 4096

// Calls is the B2BUA's control side (*b2bua.B2BUA).
type Calls interface {
	Calls() []b2bua.CallInfo
	Hangup(id, reason string) error
	Transfer(id, user, to string, done func(error)) error
	Hold(id, user string) error
	Retrieve(id, user string) error
	SendDigits(id, user, digits string) error
	Deflect(id, user, to string, done func(error)) error
	Dial(user, to string) (string, error)
	Park(id, user string) error
	Unpark(id, parker, user string, done func(error)) error
	Join(heldID, activeID, user string) error
}

// Settings keeps the users' DND and forwarding (the store's settings).
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}

// Options configure a Source.
type Options struct {
	// Calls is the B2BUA (required).
	Calls Calls
	// User resolves a device name (a username or an extension) to the
	// username; ok is false for none (required).
	User func(name string) (username string, ok bool)
	// Settings persists DND and forwarding. Optional: kept in memory.
	Settings Settings
	// DNDStatus is what a caller gets when the user has DND on: 486 or
	// 480 (config gwcti.dnd_status). Default 486.
	DNDStatus int
	// OnEvent takes the events, from one goroutine. Optional: SetOnEvent.
	OnEvent func(plugins.Event)
	// Queue bounds the events waiting for OnEvent. Default DefaultQueue.
	Queue  int
	Logger *slog.Logger
	// Now is the clock of Event.Time. Default time.Now.
	Now func() time.Time
}

// Source is the gateway's users and calls as a CTI source; it satisfies
// attendant.Source.
type Source struct {
	o    Options
	log  *slog.Logger
	sink atomic.Pointer[func(plugins.Event)]
	up   atomic.Bool

	qmu     sync.Mutex // orders Seq with the queue
	seq     uint64
	q       chan plugins.Event
	dropped atomic.Uint64

	mu       sync.Mutex
	calls    map[string]*callState // by call ID (events.go)
	online   map[string]bool       // users with a binding, as last told
	aors     map[string]int        // live bindings per AOR (OnBindings)
	monitors map[string]bool
	feat     map[string]*features // features.go: loaded users
	sst      map[string]bool      // calls with a Transfer of ours under way
	pickups  map[string]bool      // calls with a Pickup of ours under way (park.go)
	slots    map[string]parked    // park slots (park.go)
}

// New makes a Source; Start runs its event delivery.
func New(o Options) (*Source, error) {
	if o.Calls == nil || o.User == nil {
		return nil, errors.New("gwcti: calls and user are required")
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.DNDStatus == 0 {
		o.DNDStatus = 486
	}
	if o.DNDStatus != 486 && o.DNDStatus != 480 {
		return nil, fmt.Errorf("gwcti: dnd status %d: want 486 or 480", o.DNDStatus)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Source{o: o, log: o.Logger, q: make(chan plugins.Event, o.Queue),
		calls: map[string]*callState{}, online: map[string]bool{}, aors: map[string]int{}, monitors: map[string]bool{},
		feat: map[string]*features{}, sst: map[string]bool{},
		pickups: map[string]bool{}, slots: map[string]parked{}}
	if o.OnEvent != nil {
		s.SetOnEvent(o.OnEvent)
	}
	return s, nil
}

// SetOnEvent sets where events go (the attendant model); nil drops them.
func (s *Source) SetOnEvent(f func(plugins.Event)) {
	if f == nil {
		s.sink.Store(nil)
		return
	}
	s.sink.Store(&f)
}

// Start delivers the events until ctx ends; the returned func stops it
// and waits. Up is true in between. It begins with the source's link_up,
// then one device link_up per user registered before.
func (s *Source) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.emit(plugins.Event{Type: plugins.EventLinkUp})
	s.mu.Lock()
	var online []string
	for u, on := range s.online {
		if on {
			online = append(online, u)
		}
	}
	s.up.Store(true) // OnBindings reports changes from now on
	s.mu.Unlock()
	slices.Sort(online)
	for _, u := range online { // the users registered before the start
		s.emit(plugins.Event{Type: plugins.EventLinkUp, Device: u, Cause: plugins.CauseLinkFailure, RawCause: "registered"})
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-s.q:
				if f := s.sink.Load(); f != nil {
					(*f)(ev)
				}
			}
		}
	}()
	return func() {
		s.up.Store(false)
		cancel()
		<-done
	}
}

// Dropped counts the events the queue had no room for.
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

// emit numbers ev and queues it without waiting: a full queue drops it,
// leaving a gap in Seq (the consumer re-snapshots).
func (s *Source) emit(ev plugins.Event) {
	ev.Driver = Name
	ev.Incarnation = 1
	ev.Time = s.o.Now()
	if ev.Device != "" {
		s.mu.Lock()
		if s.monitors[ev.Device] {
			ev.MonitorID = ev.Device
		}
		s.mu.Unlock()
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.seq++
	ev.Seq = s.seq
	select {
	case s.q <- ev:
	default:
		if n := s.dropped.Add(1); n == 1 || n%1000 == 0 {
			s.log.Warn("gateway cti events dropped: queue full", "dropped", n)
		}
	}
}

// lastSeq is the sequence number of the last event emitted.
func (s *Source) lastSeq() uint64 {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return s.seq
}

// Name implements attendant.Source.
func (s *Source) Name() string { return Name }

// Up implements attendant.Source: true while Start runs.
func (s *Source) Up() bool { return s.up.Load() }

// services are the services that work (control.go).
var services = []plugins.Service{
	plugins.ServiceMakeCall,
	plugins.ServiceClear,
	plugins.ServiceHold,
	plugins.ServiceRetrieve,
	plugins.ServiceSingleStepTransfer,
	plugins.ServiceTransfer,
	plugins.ServiceDeflect,
	plugins.ServiceGenerateDigits,
	plugins.ServicePark,
	plugins.ServicePickup,
	plugins.ServiceSetDND,
	plugins.ServiceSetForwarding,
}

// Capabilities implements attendant.Source: exactly the services that work.
func (s *Source) Capabilities(context.Context) (plugins.Capabilities, error) {
	return plugins.Capabilities{Vendor: "switchboard", Version: "gateway", Services: slices.Clone(services)}, nil
}

// device resolves a device name to its username.
func (s *Source) device(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("gateway source: %w: empty device", plugins.ErrInvalidArgument)
	}
	u, ok := s.o.User(name)
	if !ok {
		return "", fmt.Errorf("gateway source: device %q: %w", name, plugins.ErrNotFound)
	}
	return u, nil
}

// Monitors implements attendant.Source.
func (s *Source) Monitors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.monitors))
	for d := range s.monitors {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// MonitorStart implements attendant.Source. Every user's events are
// reported whether monitored or not (the gateway sees all its calls);
// a monitored device's events carry its monitor ID (the username).
func (s *Source) MonitorStart(_ context.Context, device string) (string, error) {
	u, err := s.device(device)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.monitors[u] = true
	s.mu.Unlock()
	return u, nil
}

// MonitorStop implements attendant.Source.
func (s *Source) MonitorStop(_ context.Context, device string) error {
	u, err := s.device(device)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.monitors, u)
	s.mu.Unlock()
	return nil
}
