// Package avaya is Switchboard's CTI driver for Avaya Aura AE Services
// (AES) over the DMCC XML interface: ECMA-323 (edition 3) CSTA XML with
// Avaya's private extensions, on TCP 4721 or TLS 4722 with the 8-byte CSTA
// header (cti-protocols.md §2, §3.1), spoken through drivers/csta and
// translated to the one CTI model of the plugins package. It runs as its
// own process (`switchboard driver avaya`, see [New] and sdk.Serve).
//
// The link: dial → StartApplicationSession (SessionLoginInfo with user,
// password and sessionCleanupDelay) → per device GetDeviceId (extension +
// switch name → device ID), MonitorStart, SnapshotDevice (+
// GetDoNotDisturb, GetForwarding) → events; ResetApplicationSessionTimer at
// the keepalive interval (at most half the granted duration). On loss it
// emits link_down, forgets the calls it knew, reconnects with backoff and
// first tries to resume the old session by its sessionID (monitors survive
// on AES); if AES refuses, it starts a new session, its session-level
// monitor, and moves the old monitors with TransferMonitorObjects, or
// stops the old session and monitors every device again;
// then it takes fresh snapshots and emits link_up.
package avaya

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/cstamodel"
	"github.com/switchboard-gw/switchboard/drivers/driverconf"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Version is the driver's version, declared in its capabilities.
const Version = "0.1.0"

// ErrMonitorLimit: AES or CM has no licence left for another monitored
// device (CSTAErrorCode overallMonitorLimitExceeded; one TSAPI Basic
// licence per device).
var ErrMonitorLimit = errors.New("avaya: monitor licence limit exceeded")

// Driver is the AE Services DMCC driver. Create it with [New].
type Driver struct {
	ev    *sdk.Events
	stats Stats
	q     *pbxlink.Queue[item]
	rs    *pbxlink.Resnaps      // re-snapshots in flight (resnap.go)
	cc    cstamodel.CallControl // the call control services, over d.call

	cfg    Config
	tr     *cstamodel.Translator // maps call events (translator); set by Start
	roots  *x509.CertPool        // from cfg.TLSCAFile; nil = system roots
	cancel context.CancelFunc
	runCtx context.Context // ends when the driver closes
	wg     sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond // signalled when a MonitorStart finishes
	started  bool
	client   *csta.Client // nil while the link is down
	sess     session      // the current (or, while down, the last) session
	gen      uint64       // link generation; events of older links are dropped
	link     pbxlink.State
	inflight int                 // MonitorStart requests in flight
	monitors map[string]*monitor // extension → monitor
	byXref   map[string]*monitor // monitorCrossRefID of the current session → monitor
	stopped  map[string]bool     // monitorCrossRefIDs of the current session stopped (or being stopped) by the driver
	nextMon  int
	devs     map[string]*devState // extension → what the driver knows
	devIDs   map[string]string    // extension → GetDeviceId answer, for the session
	tpIDs    map[string]string    // dial string → GetThirdPartyDeviceId answer, for the session
	stale    []string             // xrefs of monitors stopped while the link was down
}

// monitor is a device the host asked to monitor. id is stable for the
// driver process; xref is AES's monitorCrossRefID in the current session.
type monitor struct {
	device string // extension
	id     string
	xref   string
}

// devState is a monitored device's calls and features.
type devState struct {
	*cstamodel.Device
	agent plugins.AgentState
}

// session is what StartApplicationSession granted.
type session struct {
	id       string
	version  string
	duration time.Duration
}

// New returns an unstarted driver; the host's Start call configures and
// connects it.
func New() *Driver {
	d := &Driver{ev: sdk.NewEvents(0), monitors: map[string]*monitor{},
		byXref: map[string]*monitor{}, stopped: map[string]bool{}, devs: map[string]*devState{},
		devIDs: map[string]string{}, tpIDs: map[string]string{}}
	d.q = d.newQueue()
	d.rs = pbxlink.NewResnaps()
	d.cond = sync.NewCond(&d.mu)
	d.cc = cstamodel.CallControl{Send: d.call, Conn: d.conn, Ref: ref}
	d.tr = translator(nil)
	return d
}

// Describe implements sdk.Describer.
func (d *Driver) Describe() (vendor, version string) { return "Avaya Aura AE Services (DMCC)", Version }

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

// SessionID returns the current application session ID, "" while the link
// is down.
func (d *Driver) SessionID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		return ""
	}
	return d.sess.id
}

