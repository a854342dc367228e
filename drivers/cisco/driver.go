// Package cisco is Switchboard's CTI driver for Cisco BroadWorks (and
// Webex Calling's Xsi): Xsi-Actions (REST, XML, HTTP Basic over TLS) for
// call control and Xsi-Events (a streamed event channel with heartbeats,
// subscriptions and event acknowledgement) for monitoring, translated to
// the one CTI model of the plugins package (cti-protocols.md §4.1–4.2). It
// runs as its own process (`switchboard driver cisco`, see [New] and
// sdk.Serve).
//
// The link is the event channel: open it (one channel set per process, kept across channels: channelset.go) → one
// subscription per monitored device (event package "Advanced Call") → a
// snapshot per device from GET calls and the DND/forwarding services →
// link_up. A heartbeat goes out every heartbeat_interval, channel and
// subscriptions are refreshed at half their lifetime, every event is
// acknowledged by its eventID. A channel that ends, is terminated, answers
// a heartbeat with 404, streams nothing for heartbeat_timeout, or sends a
// document past max_event_bytes is reopened with backoff: link_down, the
// calls it knew are forgotten, then channel, subscriptions and snapshots
// again and link_up.
package cisco

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Version is the driver's version, declared in its capabilities.
const Version = "0.1.0"

// Driver is the BroadWorks Xsi driver. Create it with [New].
type Driver struct {
	ev    *sdk.Events
	stats Stats
	q     *pbxlink.Queue[item]
	rs    *pbxlink.Resnaps // re-snapshots in flight (resnap.go)

	cfg    Config
	httpc  *http.Client // Xsi-Actions and short Xsi-Events requests
	snapc  *http.Client // snapshot queries (snapparts.go)
	stream *http.Client // the event channel
	runID  string       // makes channel set IDs unique per process
	// cfgUsers is cfg.Users reversed: user ID → device.
	cfgUsers map[string]string
	cancel   context.CancelFunc
	runCtx   context.Context // ends when the driver closes
	wg       sync.WaitGroup

	mu        sync.Mutex
	started   bool
	cur       *link // nil while the channel is down
	gen       uint64
	link      pbxlink.State
	monitors  map[string]*monitor // device → monitor
	byUser    map[string]string   // user ID → monitored device
	nextMon   int
	devs      map[string]*devState
	seen      dedupe
	seqs      map[string]int64      // subscription ID → last sequenceNumber applied
	resyncing map[string]parts      // devices with a resync queued and not started → the parts to read again
	ops       map[string]*pendingOp // xsi call ID → service the driver asked for on it
	wide      wideState             // group or service provider subscriptions (subscribe.go)
	widening  atomic.Bool           // a rewiden runs
	widenGap  parts                 // parts a wide subscription's gap lost, for the next rewiden (under mu)
	snapSem   chan struct{}         // snapshot queries in flight (snapparts.go)
}

// monitor is a device the host asked to monitor. id is stable for the
// driver process; sub is the subscription on the current channel.
type monitor struct {
	device, id, userID string
	sub                string
	svcSubs            map[string]string // service package → its subscription, where the user has the service
}

// New returns an unstarted driver; the host's Start call configures and
// connects it.
func New() *Driver {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	d := &Driver{ev: sdk.NewEvents(0), runID: hex.EncodeToString(b),
		monitors: map[string]*monitor{}, byUser: map[string]string{}, devs: map[string]*devState{},
		seen: newDedupe(8192), seqs: map[string]int64{}, resyncing: map[string]parts{}, ops: map[string]*pendingOp{},
		snapSem: make(chan struct{}, snapshotRequests)}
	d.q = d.newQueue()
	d.rs = pbxlink.NewResnaps()
	return d
}

// Describe implements sdk.Describer.
func (d *Driver) Describe() (vendor, version string) { return "Cisco BroadWorks Xsi", Version }

// Events implements sdk.Driver.
func (d *Driver) Events(ctx context.Context, send func(plugins.Event) error) error {
	return d.ev.Serve(ctx, send)
}

// Stats returns the driver's counters (see metrics.go).
func (d *Driver) Stats() StatsSnapshot {
	s := d.stats.snapshot()
	s.QueueDrops = d.q.Dropped()
	return s
}

// Start implements sdk.Driver: it parses the config and opens the event
// channel. Credentials refused on the first attempt fail Start (the config
// is wrong); an unreachable server is retried in the background with
// link_down emitted, so the driver starts and monitors wait for the link.
func (d *Driver) Start(ctx context.Context, req plugins.StartRequest) error {
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return fmt.Errorf("%w: %w", plugins.ErrInvalidArgument, err)
	}
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return fmt.Errorf("cisco: %w: already started", plugins.ErrFailedPrecondition)
	}
	d.cfg = cfg
	d.cfgUsers = map[string]string{}
	for dev, uid := range cfg.Users {
		d.cfgUsers[uid] = dev
	}
	d.httpc, d.stream, err = newHTTP(cfg)
	if err != nil {
		d.mu.Unlock()
		return err
	}
	d.snapc = snapClient(d.httpc, time.Duration(cfg.RequestTimeout)) // snapparts.go
	d.started = true
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel, d.runCtx = cancel, runCtx
	d.mu.Unlock()

	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.process(runCtx) }()
	first := make(chan error, 1)
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.run(runCtx, first) }()
	// Wait for the first attempt (opening a channel takes two requests),
	// but answer the host before its deadline.
	if err := pbxlink.WaitFirst(ctx, first, 2*time.Duration(cfg.RequestTimeout)); errors.Is(err, ErrAuth) {
		_ = d.Close()
		return fmt.Errorf("cisco: credentials refused by %s: %w", cfg.BaseURL, err)
	}
	return nil
}

