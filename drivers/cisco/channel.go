package cisco

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
)

// link is one open Xsi-Events channel (cti-protocols.md §4.2).
type link struct {
	gen       uint64
	setID     string
	channelID string
	expires   time.Duration // what the server granted

	cancel   context.CancelFunc // ends the stream request
	done     chan struct{}      // closed when the reader ends
	err      error              // why, set before done closes
	lastRead atomic.Int64       // unix nanoseconds of the last document read
	acks     chan string        // event IDs to acknowledge
	renew    chan renewal       // subscriptions the server terminated
	resync   chan string        // devices whose events showed a sequenceNumber gap
	ackFails atomic.Int32       // event responses dropped in a row
	sick     chan struct{}      // closed when ackDropsUnhealthy responses in a row were dropped
	sickOnce sync.Once
	wg       sync.WaitGroup // reader and acker

	mu   sync.Mutex
	subs map[string]string // device → subscription ID on this channel
}

// renewal is a subscription the server ended (SubscriptionTerminatedEvent).
type renewal struct{ device, sub string }

// close ends the stream and waits for the reader and acker.
func (l *link) close(error) {
	l.cancel()
	l.wg.Wait()
}

func subscriptionPath(id string) string {
	return xsi.EventsRoot + "/subscription/" + url.PathEscape(id)
}

func channelPath(id string) string { return xsi.EventsRoot + "/channel/" + url.PathEscape(id) }

// connect opens a channel in the driver's channel set (one for the life
// of the process: setID), subscribes the monitored devices that have no
// subscription yet, keeps those the server still has (resume), takes
// every device's snapshot and queues link_up.
func (d *Driver) connect(ctx context.Context) (*link, error) {
	d.mu.Lock()
	d.gen++
	gen := d.gen
	d.mu.Unlock()
	l := &link{gen: gen, setID: d.setID(),
		done: make(chan struct{}), acks: make(chan string, 4096), renew: make(chan renewal, 1024), resync: make(chan string, 1024), sick: make(chan struct{}), subs: map[string]string{}}
	sctx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	// The stream request has no timeout; the open is bounded by a timer.
	openTimer := time.AfterFunc(time.Duration(d.cfg.RequestTimeout), cancel)
	resp, err := d.send(sctx, d.stream, http.MethodPost, xsi.AsyncEventsRoot+"/channel", nil, xsi.Channel{
		ChannelSetID: l.setID, Priority: 1, Weight: 50,
		Expires: int(time.Duration(d.cfg.ChannelExpires) / time.Second), ApplicationID: d.cfg.ApplicationID})
	if err != nil {
		openTimer.Stop()
		cancel()
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		openTimer.Stop()
		se := &StatusError{Method: http.MethodPost, Path: "channel", Status: resp.StatusCode}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		_ = xsi.Unmarshal(b, &se.Info)
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("open channel: %w", se)
	}
	l.lastRead.Store(time.Now().UnixNano())
	sp := xsi.NewSplitter(resp.Body, d.cfg.MaxEventBytes)
	// The first document is the Channel with the channelId.
	doc, err := d.firstDoc(sp)
	openTimer.Stop()
	if err != nil {
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("open channel: %w: %w", ErrChannel, err)
	}
	l.channelID = doc.ChannelID
	l.expires = time.Duration(doc.Expires) * time.Second
	if l.expires <= 0 {
		l.expires = time.Duration(d.cfg.ChannelExpires)
	}
	l.wg.Add(1 + ackers)
	go func() { defer l.wg.Done(); defer resp.Body.Close(); d.read(l, sp) }()
	for range ackers {
		go func() { defer l.wg.Done(); d.acker(sctx, l) }()
	}

	d.mu.Lock()
	d.cur = l
	mons := make([]*monitor, 0, len(d.monitors))
	for _, m := range d.monitors {
		mons = append(mons, m) // their subscriptions are the set's, not the lost channel's
	}
	d.mu.Unlock()
	err = d.subscribeWide(ctx, l) // subscribe.go
	if err == nil {
		err = d.restore(ctx, l, mons)
	}
	if err != nil {
		d.mu.Lock()
		d.cur = nil
		d.mu.Unlock()
		l.close(err)
		return nil, err
	}
	d.q.Push(item{gen: gen, linkUp: true})
	d.stats.channels.Add(1)
	return l, nil
}

