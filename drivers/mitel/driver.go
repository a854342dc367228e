// Package mitel is Switchboard's CTI driver for Mitel MiVoice Office 400:
// ECMA-323 (edition 5) CSTA XML over TCP, spoken through drivers/csta, and
// translated to the one CTI model of the plugins package. It runs as its
// own process (`switchboard driver mitel`, see [New] and sdk.Serve).
//
// The link: dial (TLS optional) → StartApplicationSession → MonitorStart
// per device → SnapshotDevice (+ GetDoNotDisturb, GetForwarding) → events;
// ResetApplicationSessionTimer at half the granted duration. On loss it
// emits link_down, forgets the calls it knew, reconnects with backoff,
// redoes session, monitors and snapshots, and emits link_up.
package mitel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/cstamodel"
	"github.com/switchboard-gw/switchboard/drivers/driverconf"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Version is the driver's version, declared in its capabilities.
const Version = "0.1.0"

// ErrMonitorLimit: the PBX has no "CSTA Sessions" licence left for another
// monitored device (CSTAErrorCode overallMonitorLimitExceeded).
var ErrMonitorLimit = errors.New("mitel: CSTA monitor licence limit exceeded")

// Driver is the MiVoice Office 400 driver. Create it with [New].
type Driver struct {
	ev       *sdk.Events
	stats    Stats
	q        *pbxlink.Queue[item]
	rs       *pbxlink.Resnaps      // re-snapshots in flight (resnap.go)
	cc       cstamodel.CallControl // the call control services, over d.call
	tr       *cstamodel.Translator // set by Start: device IDs per the config
	deferred deferred              // SnapshotDeviceData segments of deferred snapshots

	cfg    Config
	roots  *x509.CertPool // from cfg.TLSCAFile; nil = system roots
	cancel context.CancelFunc
	runCtx context.Context // ends when the driver closes
	wg     sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond // signalled when a MonitorStart finishes
	started  bool
	client   *csta.Client // nil while the link is down
	sessID   string       // the client's application session
	gen      uint64       // link generation; events of older links are dropped
	link     pbxlink.State
	disabled bool                // the PBX said SystemStatus disabled on the current link
	inflight int                 // MonitorStart requests in flight
	monitors map[string]*monitor // device → monitor
	byXref   map[string]*monitor // monitorCrossRefID of the current link → monitor
	stopped  map[string]bool     // monitorCrossRefIDs of the current link stopped (or being stopped) by the driver
	nextMon  int
	devs     map[string]*devState // device → what the driver knows
}

// monitor is a device the host asked to monitor. id is stable for the
// driver process; xref is the PBX's monitorCrossRefID on the current link.
type monitor struct {
	device string
	id     string
	xref   string
}

// devState is a monitored device's calls and features.
type devState struct{ *cstamodel.Device }

// New returns an unstarted driver; the host's Start call configures and
// connects it.
func New() *Driver {
	d := &Driver{ev: sdk.NewEvents(0), monitors: map[string]*monitor{},
		byXref: map[string]*monitor{}, stopped: map[string]bool{}, devs: map[string]*devState{}}
	d.q = d.newQueue()
	d.rs = pbxlink.NewResnaps()
	d.cond = sync.NewCond(&d.mu)
	d.tr = &cstamodel.Translator{PBXTime: pbxTime}
	d.cc = cstamodel.CallControl{Send: d.call, Conn: d.connOf, Ref: d.ref}
	return d
}

// Describe implements sdk.Describer.
func (d *Driver) Describe() (vendor, version string) { return "Mitel MiVoice Office 400", Version }

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