// ProtocolVersion returns the protocol version AES granted, "" while the
// link is down.
func (d *Driver) ProtocolVersion() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		return ""
	}
	return d.sess.version
}

// Start implements sdk.Driver: it parses the config and connects. A
// refused login on the first attempt is returned (the config is wrong);
// an AES that can't be reached is retried in the background with link_down
// emitted, so the driver starts and monitors wait for the link.
func (d *Driver) Start(ctx context.Context, req plugins.StartRequest) error {
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return fmt.Errorf("%w: %w", plugins.ErrInvalidArgument, err)
	}
	roots, err := driverconf.LoadCAFile("avaya config", cfg.TLSCAFile)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return fmt.Errorf("avaya: %w: already started", plugins.ErrFailedPrecondition)
	}
	d.roots = roots
	d.started, d.cfg = true, cfg
	d.tr = translator(cstamodel.Names(cfg.Directory))
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel, d.runCtx = cancel, runCtx
	d.mu.Unlock()

	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.process(runCtx) }()
	first := make(chan error, 1)
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.run(runCtx, first) }()
	// Wait for the first attempt, but answer the host before its deadline:
	// a slow AES is the link's problem, not a failed start.
	if err := pbxlink.WaitFirst(ctx, first, time.Duration(cfg.RequestTimeout)); errors.Is(err, csta.ErrSessionRefused) {
		_ = d.Close()
		return fmt.Errorf("avaya: login refused by %s: %w: %w", cfg.Address, plugins.ErrInvalidArgument, err)
	}
	return nil
}

// Close implements sdk.Closer: it ends the session (StopApplicationSession,
// so AES frees it at once instead of keeping it for the cleanup delay) and
// stops the driver.
func (d *Driver) Close() error {
	d.mu.Lock()
	cancel, c, sid := d.cancel, d.client, d.sess.id
	d.mu.Unlock()
	if c != nil && sid != "" {
		ctx, done := context.WithTimeout(context.Background(), time.Second)
		_, _ = c.Call(ctx, &csta.StopApplicationSession{SessionID: sid,
			SessionEndReason: csta.SessionEndReason{DefinedEndReason: csta.EndReasonNormal}})
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
			c, err := d.connect(ctx)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { return d.serve(ctx, c) }, nil
		},
		Down:  d.down,
		Retry: func() { d.stats.reconnects.Add(1) },
	}.Run(ctx, first)
}

// dial opens the link's connection, TLS when configured.
func (d *Driver) dial(ctx context.Context) (net.Conn, error) {
	var t *pbxlink.TLS
	if d.cfg.TLS {
		t = &pbxlink.TLS{ServerName: d.cfg.TLSServerName, Roots: d.roots, InsecureSkipVerify: d.cfg.TLSInsecureSkipVerify}
	}
	return pbxlink.Dial(ctx, d.cfg.Address, time.Duration(d.cfg.RequestTimeout), t)
}