// firstDoc reads the channel's first document, which must be a Channel
// with a channelId.
func (d *Driver) firstDoc(sp *xsi.Splitter) (*xsi.Channel, error) {
	for range 8 {
		b, err := sp.Next()
		if errors.Is(err, xsi.ErrGarbage) {
			d.stats.malformed.Add(1)
			continue
		}
		if err != nil {
			return nil, err
		}
		doc, err := xsi.Decode(b)
		if err != nil {
			d.stats.malformed.Add(1)
			continue
		}
		if doc.Channel == nil || doc.Channel.ChannelID == "" {
			return nil, errors.New("first document is not a Channel with a channelId")
		}
		return doc.Channel, nil
	}
	return nil, errors.New("no Channel document")
}

// restoreParallelism is how many devices are subscribed at once after a
// reconnect.
const restoreParallelism = 16

// restore brings mons to a new channel: a device with a subscription the
// server still holds keeps it (resume); the others are subscribed. A
// device the server refuses is dropped (monitor_ended); a channel failure
// is returned.
func (d *Driver) restore(ctx context.Context, l *link, mons []*monitor) error {
	jobs := make([]func() error, 0, len(mons))
	for _, m := range mons {
		jobs = append(jobs, func() error {
			if err := d.resume(ctx, l, m); err != nil && !isRefusal(err) {
				return err
			}
			return nil
		})
	}
	return pbxlink.Parallel(restoreParallelism, jobs)
}

// isRefusal reports whether err is the server refusing a device (no such
// user, or not allowed to see it), not the channel or network failing: a
// 400 to a subscription ("no channel in the channel set") is the channel's
// problem.
func isRefusal(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusForbidden)
}

// subscribe adds the device's subscription on l and takes its snapshot. A
// refusal drops the device; while restoring it is told to the host as
// monitor_ended.
func (d *Driver) subscribe(ctx context.Context, l *link, m *monitor, restoring bool) error {
	d.mu.Lock()
	gen := d.gen
	var touched uint64
	if s := d.devs[m.device]; s != nil {
		touched = s.touched
	}
	d.mu.Unlock()
	d.mu.Lock()
	wide := d.covered(d.cfg.EventPackage)
	d.mu.Unlock()
	if wide {
		return d.wideMember(ctx, l, m, restoring, gen, touched)
	}
	var resp xsi.Subscription
	err := d.do(ctx, http.MethodPost, xsi.EventsRoot+"/user/"+url.PathEscape(m.userID), nil, xsi.Subscription{
		Event: d.cfg.EventPackage, Expires: int(time.Duration(d.cfg.SubscriptionExpires) / time.Second),
		ChannelSetID: l.setID, ApplicationID: d.cfg.ApplicationID}, &resp)
	if err != nil {
		if isRefusal(err) {
			d.mu.Lock()
			if d.monitors[m.device] == m {
				delete(d.monitors, m.device)
				delete(d.byUser, m.userID)
				if restoring {
					d.ev.Emit(plugins.Event{Type: plugins.EventMonitorEnded, MonitorID: m.id, Device: m.device,
						RawCause: err.Error()})
				}
			}
			d.mu.Unlock()
		}
		return fmt.Errorf("monitor start %s: %w", m.device, err)
	}
	d.mu.Lock()
	m.sub = resp.SubscriptionID
	d.mu.Unlock()
	l.mu.Lock()
	l.subs[m.device] = resp.SubscriptionID
	l.mu.Unlock()
	d.stats.subscriptions.Add(1)
	d.subscribeServices(ctx, l, m)
	snap, halves, err := d.pbxSnapshot(ctx, m)
	if err != nil {
		d.resnap(gen, m.device, 1) // the subscription stands; the calls are asked again (resnap.go)
		return nil
	}
	d.pushSnapshot(ctx, item{gen: gen, snap: &snap, halves: halves, touched: touched}, !restoring)
	return nil
}