// Close implements sdk.Closer: it closes the channel and stops the driver.
func (d *Driver) Close() error {
	d.mu.Lock()
	cancel := d.cancel
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.wg.Wait()
	if d.httpc != nil {
		d.httpc.CloseIdleConnections()
		d.snapc.CloseIdleConnections()
		d.stream.CloseIdleConnections()
	}
	return nil
}

// run keeps the channel up until ctx ends. The first attempt's result
// goes to first.
func (d *Driver) run(ctx context.Context, first chan<- error) {
	var l *link // the channel of the last attempt, nil if it failed
	pbxlink.Loop{
		Backoff: pbxlink.Backoff{Min: time.Duration(d.cfg.ReconnectMin), Max: time.Duration(d.cfg.ReconnectMax)},
		Connect: func(ctx context.Context) (func(context.Context) error, error) {
			var err error
			l, err = d.connect(ctx)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				err := d.serve(ctx, l)
				l.close(err)
				return err
			}, nil
		},
		Down: func(err error) {
			d.down(err)
			if ctx.Err() != nil && l != nil {
				d.closeChannel(l) // the driver stops: tell the server
			}
		},
		Retry: func() { d.stats.reconnects.Add(1) },
	}.Run(ctx, first)
}

// down forgets the channel; the processor emits link_down in event order.
func (d *Driver) down(err error) {
	d.mu.Lock()
	d.cur = nil
	gen := d.gen
	d.mu.Unlock()
	reason := "event channel lost"
	if err != nil {
		reason = err.Error()
	}
	d.q.Push(item{gen: gen, linkDown: reason})
}

// current returns the channel, or ErrUnavailable.
func (d *Driver) current() (*link, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil {
		return nil, fmt.Errorf("cisco: xsi event channel is down: %w", plugins.ErrUnavailable)
	}
	return d.cur, nil
}

// MonitorStart implements sdk.Driver. With the channel up the user is
// subscribed at once (an unknown user is the caller's error); with it down
// the device is remembered and subscribed when the channel is back.
func (d *Driver) MonitorStart(ctx context.Context, device string) (string, error) {
	if device == "" {
		return "", fmt.Errorf("monitor start: %w: empty device", plugins.ErrInvalidArgument)
	}
	d.mu.Lock()
	if m, ok := d.monitors[device]; ok {
		d.mu.Unlock()
		return m.id, nil
	}
	d.nextMon++
	m := &monitor{device: device, id: "cisco-" + strconv.Itoa(d.nextMon), userID: d.cfg.userID(device)}
	d.monitors[device] = m
	d.byUser[m.userID] = device
	l := d.cur
	d.mu.Unlock()
	if l == nil {
		return m.id, nil
	}
	if err := d.subscribe(ctx, l, m, false); err != nil {
		if !isRefusal(err) && !errors.Is(err, plugins.ErrUnavailable) {
			// The device stays: the next refresh or channel subscribes it.
			err = fmt.Errorf("%w: %w", plugins.ErrUnavailable, err)
		}
		return "", err
	}
	return m.id, nil
}

// MonitorStop implements sdk.Driver: it deletes the subscription.
func (d *Driver) MonitorStop(ctx context.Context, device string) error {
	d.mu.Lock()
	m, ok := d.monitors[device]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("monitor stop %s: %w", device, plugins.ErrNotFound)
	}
	delete(d.monitors, device)
	delete(d.byUser, m.userID)
	delete(d.devs, device)
	sub, svc := m.sub, m.svcSubs
	l := d.cur
	d.mu.Unlock()
	if l == nil {
		return nil
	}
	for _, id := range svc { // best effort
		_ = d.do(ctx, http.MethodDelete, subscriptionPath(id), nil, nil, nil)
	}
	if sub == "" { // none, or the group's (subscribe.go)
		return nil
	}
	if err := d.do(ctx, http.MethodDelete, subscriptionPath(sub), nil, nil, nil); err != nil &&
		!errors.Is(err, plugins.ErrNotFound) {
		return fmt.Errorf("monitor stop %s: %w", device, err)
	}
	return nil
}

// Snapshot implements sdk.Driver: the device's state as the driver tracks
// it (the snapshot taken at subscription plus every event since), with the
// sequence number of the last event reflected.
func (d *Driver) Snapshot(_ context.Context, device string) (plugins.DeviceSnapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.monitors[device]; !ok {
		return plugins.DeviceSnapshot{}, fmt.Errorf("snapshot %s: %w: not monitored", device, plugins.ErrNotFound)
	}
	return d.snapshotLocked(device), nil
}
