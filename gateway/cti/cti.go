// Package cti runs the gateway's CTI drivers: one plugins.Supervisor per
// configured driver (bundled drivers re-executed from this binary, third-
// party ones from their path with their SHA-256), the configured monitors
// started once and restored by the supervisor after every restart, and one
// consumer per driver that reads its events and keeps a small status for
// the admin API and Prometheus.
//
// It is the gateway side of issue 6. The northbound console API (the
// events and call control consoles use) is a later issue: for now events
// are counted, the link state is tracked, and Options.OnEvent lets a
// consumer in the same process see them.
package cti

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Options configure a [Manager].
type Options struct {
	// Drivers are the configured drivers (config cti.drivers).
	Drivers []config.CTIDriver
	// Logger receives supervision logs and the drivers' own log lines.
	Logger *slog.Logger
	// Command builds the command of a bundled driver (default:
	// plugins.Bundled, this executable run as `driver NAME`). Tests point
	// it at a built binary.
	Command func(bundled string) *exec.Cmd
	// OnEvent, when set, sees every event of every driver, in order per
	// driver, on the driver's consumer goroutine: it must not block long
	// (a slow consumer holds the driver back).
	OnEvent func(plugins.Event)
	// Tune, when set, adjusts each supervisor's config (timeouts, backoff)
	// before it is created.
	Tune func(*plugins.Config)
}

// Manager runs the configured drivers.
type Manager struct {
	opts Options
	host *plugins.Host
	ran  atomic.Bool

	mu      sync.Mutex // guards order, status, running; Update holds upd
	upd     sync.Mutex // one Update at a time (reload.go)
	order   []string
	status  map[string]*driverState
	running bool           // Run has started the drivers
	consume sync.WaitGroup // the consumers of every driver
}

// driverState is what the consumer of one driver tracks.
type driverState struct {
	cfg    config.CTIDriver
	sup    *plugins.Supervisor
	events atomic.Uint64
	link   atomic.Bool // the driver's PBX link, as the driver last reported it

	mu        sync.Mutex
	lastEvent time.Time
	linkSince time.Time
	linkWhy   string
	problem   string // the last warning or error the supervisor logged
	problemAt time.Time
}

// New checks the drivers and returns a manager; [Manager.Run] starts them.
func New(o Options) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Command == nil {
		o.Command = plugins.Bundled
	}
	m := &Manager{opts: o, status: map[string]*driverState{}}
	cfgs := make([]plugins.Config, 0, len(o.Drivers))
	for _, d := range o.Drivers {
		st := &driverState{cfg: d}
		m.status[d.Name] = st
		cfgs = append(cfgs, m.pluginConfig(d, st))
	}
	h, err := plugins.NewHost(cfgs...)
	if err != nil {
		return nil, fmt.Errorf("cti: %w", err)
	}
	m.host = h
	for _, d := range o.Drivers {
		m.status[d.Name].sup, _ = h.Driver(d.Name)
		m.order = append(m.order, d.Name)
	}
	return m, nil
}

// pluginConfig is the supervisor config of driver d, logging through st.
func (m *Manager) pluginConfig(d config.CTIDriver, st *driverState) plugins.Config {
	o := m.opts
	pc := plugins.Config{
		Name:         d.Name,
		Path:         d.Path,
		SHA256:       d.SHA256,
		DriverConfig: []byte(d.Config),
		Logger:       slog.New(&problemHandler{Handler: o.Logger.Handler(), st: st}).With("component", "cti"),
	}
	if len(pc.DriverConfig) == 0 {
		pc.DriverConfig = []byte("{}")
	}
	if d.Path == "" {
		bundled := d.Driver
		pc.Command = func(string) *exec.Cmd { return o.Command(bundled) }
	}
	if o.Tune != nil {
		o.Tune(&pc)
	}
	return pc
}

// Driver returns the supervisor of the named driver, for call control.
func (m *Manager) Driver(name string) (*plugins.Supervisor, bool) { return m.host.Driver(name) }