// servicePackages are the event packages subscribed per device besides
// the call package: the ACD state ("Call Center Agent") and the service
// settings a lamp shows (DND, call forwarding), which BroadWorks sends in
// packages of their own (XSISubscription.xsd EventPackage;
// XSIDoNotDisturbEvents.xsd, XSICallForwardingEvents.xsd), not in
// Advanced Call.
var servicePackages = []string{xsi.PackageCallCenterAgent, xsi.PackageDoNotDisturb,
	xsi.PackageCallForwardingAlways, xsi.PackageCallForwardingBusy, xsi.PackageCallForwardingNoAnswer}

// subscribeServices adds the device's service package subscriptions on l.
// Best effort: a user without the service (not a call center agent, no
// DND assigned) is refused that package and has no such events.
func (d *Driver) subscribeServices(ctx context.Context, l *link, m *monitor) {
	d.mu.Lock()
	old := m.svcSubs
	m.svcSubs = nil
	d.mu.Unlock()
	for _, id := range old {
		_ = d.do(ctx, http.MethodDelete, subscriptionPath(id), nil, nil, nil)
	}
	// One after the other: the devices already run restoreParallelism at
	// a time, as many as the HTTP client keeps connections for (more at
	// once would open and close TLS connections).
	for _, pkg := range d.servicePackages() {
		d.mu.Lock()
		wide := d.covered(pkg)
		d.mu.Unlock()
		if !wide {
			d.subscribeService(ctx, l, m, pkg)
		}
	}
}

func (d *Driver) subscribeService(ctx context.Context, l *link, m *monitor, pkg string) {
	var resp xsi.Subscription
	if d.do(ctx, http.MethodPost, xsi.EventsRoot+"/user/"+url.PathEscape(m.userID), nil, xsi.Subscription{
		Event: pkg, Expires: int(time.Duration(d.cfg.SubscriptionExpires) / time.Second),
		ChannelSetID: l.setID, ApplicationID: d.cfg.ApplicationID}, &resp) != nil {
		return
	}
	d.mu.Lock()
	if m.svcSubs == nil {
		m.svcSubs = map[string]string{}
	}
	m.svcSubs[pkg] = resp.SubscriptionID
	d.mu.Unlock()
	l.mu.Lock()
	l.subs[m.device+"\x00"+pkg] = resp.SubscriptionID
	l.mu.Unlock()
	d.stats.subscriptions.Add(1)
}

// read splits the channel into documents, acknowledges events and queues
// them, until the stream ends or can no longer be trusted.
func (d *Driver) read(l *link, sp *xsi.Splitter) {
	defer close(l.done)
	for {
		b, err := sp.Next()
		if errors.Is(err, xsi.ErrGarbage) {
			d.stats.malformed.Add(1)
			continue
		}
		if err != nil {
			if errors.Is(err, xsi.ErrTooLarge) {
				d.stats.malformed.Add(1)
			}
			l.err = fmt.Errorf("%w: %w", ErrChannel, err)
			return
		}
		doc, err := xsi.Decode(b)
		if err != nil {
			d.stats.malformed.Add(1)
			continue
		}
		// Liveness is whole documents, not bytes: a server trickling a
		// document that never ends is as dead as a silent one.
		l.lastRead.Store(time.Now().UnixNano())
		switch {
		case doc.HeartBeat:
			d.stats.heartbeatsSeen.Add(1)
		case doc.Event != nil:
			ev := doc.Event
			if ev.Type == xsi.TypeChannelTerminatedEvent { // never acknowledged (§4.2)
				l.err = fmt.Errorf("%w: channel terminated by the server: %s", ErrChannel, ev.Reason)
				return
			}
			if ev.EventID != "" {
				select {
				case l.acks <- ev.EventID:
				default: // the server sends it again
					d.ackDropped(l)
				}
			}
			d.q.Push(item{gen: l.gen, ev: ev})
		}
	}
}

// ackers is how many event responses are in flight at once: a burst
// (every CallSubscriptionEvent of a restore) must be answered before the
// server sends the events again.
const ackers = 8

