package attendant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Options configure a [Model].
type Options struct {
	// RingSize is how many messages the event stream keeps for clients
	// that reconnect with since=. Default 10000.
	RingSize int
	// ClientQueue is how many messages may wait for one client; a client
	// that falls further behind is dropped. Default 4096.
	ClientQueue int
	// SnapshotTimeout bounds each snapshot call of a resync. Default 5s.
	SnapshotTimeout time.Duration
	// ParkRecall is how long a parked call waits before it is recalled
	// to the operator who parked it; 0: never. SafeTransfer is how long a
	// blind transfer made through the API may ring unanswered before the
	// call comes back to the operator; 0: off.
	ParkRecall   time.Duration
	SafeTransfer time.Duration
	Logger       *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// ErrUnknownSource is returned for an id whose source is not configured.
var ErrUnknownSource = errors.New("unknown source")

// ErrUnknownDevice is returned for a device the model does not watch.
var ErrUnknownDevice = errors.New("unknown device")

// ErrUnknownCall is returned for a call no watched device is in.
var ErrUnknownCall = errors.New("unknown call")

// Model is the northbound view of every source's devices and calls. It
// is fed by Apply (the sources' events, in order per source) and by the
// snapshots it takes itself after a link comes back or an event gap;
// clients read it through the queries and Subscribe.
type Model struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	sources  map[string]Source
	links    map[string]*linkState
	devices  map[string]*device  // API id →
	nDevices int                 // devices ever added (device.idx)
	preset   map[string]Presence // user presence restored for devices not seen yet
	order    []string            // API ids, sorted
	parked   map[string]*parkedCall
	pending  map[string]*transferWatch // API call id of a safe transfer →

	// The event stream (stream.go).
	seq     uint64
	ring    []entry
	head    int
	subs    map[*Subscription]struct{}
	dropped uint64

	ctx     context.Context
	cancel  context.CancelFunc
	spawnMu sync.Mutex
	closed  bool
	wg      sync.WaitGroup
	resync  map[string]bool // source → a resync is running
	again   map[string]bool // source → resync once more when it ends

	dirLoading map[string]bool // source → its directory is being loaded (directory.go)
}

// linkState is what the model tracks of one source's event flow.
type linkState struct {
	up          bool
	incarnation uint64
	lastSeq     uint64
	gaps        uint64
}