// Start implements sdk.Driver: it parses the config and connects. A
// refused login on the first attempt is returned (the config is wrong);
// a PBX that can't be reached is retried in the background with link_down
// emitted, so the driver starts and monitors wait for the link.
func (d *Driver) Start(ctx context.Context, req plugins.StartRequest) error {
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return fmt.Errorf("%w: %w", plugins.ErrInvalidArgument, err)
	}
	roots, err := driverconf.LoadCAFile("mitel config", cfg.TLSCAFile)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return fmt.Errorf("mitel: %w: already started", plugins.ErrFailedPrecondition)
	}
	d.roots = roots
	d.started, d.cfg = true, cfg
	d.tr = &cstamodel.Translator{PBXTime: pbxTime, DeviceOf: cfg.ids.model, NameOf: cstamodel.Names(cfg.Directory)}
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel, d.runCtx = cancel, runCtx
	d.mu.Unlock()

	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.process(runCtx) }()
	first := make(chan error, 1)
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.run(runCtx, first) }()
	// Wait for the first attempt, but answer the host before its deadline:
	// a slow PBX is the link's problem, not a failed start.
	// A PBX that answers otherwise than the driver's guesses (README,
	// "Guesses") fails Start for good: the host does not retry it.
	if err := cfg.incompatible(pbxlink.WaitFirst(ctx, first, 2*time.Duration(cfg.RequestTimeout))); errors.Is(err, plugins.ErrIncompatible) {
		_ = d.Close()
		if errors.Is(err, csta.ErrSessionRefused) {
			err = fmt.Errorf("%w: %w", err, plugins.ErrInvalidArgument)
		}
		return err
	}
	return nil
}

// Close implements sdk.Closer: it ends the session and stops the driver.
func (d *Driver) Close() error {
	d.mu.Lock()
	cancel, c := d.cancel, d.client
	d.mu.Unlock()
	if c != nil {
		ctx, done := context.WithTimeout(context.Background(), time.Second)
		d.mu.Lock()
		sid := d.sessID
		d.mu.Unlock()
		if sid != "" {
			_, _ = c.Call(ctx, &csta.StopApplicationSession{SessionID: sid,
				SessionEndReason: csta.SessionEndReason{DefinedEndReason: csta.EndReasonNormal}})
		}
		done()
	}
	if cancel != nil {
		cancel()
	}
	d.mu.Lock()
	d.cond.Broadcast()
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// run keeps the link up until ctx ends. The first attempt's result goes to
// first.
func (d *Driver) run(ctx context.Context, first chan<- error) {
	pbxlink.Loop{
		Backoff: pbxlink.Backoff{Min: time.Duration(d.cfg.ReconnectMin), Max: time.Duration(d.cfg.ReconnectMax)},
		Connect: func(ctx context.Context) (func(context.Context) error, error) {
			c, sess, err := d.connect(ctx)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return d.serve(ctx, c, sess) }, nil
		},
		Down:  d.down,
		Retry: func() { d.stats.reconnects.Add(1) },
	}.Run(ctx, first)
}

// session is what StartApplicationSession granted.
type session struct {
	id       string
	duration time.Duration
}

// dial opens the link's connection, TLS when configured.
func (d *Driver) dial(ctx context.Context) (net.Conn, error) {
	var t *pbxlink.TLS
	if d.cfg.TLS {
		t = &pbxlink.TLS{ServerName: d.cfg.TLSServerName, Roots: d.roots, InsecureSkipVerify: d.cfg.TLSInsecureSkipVerify}
	}
	return pbxlink.Dial(ctx, d.cfg.Address, time.Duration(d.cfg.RequestTimeout), t)
}