// acker acknowledges events by eventID (§4.2 step 4).
func (d *Driver) acker(ctx context.Context, l *link) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-l.acks:
			err := d.do(ctx, http.MethodPost, xsi.EventsRoot+"/channel/eventresponse", nil,
				xsi.EventResponse{EventID: id, StatusCode: 200, Reason: "OK"}, nil)
			switch {
			case ctx.Err() != nil:
				return // the channel is closing
			case err != nil:
				d.ackDropped(l)
			default:
				d.stats.acks.Add(1)
				l.ackFails.Store(0)
			}
		}
	}
}

// ackDropsUnhealthy is how many event responses in a row the server may
// fail to take before the channel is given up: its events would all be
// sent again and the server ends such a channel anyway
// (NonResponsiveChannel), later.
const ackDropsUnhealthy = 5

// ackDropped counts an event response the server did not take (refused,
// failed, or never sent because the queue was full); ackDropsUnhealthy
// in a row mark the channel unhealthy, and serve reopens it.
func (d *Driver) ackDropped(l *link) {
	d.stats.ackDrops.Add(1)
	if l.ackFails.Add(1) >= ackDropsUnhealthy {
		l.sickOnce.Do(func() { close(l.sick) })
	}
}

// serve keeps the channel alive: heartbeats, refreshes at half the
// lifetimes, and the watchdog on silence. It returns why the channel ends.
func (d *Driver) serve(ctx context.Context, l *link) error {
	// Heartbeats run on their own goroutine: a slow refresh, resync or
	// renewal here (up to request_timeout per request) must not stop
	// them, or the server and the watchdog would see a silent channel.
	hbCtx, hbCancel := context.WithCancel(ctx)
	hbFail := make(chan error, 1)
	var hbWG sync.WaitGroup
	hbWG.Add(1)
	go func() { defer hbWG.Done(); d.heartbeats(hbCtx, l, hbFail) }()
	defer func() { hbCancel(); hbWG.Wait() }()
	refresh := time.NewTicker(max(min(l.expires, time.Duration(d.cfg.SubscriptionExpires))/2, 100*time.Millisecond))
	defer refresh.Stop()
	timeout := time.Duration(d.cfg.HeartbeatTimeout)
	watch := time.NewTicker(max(timeout/4, 10*time.Millisecond))
	defer watch.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			if l.err == nil {
				return fmt.Errorf("%w: stream ended", ErrChannel)
			}
			return l.err
		case <-watch.C:
			if idle := time.Since(time.Unix(0, l.lastRead.Load())); idle > timeout {
				d.stats.stalls.Add(1)
				return fmt.Errorf("%w: no document streamed for %s (heartbeat_timeout)", ErrChannel, idle.Round(time.Millisecond))
			}
		case <-l.sick:
			d.stats.unhealthy.Add(1)
			return fmt.Errorf("%w: %d event responses in a row not taken by the server", ErrChannel, ackDropsUnhealthy)
		case err := <-hbFail:
			// The stream may be about to say why (ChannelTerminatedEvent).
			select {
			case <-l.done:
				if l.err != nil {
					return l.err
				}
			case <-time.After(100 * time.Millisecond):
			}
			return fmt.Errorf("%w: heartbeat: %w", ErrChannel, err)
		case <-refresh.C:
			if err := d.refresh(ctx, l); err != nil {
				return err
			}
		case r := <-l.renew:
			d.renewSubscription(ctx, l, r)
		case dev := <-l.resync:
			d.resyncDevice(ctx, l, dev)
		}
	}
}