// New returns an empty model; Start it before Apply.
func New(o Options) *Model {
	if o.RingSize <= 0 {
		o.RingSize = 10000
	}
	if o.ClientQueue < 2 {
		o.ClientQueue = 4096
	}
	if o.SnapshotTimeout <= 0 {
		o.SnapshotTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Model{opts: o, log: o.Logger, sources: map[string]Source{}, links: map[string]*linkState{},
		devices: map[string]*device{}, parked: map[string]*parkedCall{}, pending: map[string]*transferWatch{},
		subs: map[*Subscription]struct{}{}, ctx: ctx, cancel: cancel, resync: map[string]bool{}, again: map[string]bool{},
		dirLoading: map[string]bool{}}
}

func (m *Model) now() time.Time { return m.opts.Now() }

// AddSource makes src's devices known: its monitors and devices (such
// as the configured monitors, before the source has started them) are
// the devices to watch, unknown until their first snapshot. Call before
// events flow.
func (m *Model) AddSource(src Source, devices ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := src.Name()
	m.sources[name] = src
	if m.links[name] == nil {
		m.links[name] = &linkState{up: src.Up()}
	}
	for _, dev := range append(src.Monitors(), devices...) {
		m.deviceLocked(name, dev)
	}
}

// Close stops the model's timers and resyncs and waits for them, and
// ends every subscription.
func (m *Model) Close() {
	m.cancel()
	m.spawnMu.Lock()
	m.closed = true
	m.spawnMu.Unlock()
	m.mu.Lock()
	for _, p := range m.parked {
		p.timer.Stop()
	}
	for _, w := range m.pending {
		w.timer.Stop()
	}
	for s := range m.subs {
		m.dropLocked(s, errors.New("gateway shutting down"))
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// spawn runs f tracked by the model's wait group unless the model is
// closed.
func (m *Model) spawn(f func(ctx context.Context)) {
	m.spawnMu.Lock()
	defer m.spawnMu.Unlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go func() { defer m.wg.Done(); f(m.ctx) }()
}

// deviceLocked returns (making it) the device dev of source.
func (m *Model) deviceLocked(source, dev string) *device {
	id := ID(source, dev)
	d := m.devices[id]
	if d == nil {
		d = newDevice(source, dev)
		d.user = m.preset[id]
		m.nDevices++
		d.idx = m.nDevices
		m.devices[id] = d
		i, _ := slices.BinarySearch(m.order, id)
		m.order = slices.Insert(m.order, i, id)
	}
	return d
}

// Source returns the named source.
func (m *Model) Source(name string) (Source, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sources[name]
	return s, ok
}

// Apply feeds one event of a source (ev.Driver names it) into the model
// and publishes what changed. Events of one source must come in order.
func (m *Model) Apply(ev plugins.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	source := ev.Driver
	if source == "" {
		return
	}
	ls := m.links[source]
	if ls == nil {
		ls = &linkState{up: true}
		m.links[source] = ls
	}
	now := m.now()
	if ev.Incarnation != ls.incarnation {
		ls.incarnation, ls.lastSeq = ev.Incarnation, 0
	}
	if ev.Seq != 0 {
		if ls.lastSeq != 0 && ev.Seq > ls.lastSeq+1 {
			ls.gaps++
			m.log.Warn("attendant: events lost, resyncing", "source", source, "from", ls.lastSeq+1, "to", ev.Seq-1)
			m.markStaleLocked(source)
			m.resyncLocked(source)
		}
		ls.lastSeq = max(ls.lastSeq, ev.Seq)
	}
	if (ev.Type == plugins.EventLinkDown || ev.Type == plugins.EventLinkUp) && ev.Device != "" {
		m.applyDeviceLinkLocked(source, ev, now)
		return
	}
	switch ev.Type {
	case plugins.EventLinkDown:
		scope := "pbx"
		if ev.Seq == 0 {
			scope = "process"
		}
		ls.up = false
		m.markStaleLocked(source)
		m.publishLocked(Message{Type: "link_down", Source: source, Scope: scope, Cause: ev.Cause.String(), Detail: ev.RawCause}, "", "")
		return
	case plugins.EventLinkUp:
		if ev.Seq == 0 {
			// The driver process runs again; the host's snapshots
			// follow, then the driver's own link_up.
			m.publishLocked(Message{Type: "link_up", Source: source, Scope: "process", Detail: ev.RawCause}, "", "")
			return
		}
		ls.up = true
		m.publishLocked(Message{Type: "link_up", Source: source, Scope: "pbx", Detail: ev.RawCause}, "", "")
		m.resyncLocked(source)
		m.loadDirectoryLocked(source)
		return
	case plugins.EventSnapshot:
		if ev.Snapshot == nil {
			return
		}
		d := m.deviceLocked(source, ev.Device)
		if sq := ev.Snapshot.Seq; sq != 0 && ev.Incarnation == d.inc && sq < d.seq {
			// Older than events already applied (taken before them,
			// delivered after): take another.
			d.stale = true
			m.again[source] = true
			return
		}
		d.applySnapshot(*ev.Snapshot, now)
		if ev.Snapshot.Seq != 0 || ev.Incarnation != d.inc {
			d.seq, d.inc = ev.Snapshot.Seq, ev.Incarnation
		}
		m.publishDeviceLocked(d, ev, now)
		return
	}
	if ev.Device == "" {
		return
	}
	d := m.deviceLocked(source, ev.Device)
	if ev.Seq != 0 {
		if ev.Incarnation == d.inc && ev.Seq <= d.seq {
			return // already in the device's snapshot
		}
		d.seq, d.inc = ev.Seq, ev.Incarnation
	}
	switch ev.Type {
	case plugins.EventDoNotDisturb:
		d.dnd, d.updated = ev.DND, now
	case plugins.EventForwarding:
		if ev.Forwarding != nil {
			d.setForwarding(*ev.Forwarding)
		}
		d.updated = now
	case plugins.EventAgentState:
		d.agent, d.updated = ev.AgentState, now
	case plugins.EventMessageWaiting:
		d.mwi, d.updated = ev.MessageWaiting, now
	case plugins.EventMonitorEnded:
		d.offline, d.calls, d.updated = true, map[string]*conn{}, now
	default:
		d.applyCall(ev, now)
		if ev.Type == plugins.EventQueued {
			d.applyQueued(ev) // queue.go
		}
		m.learnNamesLocked(source, ev)
		m.watchTransferLocked(source, ev)
		m.watchRecallLocked(source, ev) // features.go
		m.watchParkLocked(source, ev)
	}
	m.publishDeviceLocked(d, ev, now)
}

// applyDeviceLinkLocked takes a link event that names a device: that
// device's own reachability, not the source's (the gateway source says so
// of a user whose last binding went, link_down, and of its first binding
// again, link_up). The lamp goes offline, and back to idle; the source's
// other devices are untouched.
func (m *Model) applyDeviceLinkLocked(source string, ev plugins.Event, now time.Time) {
	d := m.deviceLocked(source, ev.Device)
	if ev.Type == plugins.EventLinkDown {
		d.offline, d.calls = true, map[string]*conn{}
	} else if d.offline || !d.known {
		d.offline, d.known, d.stale = false, true, false
	}
	d.updated = now
	m.publishDeviceLocked(d, ev, now)
}

// setForwarding replaces the setting of f's type.
func (d *device) setForwarding(f plugins.Forwarding) {
	for i := range d.fwd {
		if d.fwd[i].Type == f.Type {
			d.fwd[i] = f
			return
		}
	}
	d.fwd = append(d.fwd, f)
}

func (m *Model) publishDeviceLocked(d *device, ev plugins.Event, now time.Time) {
	v := d.view()
	msg := Message{Type: "device", Time: now, Source: d.source, Device: &v, Event: ev.Type.String(), PBXTime: ev.PBXTime}
	if ev.Cause != plugins.CauseUnspecified {
		msg.Cause = ev.Cause.String()
	}
	if ev.CallID != "" {
		msg.CallID = ID(d.source, ev.CallID)
	}
	m.publishLocked(msg, v.ID, "")
}

// markStaleLocked marks every device of source stale.
func (m *Model) markStaleLocked(source string) {
	for _, d := range m.devices {
		if d.source == source {
			d.stale = true
		}
	}
}

// resyncLocked takes a fresh snapshot of every stale (or never seen)
// device of source, one resync at a time per source, in the background.
func (m *Model) resyncLocked(source string) {
	src := m.sources[source]
	if src == nil || m.resync[source] {
		return
	}
	var devs []string
	for _, id := range m.order {
		if d := m.devices[id]; d.source == source && !d.offline && (d.stale || !d.known) {
			devs = append(devs, d.dev)
		}
	}
	m.resync[source] = true
	m.spawn(func(ctx context.Context) {
		defer func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			delete(m.resync, source)
			if m.again[source] {
				delete(m.again, source)
				m.resyncLocked(source)
			}
		}()
		for _, dev := range devs {
			sctx, cancel := context.WithTimeout(ctx, m.opts.SnapshotTimeout)
			snap, err := src.Snapshot(sctx, dev)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					m.log.Warn("attendant: snapshot failed", "source", source, "device", dev, "error", err)
				}
				continue
			}
			m.Apply(plugins.Event{Type: plugins.EventSnapshot, Driver: source, Device: dev, Snapshot: &snap,
				Incarnation: m.incarnation(source)})
		}
	})
}