// connect dials, starts the session and restores the monitors.
func (d *Driver) connect(ctx context.Context) (*csta.Client, session, error) {
	conn, err := d.dial(ctx)
	if err != nil {
		return nil, session{}, fmt.Errorf("%w %s: %w", errDial, d.cfg.Address, err)
	}
	d.mu.Lock()
	d.gen++
	gen := d.gen
	d.mu.Unlock()
	c := csta.NewClient(conn, csta.ClientConfig{
		Namespace:   d.cfg.edition.Namespace(),
		CallTimeout: time.Duration(d.cfg.RequestTimeout),
		OnEvent: func(m csta.Message) {
			if sd, ok := m.(*csta.SnapshotDeviceData); ok {
				d.deferred.deliver(sd)
				return
			}
			d.q.Push(item{gen: gen, msg: m})
		},
		OnRequest: func(ctx context.Context, req csta.Message) csta.Message { return d.onRequest(ctx, gen, req) },
		OnError:   func(err error) { d.stats.dropped.Add(1); d.late(gen, err) },
	})
	sess, err := d.startSession(ctx, c)
	if err != nil {
		_ = c.Close()
		return nil, session{}, err
	}
	d.mu.Lock()
	d.client, d.sessID, d.disabled = c, sess.id, false
	d.byXref, d.stopped = map[string]*monitor{}, map[string]bool{}
	devs := make([]string, 0, len(d.monitors))
	for dev, m := range d.monitors {
		m.xref = ""
		devs = append(devs, dev)
	}
	d.mu.Unlock()
	if err := d.restore(ctx, c, devs); err != nil {
		_ = c.Close()
		return nil, session{}, err
	}
	d.q.Push(item{gen: gen, linkUp: true})
	return c, sess, nil
}

// restoreParallelism is how many devices are re-monitored at once after a
// reconnect.
const restoreParallelism = 32

// restore monitors devs again on a new link, restoreParallelism at a time.
// A device the PBX refuses is dropped (monitor_ended); a link failure is
// returned.
func (d *Driver) restore(ctx context.Context, c *csta.Client, devs []string) error {
	jobs := make([]func() error, 0, len(devs))
	for _, dev := range devs {
		jobs = append(jobs, func() error {
			err := d.startMonitor(ctx, c, dev, true)
			if err == nil || isRefusal(err) {
				return nil
			}
			if c.Err() != nil {
				return err // the link failed
			}
			// One device that did not answer in time does not take the
			// link down: it is told to the host, which retries it.
			d.endMonitor(dev, err)
			return nil
		})
	}
	return pbxlink.Parallel(restoreParallelism, jobs)
}

// startSession starts the ECMA-354 application session, or with session
// none checks that the PBX answers a SystemStatus request without one.
func (d *Driver) startSession(ctx context.Context, c *csta.Client) (session, error) {
	if d.cfg.Session == SessionNone {
		if _, err := c.Call(ctx, &csta.SystemStatus{SystemStatus: csta.SystemStatusNormal}); err != nil {
			return session{}, fmt.Errorf("%w: system status: %w", errSession, noAnswer(err))
		}
		return session{duration: 2 * time.Duration(d.cfg.Keepalive)}, nil
	}
	req := &csta.StartApplicationSession{
		ApplicationInfo:           csta.ApplicationInfo{ApplicationID: d.cfg.ApplicationID},
		RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: []string{d.cfg.edition.Namespace()}},
		RequestedSessionDuration:  int(time.Duration(d.cfg.SessionDuration) / time.Second),
	}
	if d.cfg.User != "" {
		info := loginInfo{UserName: d.cfg.User, Password: d.cfg.Password}
		if d.cfg.LoginCarrier == LoginAvayaSessionLoginInfo {
			info.XMLNS = avayaNS
		}
		li, err := csta.NewRawXML(info)
		if err != nil {
			return session{}, err
		}
		req.ApplicationInfo.ApplicationSpecificInfo = li
	}
	resp, err := c.Call(ctx, req)
	if err != nil {
		return session{}, fmt.Errorf("%w: start application session: %w", errSession, noAnswer(err))
	}
	pos := resp.(*csta.StartApplicationSessionPosResponse)
	dur := time.Duration(pos.ActualSessionDuration) * time.Second
	if dur <= 0 {
		dur = time.Duration(d.cfg.SessionDuration)
	}
	return session{id: pos.SessionID, duration: dur}, nil
}

// loginInfo carries the login in applicationSpecificInfo. MiVO400's
// carrier is not public; this is the ECMA-354 shape Avaya documents
// (SessionLoginInfo/userName/password) without its namespace.
type loginInfo struct {
	XMLName  struct{} `xml:"SessionLoginInfo"`
	XMLNS    string   `xml:"xmlns,attr,omitempty"`
	UserName string   `xml:"userName"`
	Password string   `xml:"password"`
}