// Run starts every driver, asks for the configured monitors and consumes
// the events until ctx ends; it returns when every driver process has
// stopped, with the errors of drivers that could not run (a checksum
// mismatch). Run may be called once.
func (m *Manager) Run(ctx context.Context) error {
	if !m.ran.CompareAndSwap(false, true) {
		return errors.New("cti: manager already ran")
	}
	m.upd.Lock() // no Update between listing the drivers and starting them
	m.mu.Lock()
	states := make([]*driverState, 0, len(m.order))
	for _, name := range m.order {
		states = append(states, m.status[name])
	}
	m.running = true
	m.mu.Unlock()
	for _, st := range states {
		m.prepare(ctx, st, st.cfg.Monitor)
	}
	hostDone := make(chan error, 1)
	go func() { hostDone <- m.host.Run(ctx) }()
	m.upd.Unlock()
	err := <-hostDone
	m.consume.Wait() // the supervisors closed their channels
	return err
}

// prepare puts devs on the (not yet started) supervisor's monitor list,
// answering "unavailable" until its first process restores them all, and
// starts the driver's event consumer.
func (m *Manager) prepare(ctx context.Context, st *driverState, devs []string) {
	for _, dev := range devs {
		if _, err := st.sup.MonitorStart(ctx, dev); err != nil && !errors.Is(err, plugins.ErrUnavailable) {
			m.opts.Logger.Warn("cti monitor", "driver", st.cfg.Name, "device", dev, "error", err)
		}
	}
	m.consume.Go(func() { m.consumeEvents(st) })
}

// consume reads one driver's events until its supervisor closes the
// channel.
func (m *Manager) consumeEvents(st *driverState) {
	log := m.opts.Logger.With("component", "cti", "driver", st.cfg.Name)
	for ev := range st.sup.Events() {
		st.events.Add(1)
		switch ev.Type {
		case plugins.EventLinkUp, plugins.EventLinkDown:
			// Seq 0: the host's (driver process); else the driver's
			// (PBX link). The process coming back is not yet the PBX
			// link: that is the driver's own link_up, which follows.
			up := ev.Type == plugins.EventLinkUp && ev.Seq != 0
			if ev.Type == plugins.EventLinkUp && ev.Seq == 0 {
				log.Info("cti driver running", "detail", ev.RawCause)
				break
			}
			st.link.Store(up)
			st.mu.Lock()
			st.linkSince, st.linkWhy = ev.Received, ev.RawCause
			st.mu.Unlock()
			if up {
				log.Info("cti link up")
			} else {
				log.Warn("cti link down", "cause", ev.Cause, "detail", ev.RawCause)
			}
		case plugins.EventMonitorEnded:
			log.Warn("cti monitor ended", "device", ev.Device, "detail", ev.RawCause)
		}
		st.mu.Lock()
		st.lastEvent = ev.Received
		st.mu.Unlock()
		if m.opts.OnEvent != nil {
			m.opts.OnEvent(ev)
		}
	}
}

// Status is one driver's state, as GET /api/v1/cti/drivers shows it.
type Status struct {
	Name string `json:"name"`
	// Driver is the bundled driver's name, or "" for a path.
	Driver string `json:"driver,omitempty"`
	Path   string `json:"path,omitempty"`
	// State is "up" when the driver process runs and reports its PBX
	// link up, else "down".
	State string `json:"state"`
	// Process is "running", "stopped" (starting, restarting) or
	// "refused" (not restarted: a checksum mismatch, or a PBX that answers
	// otherwise than the driver expects; LastProblem says what).
	Process string `json:"process"`
	PID     int    `json:"pid,omitempty"`
	// Link is the PBX link as the driver last reported it: "up" or "down".
	Link string `json:"link"`
	// LinkSince is when the link last changed, LinkDetail the driver's or
	// the host's reason.
	LinkSince    time.Time         `json:"link_since,omitzero"`
	LinkDetail   string            `json:"link_detail,omitempty"`
	Vendor       string            `json:"vendor,omitempty"`
	Version      string            `json:"version,omitempty"`
	Capabilities []plugins.Service `json:"capabilities"`
	MaxMonitors  int               `json:"max_monitors,omitempty"`
	// Monitors counts the devices on the host's monitor list, Monitored
	// those the running driver monitors now.
	Monitors  int `json:"monitors"`
	Monitored int `json:"monitored"`
	// Unmonitored lists every device on the list the driver does not
	// monitor now, with the PBX's reason: being retried (a licence
	// shortage, a timeout), failed (no such device; retried rarely) or
	// pending (the driver is down). No lamp is lost silently.
	Unmonitored []plugins.MonitorStatus `json:"unmonitored"`
	// Restarts counts process starts after the first.
	Restarts uint64 `json:"restarts"`
	// LastRestoreMS is the last time from losing the process to its
	// replacement's link_up with every monitor restored, in milliseconds.
	LastRestoreMS float64 `json:"last_restore_ms,omitempty"`
	EventGaps     uint64  `json:"event_gaps"`
	// MonitorRetries counts monitors tried again after a refusal or a
	// timeout; Resyncs the fresh snapshots sent after lost events or a
	// PBX link that came back.
	MonitorRetries uint64    `json:"monitor_retries"`
	Resyncs        uint64    `json:"resyncs"`
	Events         uint64    `json:"events"`
	LastEvent      time.Time `json:"last_event,omitzero"`
	// LastProblem is the last warning or error logged about the driver
	// (a start that failed, a lost process, the driver's own errors),
	// with its time.
	LastProblem   string    `json:"last_problem,omitempty"`
	LastProblemAt time.Time `json:"last_problem_at,omitzero"`
}