func (m *Model) incarnation(source string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ls := m.links[source]; ls != nil {
		return ls.incarnation
	}
	return 0
}

// Resync takes fresh snapshots of every device of source now (the app
// calls it once when a source starts).
func (m *Model) Resync(source string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resyncLocked(source)
	m.loadDirectoryLocked(source)
}

// DeviceQuery selects devices.
type DeviceQuery struct {
	// Source keeps one source's devices.
	Source string
	// Q keeps devices whose id or name contains it (case-insensitive).
	Q string
	// Only, when not nil, keeps the devices it allows.
	Only func(id string) bool
}

// Devices returns the devices q selects, sorted by id.
func (m *Model) Devices(q DeviceQuery) []Device {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Device{}
	lq := strings.ToLower(q.Q)
	for _, id := range m.order {
		d := m.devices[id]
		if q.Source != "" && d.source != q.Source || lq != "" && !strings.Contains(strings.ToLower(id), lq) && !strings.Contains(strings.ToLower(d.name), lq) ||
			q.Only != nil && !q.Only(id) {
			continue
		}
		out = append(out, d.view())
	}
	return out
}

// Device returns one device by API id.
func (m *Model) Device(id string) (Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.devices[id]
	if d == nil {
		return Device{}, fmt.Errorf("device %s: %w", id, ErrUnknownDevice)
	}
	return d.view(), nil
}