// serve keeps the session alive until the link ends.
func (d *Driver) serve(ctx context.Context, c *csta.Client, sess session) error {
	t := time.NewTicker(max(min(sess.duration/2, time.Duration(d.cfg.Keepalive)), 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = c.Close()
			return ctx.Err()
		case <-c.Done():
			return c.Err()
		case <-t.C:
			var req csta.Message = &csta.ResetApplicationSessionTimer{SessionID: sess.id,
				RequestedSessionDuration: int(time.Duration(d.cfg.SessionDuration) / time.Second)}
			if d.cfg.Session == SessionNone {
				req = &csta.SystemStatus{SystemStatus: csta.SystemStatusNormal}
			}
			_, err := c.Call(ctx, req)
			if err != nil && ctx.Err() == nil {
				_ = c.Close()
				return fmt.Errorf("keepalive %s: %w", req.RootName(), err)
			}
		}
	}
}

// down forgets the link; the processor emits link_down in event order.
func (d *Driver) down(err error) {
	d.mu.Lock()
	c := d.client
	d.client = nil
	d.sessID = ""
	gen := d.gen
	d.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	reason := "link lost"
	if err != nil {
		reason = d.cfg.explain(err)
	}
	d.q.Push(item{gen: gen, linkDown: reason})
}

// current returns the link's client, or ErrUnavailable.
func (d *Driver) current() (*csta.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		return nil, fmt.Errorf("mitel: PBX link is down: %w", plugins.ErrUnavailable)
	}
	return d.client, nil
}

// MonitorStart implements sdk.Driver. With the link up the PBX is asked at
// once (its licence limit is an error here); with the link down the
// device is remembered and monitored when the link comes back.
func (d *Driver) MonitorStart(ctx context.Context, device string) (string, error) {
	if device == "" {
		return "", fmt.Errorf("monitor start: %w: empty device", plugins.ErrInvalidArgument)
	}
	d.mu.Lock()
	m, ok := d.monitors[device]
	if ok {
		d.mu.Unlock()
		return m.id, nil
	}
	d.nextMon++
	m = &monitor{device: device, id: "mitel-" + strconv.Itoa(d.nextMon)}
	d.monitors[device] = m
	c := d.client
	d.mu.Unlock()
	if c == nil {
		return m.id, nil
	}
	if err := d.startMonitor(ctx, c, device, false); err != nil {
		if c.Err() == nil {
			// Not monitored at the PBX (a refusal, or no answer in time:
			// orphan.go), and the link stands: forget the device, so the
			// host's retry asks the PBX again instead of getting back a
			// monitor that does not exist there.
			d.mu.Lock()
			if d.monitors[device] == m && m.xref == "" {
				delete(d.monitors, device)
			}
			d.mu.Unlock()
		}
		return "", err
	}
	return m.id, nil
}