// connect dials, starts (or resumes) the session and restores the
// monitors.
func (d *Driver) connect(ctx context.Context) (*csta.Client, error) {
	conn, err := d.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", d.cfg.Address, err)
	}
	d.mu.Lock()
	d.gen++
	gen := d.gen
	prev := d.sess.id
	d.mu.Unlock()
	c := csta.NewClient(conn, csta.ClientConfig{
		Namespace:   csta.Ed3.Namespace(),
		CallTimeout: time.Duration(d.cfg.RequestTimeout),
		Decoder:     dmcc.NewDecoder(),
		OnEvent:     func(m csta.Message) { d.q.Push(item{gen: gen, msg: m}) },
		OnRequest:   func(_ context.Context, req csta.Message) csta.Message { return d.onRequest(gen, req) },
		OnError:     func(err error) { d.stats.dropped.Add(1); d.late(gen, err) },
	})
	sess, err := d.startSession(ctx, c, prev)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	if strings.HasPrefix(sess.version, csta.NamespacePrefix) {
		// DMCC XML Programmer's Guide (and f-me/dmcc): CSTA requests are
		// written in the namespace of the negotiated protocol version.
		c.SetNamespace(sess.version)
	}
	resumed := prev != "" && sess.id == prev
	kept := resumed
	if !resumed && prev != "" && d.cfg.cleanupDelay() > 0 {
		// §3.1: the old session may still be alive at AES; move its
		// monitors (and device IDs) to the new one. f-me/dmcc first
		// starts the session-level monitor that enables
		// TransferMonitorObjects; refused, the transfer is tried anyway.
		if _, err := c.Call(ctx, dmcc.SessionMonitorStart()); err != nil && !isRefusal(err) {
			_ = c.Close()
			return nil, fmt.Errorf("session monitor start: %w", err)
		}
		_, err := c.Call(ctx, &dmcc.TransferMonitorObjects{FromSessionID: prev, ToSessionID: sess.id})
		kept = err == nil
		if err != nil && !isRefusal(err) {
			_ = c.Close()
			return nil, fmt.Errorf("transfer monitor objects: %w", err)
		}
		if !kept {
			// The old session is abandoned: stop it (ECMA-354, by its
			// sessionID) so its monitors and licences are freed now, not
			// when AES's timer or cleanup delay ends it. AES refusing
			// (the session is already gone) is fine.
			_, err := c.Call(ctx, &csta.StopApplicationSession{SessionID: prev,
				SessionEndReason: csta.SessionEndReason{DefinedEndReason: csta.EndReasonNormal}})
			if err != nil && !isRefusal(err) && !errors.Is(err, csta.ErrSessionRefused) {
				_ = c.Close()
				return nil, fmt.Errorf("stop abandoned session: %w", err)
			}
			if err == nil {
				d.stats.abandoned.Add(1)
			}
		}
	}
	if resumed {
		d.stats.resumes.Add(1)
	} else if kept {
		d.stats.transfers.Add(1)
	}
	d.mu.Lock()
	d.client, d.sess = c, sess
	stale := d.stale
	d.stale = nil
	var fresh, again []string
	if !kept {
		d.byXref, d.stopped = map[string]*monitor{}, map[string]bool{}
		d.devIDs = map[string]string{}
		d.tpIDs = map[string]string{}
	}
	for dev, m := range d.monitors {
		if !kept || m.xref == "" {
			m.xref = ""
			fresh = append(fresh, dev)
		} else {
			again = append(again, dev)
		}
	}
	d.mu.Unlock()
	if kept {
		for _, x := range stale {
			_, _ = c.Call(ctx, &csta.MonitorStop{MonitorCrossRefID: x}) // best effort
		}
	}
	if err := d.restore(ctx, c, fresh, again); err != nil {
		_ = c.Close()
		return nil, err
	}
	d.q.Push(item{gen: gen, linkUp: true})
	return c, nil
}

// restoreParallelism is how many devices are re-monitored at once after a
// reconnect.
const restoreParallelism = 32

// restore monitors fresh devices again on a new session and takes new
// snapshots of the again devices, whose monitors survived (resumed or
// transferred session), restoreParallelism at a time. A device AES refuses
// is dropped (monitor_ended); a link failure is returned.
func (d *Driver) restore(ctx context.Context, c *csta.Client, fresh, again []string) error {
	jobs := make([]func() error, 0, len(fresh)+len(again))
	for _, dev := range fresh {
		jobs = append(jobs, func() error { return linkFailure(d.startMonitor(ctx, c, dev, true)) })
	}
	for _, dev := range again {
		jobs = append(jobs, func() error { return linkFailure(d.resnapshot(ctx, c, dev)) })
	}
	return pbxlink.Parallel(restoreParallelism, jobs)
}

// startSession sends StartApplicationSession, first asking to resume prev
// when there is one and resumption is on. A refused resume falls back to a
// new session; a refused new session is the error.
func (d *Driver) startSession(ctx context.Context, c *csta.Client, prev string) (session, error) {
	if prev != "" && d.cfg.cleanupDelay() > 0 {
		s, err := d.startSessionOnce(ctx, c, prev)
		if err == nil || !errors.Is(err, csta.ErrSessionRefused) {
			return s, err
		}
	}
	return d.startSessionOnce(ctx, c, "")
}

func (d *Driver) startSessionOnce(ctx context.Context, c *csta.Client, resume string) (session, error) {
	li, err := csta.NewRawXML(dmcc.SessionLoginInfo{UserName: d.cfg.User, Password: d.cfg.Password,
		SessionCleanupDelay: d.cfg.cleanupDelay(), SessionID: resume})
	if err != nil {
		return session{}, err
	}
	req := &csta.StartApplicationSession{
		ApplicationInfo:           csta.ApplicationInfo{ApplicationID: d.cfg.ApplicationID, ApplicationSpecificInfo: li},
		RequestedProtocolVersions: csta.ProtocolVersions{ProtocolVersion: d.cfg.versions},
		RequestedSessionDuration:  int(time.Duration(d.cfg.SessionDuration) / time.Second),
	}
	resp, err := c.Call(ctx, req)
	if err != nil {
		return session{}, fmt.Errorf("start application session: %w", err)
	}
	pos := resp.(*csta.StartApplicationSessionPosResponse)
	dur := time.Duration(pos.ActualSessionDuration) * time.Second
	if dur <= 0 {
		dur = time.Duration(d.cfg.SessionDuration)
	}
	return session{id: pos.SessionID, version: pos.ActualProtocolVersion, duration: dur}, nil
}