// Status returns every driver's state, in config order.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	states := make([]*driverState, 0, len(m.order))
	for _, name := range m.order {
		states = append(states, m.status[name])
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(states))
	for _, st := range states {
		out = append(out, st.view())
	}
	return out
}

func (st *driverState) view() Status {
	s := Status{Name: st.cfg.Name, Driver: st.cfg.Driver, Path: st.cfg.Path, State: "down", Process: "stopped",
		Link: "down", Capabilities: []plugins.Service{}, Unmonitored: []plugins.MonitorStatus{}, Events: st.events.Load()}
	for _, m := range st.sup.MonitorStates() {
		s.Monitors++
		if m.State == plugins.MonitorActive {
			s.Monitored++
		} else {
			s.Unmonitored = append(s.Unmonitored, m)
		}
	}
	up := st.sup.Up()
	if st.sup.Refused() != nil {
		s.Process = "refused"
	}
	if up {
		s.Process, s.PID = "running", st.sup.PID()
		if caps, err := st.sup.Capabilities(context.Background()); err == nil {
			s.Vendor, s.Version, s.MaxMonitors = caps.Vendor, caps.Version, caps.MaxMonitors
			s.Capabilities = append(s.Capabilities, caps.Services...)
		}
	}
	if up && st.link.Load() {
		s.State, s.Link = "up", "up"
	}
	stats := st.sup.Stats()
	s.Restarts, s.EventGaps = stats.Restarts, stats.Gaps
	s.MonitorRetries, s.Resyncs = stats.MonitorRetries, stats.Resyncs
	s.LastRestoreMS = float64(stats.LastRestore.Microseconds()) / 1000
	st.mu.Lock()
	s.LinkSince, s.LinkDetail, s.LastEvent = st.linkSince, st.linkWhy, st.lastEvent
	s.LastProblem, s.LastProblemAt = st.problem, st.problemAt
	st.mu.Unlock()
	return s
}

// problemHandler passes log records on and keeps the last warning or
// error about one driver for its status: the message and its error (or
// reason) attribute.
type problemHandler struct {
	slog.Handler
	st    *driverState
	attrs []slog.Attr
}

func (h *problemHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		text := r.Message
		add := func(a slog.Attr) bool {
			if a.Key == "error" || a.Key == "reason" {
				text += ": " + a.Value.String()
			}
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		h.st.mu.Lock()
		h.st.problem, h.st.problemAt = text, r.Time
		h.st.mu.Unlock()
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// Enabled is true from warnings up whatever the logger's level, so that
// the status sees them.
func (h *problemHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.Handler.Enabled(ctx, l)
}

func (h *problemHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &problemHandler{Handler: h.Handler.WithAttrs(as), st: h.st, attrs: append(slices.Clone(h.attrs), as...)}
}

func (h *problemHandler) WithGroup(name string) slog.Handler {
	return &problemHandler{Handler: h.Handler.WithGroup(name), st: h.st, attrs: h.attrs}
}