// startMonitor sends MonitorStart and takes the device's snapshot. A
// refusal drops the device from the monitor list; while restoring
// (restore) it is also told to the host as monitor_ended.
func (d *Driver) startMonitor(ctx context.Context, c *csta.Client, device string, restore bool) error {
	d.mu.Lock()
	d.inflight++
	gen := d.gen
	d.mu.Unlock()
	resp, err := c.Call(ctx, &csta.MonitorStart{MonitorObject: csta.MonitorObject{
		DeviceObject: &csta.DeviceID{Value: d.cfg.ids.wire(device)}}, MonitorType: "device"})
	d.mu.Lock()
	d.inflight--
	d.cond.Broadcast()
	m := d.monitors[device]
	if err == nil && m == nil {
		// MonitorStop came while this was in flight: the PBX's new
		// monitor is an orphan.
		d.stopOrphanLocked(gen, resp.(*csta.MonitorStartResponse).MonitorCrossRefID)
	}
	if err != nil || m == nil {
		if err != nil && isRefusal(err) {
			if m != nil {
				delete(d.monitors, device)
				if restore {
					d.emit(plugins.Event{Type: plugins.EventMonitorEnded, MonitorID: m.id, Device: device,
						RawCause: err.Error()})
				}
			}
		}
		d.mu.Unlock()
		if err != nil {
			return fmt.Errorf("monitor start %s (sent as %q, device_id_format %q): %w", device,
				d.cfg.ids.wire(device), d.cfg.DeviceIDFormat, mapErr(err))
		}
		return nil
	}
	xref := resp.(*csta.MonitorStartResponse).MonitorCrossRefID
	if m.xref != "" && m.xref != xref {
		// Another MonitorStart for the device (the restore's and the
		// host's retry) won: this second monitor at the PBX would double
		// every event. Stop it (orphan.go).
		d.stopOrphanLocked(gen, xref)
		d.mu.Unlock()
		return nil
	}
	m.xref = xref
	d.byXref[m.xref] = m
	var touched uint64
	if s := d.devs[device]; s != nil {
		touched = s.Touched
	}
	d.mu.Unlock()
	d.stats.monitorStarts.Add(1)
	snap, mwi, err := d.pbxSnapshot(ctx, c, device)
	if err != nil {
		d.resnap(gen, device, 1) // the monitor stands; its calls are asked for again
		return nil
	}
	applied := make(chan struct{})
	d.q.Push(item{gen: gen, snap: &snap, mwi: mwi, touched: touched, applied: applied})
	if !restore {
		// The host takes the device's Snapshot right after MonitorStart:
		// it must show the PBX's calls, not the empty state before the
		// processor applied them.
		select {
		case <-applied:
		case <-ctx.Done():
		}
	}
	return nil
}

// isRefusal reports whether err is the PBX refusing (not the link failing).
func isRefusal(err error) bool {
	return errors.Is(err, csta.ErrCSTA)
}

// linkFailure returns err unless it is a refusal (or nil).
func linkFailure(err error) error {
	if err != nil && !isRefusal(err) {
		return err
	}
	return nil
}

// MonitorStop implements sdk.Driver.
func (d *Driver) MonitorStop(ctx context.Context, device string) error {
	d.mu.Lock()
	m, ok := d.monitors[device]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("monitor stop %s: %w", device, plugins.ErrNotFound)
	}
	delete(d.monitors, device)
	delete(d.byXref, m.xref)
	if m.xref != "" {
		d.stopped[m.xref] = true // its last events are not an orphan's
	}
	delete(d.devs, device)
	c := d.client
	d.mu.Unlock()
	if c == nil || m.xref == "" {
		return nil
	}
	if _, err := c.Call(ctx, &csta.MonitorStop{MonitorCrossRefID: m.xref}); err != nil {
		return fmt.Errorf("monitor stop %s: %w", device, mapErr(err))
	}
	return nil
}

// Snapshot implements sdk.Driver: the device's state as the driver tracks
// it (from the PBX's snapshot at monitor start plus every event since),
// with the sequence number of the last event reflected.
func (d *Driver) Snapshot(_ context.Context, device string) (plugins.DeviceSnapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.monitors[device]; !ok {
		return plugins.DeviceSnapshot{}, fmt.Errorf("snapshot %s: %w: not monitored", device, plugins.ErrNotFound)
	}
	return d.snapshotLocked(device), nil
}

func (d *Driver) snapshotLocked(device string) plugins.DeviceSnapshot {
	var dv *cstamodel.Device
	if st := d.devs[device]; st != nil {
		dv = st.Device
	}
	snap := dv.Snapshot(device, d.ev.Seq())
	snap.Stale = d.link != pbxlink.Up // down, or not up yet in this process
	// The configured directory's category (services_attendant.go).
	snap.Category = d.category(device)
	return snap
}

// mapErr turns a CSTA error into the plugins error the host understands,
// keeping the CSTA detail.
func mapErr(err error) error { return cstamodel.MapError(err, ErrMonitorLimit) }

// noAnswer marks a request the PBX left unanswered until its deadline.
func noAnswer(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", errNoAnswer, err)
	}
	return err
}