// serve keeps the session alive until the link ends (§2.3: reset at no
// more than half the granted duration; see [Config.keepaliveInterval]). A
// reset with no answer within RequestTimeout drops the link: that is how a
// link that stopped answering is found.
func (d *Driver) serve(ctx context.Context, c *csta.Client) error {
	d.mu.Lock()
	sess := d.sess
	d.mu.Unlock()
	t := time.NewTicker(d.cfg.keepaliveInterval(sess.duration))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = c.Close()
			return ctx.Err()
		case <-c.Done():
			return c.Err()
		case <-t.C:
			resp, err := c.Call(ctx, &csta.ResetApplicationSessionTimer{SessionID: sess.id,
				RequestedSessionDuration: int(time.Duration(d.cfg.SessionDuration) / time.Second)})
			if err != nil && ctx.Err() == nil {
				_ = c.Close()
				if errors.Is(err, csta.ErrSessionRefused) {
					// The session is gone at AES: do not try to resume it.
					d.mu.Lock()
					d.sess.id = ""
					d.mu.Unlock()
				}
				return fmt.Errorf("reset session timer: %w", err)
			}
			if err == nil {
				d.stats.resets.Add(1)
				if p, ok := resp.(*csta.ResetApplicationSessionTimerPosResponse); ok && p.ActualSessionDuration > 0 {
					if nd := time.Duration(p.ActualSessionDuration) * time.Second; nd != sess.duration {
						sess.duration = nd
						t.Reset(d.cfg.keepaliveInterval(nd))
					}
				}
			}
		}
	}
}

// down forgets the link; the processor emits link_down in event order.
// The session ID is kept so the next connect can resume it.
func (d *Driver) down(err error) {
	d.mu.Lock()
	c := d.client
	d.client = nil
	gen := d.gen
	d.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	reason := "link lost"
	if err != nil {
		reason = err.Error()
	}
	d.q.Push(item{gen: gen, linkDown: reason})
}

// current returns the link's client, or ErrUnavailable.
func (d *Driver) current() (*csta.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		return nil, fmt.Errorf("avaya: AES link is down: %w", plugins.ErrUnavailable)
	}
	return d.client, nil
}