// Calls returns the active calls every watched device is in, oldest
// first.
func (m *Model) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.callsLocked("")
}

// Call returns one active call by API id.
func (m *Model) Call(id string) (Call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs := m.callsLocked(id)
	if len(cs) == 0 {
		return Call{}, fmt.Errorf("call %s: %w", id, ErrUnknownCall)
	}
	return cs[0], nil
}

func (m *Model) callsLocked(only string) []Call {
	byID := map[string]*Call{}
	for _, id := range m.order {
		d := m.devices[id]
		for _, c := range d.calls {
			cid := ID(d.source, c.callID)
			if only != "" && cid != only {
				continue
			}
			call := byID[cid]
			if call == nil {
				call = &Call{ID: cid, Source: d.source, Since: c.since}
				byID[cid] = call
			}
			p := Party{Device: id, Name: d.name, ConnectionID: c.connID, State: c.state.String()}
			if c.party != plugins.PartyUnspecified {
				p.PartyType = c.party.String()
			}
			call.Parties = append(call.Parties, p)
			if call.Calling == "" {
				call.Calling, call.CallingName = c.calling, c.callingName
			}
			if call.Called == "" {
				call.Called, call.CalledName = c.called, c.calledName
			}
			setIf(&call.CallingName, c.callingName)
			setIf(&call.CalledName, c.calledName)
			setIf(&call.OriginalCalled, c.originalCalled)
			setIf(&call.ForwardedFrom, c.forwardedFrom)
			setIf(&call.GlobalCallID, c.global)
			if c.since.Before(call.Since) {
				call.Since = c.since
			}
		}
	}
	out := make([]Call, 0, len(byID))
	for _, c := range byID {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Call) int {
		if n := a.Since.Compare(b.Since); n != 0 {
			return n
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Connection returns the connection of device (API id) in call (API id)
// as its source names it.
func (m *Model) Connection(call, dev string) (Source, plugins.ConnectionRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.connectionLocked(call, dev)
}

func (m *Model) connectionLocked(call, dev string) (Source, plugins.ConnectionRef, error) {
	source, callID, ok := SplitID(call)
	if !ok {
		return nil, plugins.ConnectionRef{}, fmt.Errorf("call %s: %w", call, ErrUnknownCall)
	}
	src := m.sources[source]
	if src == nil {
		return nil, plugins.ConnectionRef{}, fmt.Errorf("call %s: %w %q", call, ErrUnknownSource, source)
	}
	d := m.devices[dev]
	if d == nil || d.source != source {
		return nil, plugins.ConnectionRef{}, fmt.Errorf("device %s in call %s: %w", dev, call, ErrUnknownDevice)
	}
	c := d.calls[callID]
	if c == nil {
		return nil, plugins.ConnectionRef{}, fmt.Errorf("device %s is not in call %s: %w", dev, call, ErrUnknownCall)
	}
	return src, plugins.ConnectionRef{Device: d.dev, CallID: callID, ConnectionID: c.connID}, nil
}

// SetUserPresence sets (p valid) or clears (p "") the presence the user
// of device id set, and publishes the device.
func (m *Model) SetUserPresence(id string, p Presence) (Device, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.devices[id]
	if d == nil {
		return Device{}, fmt.Errorf("device %s: %w", id, ErrUnknownDevice)
	}
	d.user, d.updated = p, m.now()
	m.publishDeviceLocked(d, plugins.Event{}, d.updated)
	return d.view(), nil
}

// PresetUserPresence restores the presence users had set (API id →
// presence, from the store at start): devices the model knows get it at
// once, the others when they are added.
func (m *Model) PresetUserPresence(ps map[string]Presence) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.preset = ps
	for id, p := range ps {
		if d := m.devices[id]; d != nil {
			d.user = p
		}
	}
}

// Links reports each source's link as the model last saw it.
func (m *Model) Links() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]bool, len(m.links))
	for n, l := range m.links {
		out[n] = l.up
	}
	return out
}