// heartbeats sends `PUT …/channel/{id}/heartbeat` every
// heartbeat_interval until ctx ends. A heartbeat answered 404 means the
// channel is not on that server (§4.2 step 7): it is reported on fail and
// the heartbeats stop.
func (d *Driver) heartbeats(ctx context.Context, l *link, fail chan<- error) {
	t := time.NewTicker(time.Duration(d.cfg.HeartbeatInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := d.do(ctx, http.MethodPut, channelPath(l.channelID)+"/heartbeat", nil, nil, nil)
		if errors.Is(err, plugins.ErrNotFound) {
			fail <- err // buffered, sent once
			return
		}
		if err == nil {
			d.stats.heartbeats.Add(1)
		}
	}
}

// renewSubscription subscribes again after a SubscriptionTerminatedEvent:
// the call subscription with its snapshot (a refusal ends the monitor, as
// in a restore), or the one service package.
func (d *Driver) renewSubscription(ctx context.Context, l *link, r renewal) {
	d.mu.Lock()
	m := d.monitors[r.device]
	var pkg string
	call := m != nil && m.sub == r.sub
	if m != nil && !call {
		for p, id := range m.svcSubs {
			if id == r.sub {
				pkg = p
				delete(m.svcSubs, p)
			}
		}
	}
	d.mu.Unlock()
	d.stats.renewals.Add(1)
	switch {
	case call:
		_ = d.subscribe(ctx, l, m, true)
	case pkg != "":
		d.subscribeService(ctx, l, m, pkg)
	}
}

// resyncDevice reads device's snapshot again after a sequenceNumber gap
// (the parts the gapped subscriptions carry), so a lost event does not
// leave its calls or lamps wrong.
func (d *Driver) resyncDevice(ctx context.Context, l *link, device string) {
	d.mu.Lock()
	p := d.resyncing[device]
	delete(d.resyncing, device) // a gap from now on asks again
	if p == 0 {
		p = partAll
	}
	m := d.monitors[device]
	gen := d.gen
	var touched uint64
	if s := d.devs[device]; s != nil {
		touched = s.touched
	}
	d.mu.Unlock()
	if m == nil || gen != l.gen {
		return
	}
	snap, halves, err := d.pbxSnapshotParts(ctx, m, p)
	if err != nil {
		return // the next gap or channel asks again
	}
	d.stats.resyncs.Add(1)
	d.q.Push(item{gen: gen, snap: &snap, halves: halves, touched: touched, resync: true, parts: p})
}

// refresh renews the channel and every subscription; a subscription the
// server no longer knows is added again.
func (d *Driver) refresh(ctx context.Context, l *link) error {
	err := d.do(ctx, http.MethodPut, channelPath(l.channelID), nil,
		xsi.Channel{Expires: int(time.Duration(d.cfg.ChannelExpires) / time.Second)}, nil)
	if errors.Is(err, plugins.ErrNotFound) {
		return fmt.Errorf("%w: channel update: %w", ErrChannel, err)
	}
	if err == nil {
		d.stats.refreshes.Add(1)
	}
	if err := d.subscribeWide(ctx, l); err != nil {
		return err
	}
	d.mu.Lock()
	mons := make([]*monitor, 0, len(d.monitors))
	for _, m := range d.monitors {
		mons = append(mons, m)
	}
	d.mu.Unlock()
	// Devices in parallel, as in a restore: one device's subscriptions (the
	// call one and up to five service ones) must not hold up the others'
	// nor the next heartbeat for the time of 6 × N round trips.
	exp := xsi.Subscription{Expires: int(time.Duration(d.cfg.SubscriptionExpires) / time.Second)}
	jobs := make([]func() error, 0, len(mons))
	for _, m := range mons {
		jobs = append(jobs, func() error {
			d.mu.Lock()
			sub := m.sub
			svc := maps.Clone(m.svcSubs)
			wide := d.covered(d.cfg.EventPackage)
			d.mu.Unlock()
			// With the call package the group's, only the device's own
			// service subscriptions are refreshed.
			perUser := sub != "" || !wide
			if perUser && (sub == "" || errors.Is(d.do(ctx, http.MethodPut, subscriptionPath(sub), nil, exp, nil), plugins.ErrNotFound)) {
				_ = d.subscribe(ctx, l, m, true)
				return nil
			}
			for _, pkg := range d.servicePackages() {
				if id := svc[pkg]; id != "" && errors.Is(d.do(ctx, http.MethodPut, subscriptionPath(id), nil, exp, nil), plugins.ErrNotFound) {
					d.subscribeService(ctx, l, m, pkg)
				}
			}
			return nil
		})
	}
	return pbxlink.Parallel(restoreParallelism, jobs)
}

// closeChannel deletes the channel at shutdown (best effort), so the
// server drops its subscriptions at once.
func (d *Driver) closeChannel(l *link) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = d.do(ctx, http.MethodDelete, channelPath(l.channelID), nil, nil, nil)
}