// MonitorStart implements sdk.Driver. device is a station extension. With
// the link up AES is asked at once (GetDeviceId, MonitorStart), so its
// refusal is the caller's error; with the link down the device is
// remembered and monitored when the link comes back.
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
	m = &monitor{device: device, id: "avaya-" + strconv.Itoa(d.nextMon)}
	d.monitors[device] = m
	c := d.client
	d.mu.Unlock()
	if c == nil {
		return m.id, nil
	}
	if err := d.startMonitor(ctx, c, device, false); err != nil {
		if c.Err() == nil {
			// Not monitored at AES (a refusal, or no answer in time:
			// orphan.go), and the link stands: forget the device, so the
			// host's retry asks again instead of getting back a monitor
			// that does not exist there.
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

// startMonitor resolves the device ID, sends MonitorStart and takes the
// device's snapshot. A refusal drops the device from the monitor list;
// while restoring it is also told to the host as monitor_ended.
func (d *Driver) startMonitor(ctx context.Context, c *csta.Client, device string, restore bool) error {
	d.mu.Lock()
	d.inflight++
	gen := d.gen
	d.mu.Unlock()
	var resp csta.Message
	devID, err := d.deviceID(ctx, c, device)
	if err == nil {
		resp, err = c.Call(ctx, &csta.MonitorStart{MonitorObject: csta.MonitorObject{
			DeviceObject: &csta.DeviceID{Value: devID, TypeOfNumber: "other", MediaClass: "notKnown"}}})
	}
	d.mu.Lock()
	d.inflight--
	d.cond.Broadcast()
	m := d.monitors[device]
	if err == nil && m == nil {
		// MonitorStop came while this was in flight: AES's new monitor
		// is an orphan.
		d.stopOrphanLocked(gen, resp.(*csta.MonitorStartResponse).MonitorCrossRefID)
	}
	if err != nil || m == nil {
		if err != nil && isRefusal(err) && m != nil {
			delete(d.monitors, device)
			if restore {
				d.emit(plugins.Event{Type: plugins.EventMonitorEnded, MonitorID: m.id, Device: device,
					RawCause: err.Error()})
			}
		}
		d.mu.Unlock()
		if err != nil {
			return fmt.Errorf("monitor start %s: %w", device, mapErr(err))
		}
		return nil
	}
	xref := resp.(*csta.MonitorStartResponse).MonitorCrossRefID
	if m.xref != "" && m.xref != xref {
		// Another MonitorStart for the device won the race: this second
		// monitor would double every event (orphan.go).
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
	snap, mwi, err := d.pbxSnapshot(ctx, c, device, devID)
	if err != nil {
		d.resnap(gen, device, 1) // the monitor stands; its calls are asked for again
		return nil
	}
	d.q.Push(item{gen: gen, snap: &snap, mwi: mwi, touched: touched})
	if !restore {
		// The host takes the device's Snapshot right after MonitorStart:
		// it must show AES's calls, not the empty state before the
		// processor applied them (ctibench: after kill -9, 13 of 5,000
		// lamps came back empty).
		applied := make(chan struct{})
		d.q.Do(func() { close(applied) })
		select {
		case <-applied:
		case <-ctx.Done():
		}
	}
	return nil
}

// resnapshot takes a fresh snapshot of a device whose monitor survived a
// reconnect.
func (d *Driver) resnapshot(ctx context.Context, c *csta.Client, device string) error {
	d.mu.Lock()
	gen := d.gen
	var touched uint64
	if s := d.devs[device]; s != nil {
		touched = s.Touched
	}
	d.mu.Unlock()
	devID, err := d.deviceID(ctx, c, device)
	if err != nil {
		d.resnap(gen, device, 1) // asked again until answered (resnap.go)
		return err
	}
	snap, mwi, err := d.pbxSnapshot(ctx, c, device, devID)
	if err != nil {
		if isRefusal(err) {
			return nil
		}
		d.resnap(gen, device, 1)
		return err
	}
	d.q.Push(item{gen: gen, snap: &snap, mwi: mwi, touched: touched})
	return nil
}

// deviceID returns the session's device ID of a station extension, asking
// AES with GetDeviceId the first time (§3.1).
func (d *Driver) deviceID(ctx context.Context, c *csta.Client, ext string) (string, error) {
	d.mu.Lock()
	id, ok := d.devIDs[ext]
	d.mu.Unlock()
	if ok {
		return id, nil
	}
	resp, err := c.Call(ctx, &dmcc.GetDeviceId{SwitchName: d.cfg.SwitchName, Extension: ext, ControllableByOtherSessions: true})
	if err != nil {
		return "", fmt.Errorf("get device id %s: %w", ext, err)
	}
	id = resp.(*dmcc.GetDeviceIdResponse).Device.Value
	if id == "" {
		return "", fmt.Errorf("get device id %s: %w: empty device", ext, csta.ErrUnexpectedResponse)
	}
	d.mu.Lock()
	if d.client == c {
		d.devIDs[ext] = id
	}
	d.mu.Unlock()
	d.stats.deviceIDs.Add(1)
	return id, nil
}

// isRefusal reports whether err is AES refusing (not the link failing).
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
	if m.xref == "" {
		return nil
	}
	if c == nil {
		// The monitor may survive at AES in the session the driver will
		// resume: stop it then.
		d.mu.Lock()
		d.stale = append(d.stale, m.xref)
		d.mu.Unlock()
		return nil
	}
	if _, err := c.Call(ctx, &csta.MonitorStop{MonitorCrossRefID: m.xref}); err != nil {
		return fmt.Errorf("monitor stop %s: %w", device, mapErr(err))
	}
	return nil
}

// Snapshot implements sdk.Driver: the device's state as the driver tracks
// it (AES's snapshot at monitor start plus every event since), with the
// sequence number of the last event reflected.
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
	var agent plugins.AgentState
	if st := d.devs[device]; st != nil {
		dv, agent = st.Device, st.agent
	}
	s := dv.Snapshot(device, d.ev.Seq())
	s.AgentState = agent
	s.Stale = d.link != pbxlink.Up // down, or not up yet in this process
	return s
}

// mapErr turns a CSTA error into the plugins error the host understands,
// keeping the CSTA detail.
func mapErr(err error) error { return cstamodel.MapError(err, ErrMonitorLimit) }
