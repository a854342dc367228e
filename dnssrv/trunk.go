package dnssrv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TrunkOptions configures one trunk: a named next hop found through DNS.
type TrunkOptions struct {
	// Name identifies the trunk in logs, metrics and the admin API.
	Name string
	// Target is where requests go: sip:pbx.example.com;transport=tcp,
	// sips:pbx.example.com, host:port or an IP address.
	Target string
	// FailoverTimeout is how long a target may take to send its first
	// response before the request goes to the next one. Default: 500ms.
	FailoverTimeout time.Duration
	// Timeout bounds a request over all its targets (Timer B). Default:
	// 32s.
	Timeout time.Duration
	// FailoverCodes are the final status codes that send the request to
	// the next target (RFC 3263 §4.3 names 503). Default: [503].
	FailoverCodes []int
	// Health configures when targets are down and back up.
	Health HealthOptions
	// Probe configures OPTIONS probing.
	Probe ProbeOptions
	// LocalAddr, if set, names the local socket a request to dst over tp
	// leaves from: the gateway's listener, the port the PBX knows and the
	// firewall opened, rather than an ephemeral port (only UDP uses it;
	// stream transports reuse their connections). ok false leaves the
	// choice to sipgo.
	LocalAddr func(tp Transport, dst netip.AddrPort) (local netip.AddrPort, ok bool)
}

// ProbeOptions configures probing of a trunk's targets.
type ProbeOptions struct {
	// Interval between probe rounds; 0 turns probing off (then a down
	// target comes back after Health.DownFor, default 30s).
	Interval time.Duration
	// Timeout for one probe. Default: the interval, at most 5s.
	Timeout time.Duration
	// All probes every target each round, not only those down.
	All bool
}

// Trunk is a named next hop: its resolved targets and their health.
type Trunk struct {
	o      TrunkOptions
	target SIPTarget
	res    *Resolver
	health *Health
	now    func() time.Time

	prober Prober // confirms timeouts (set by the Manager); nil: none

	mu       sync.Mutex
	last     []Target // last resolution, in DNS order
	lastErr  error
	resolved time.Time

	// Work that outlives a Send (abandoned branches, confirming probes)
	// runs under bg and ends at Close.
	bg     context.Context
	stop   context.CancelFunc
	bgWG   sync.WaitGroup
	bgMu   sync.Mutex
	closed bool
}

// NewTrunk checks o and returns the trunk; it resolves nothing yet.
func NewTrunk(o TrunkOptions, r *Resolver) (*Trunk, error) {
	t, err := ParseTarget(o.Target)
	if err != nil {
		return nil, fmt.Errorf("%w: trunk %s: %q: %v", ErrBadTarget, o.Name, o.Target, err)
	}
	if o.FailoverTimeout <= 0 {
		o.FailoverTimeout = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 32 * time.Second
	}
	if o.FailoverCodes == nil {
		o.FailoverCodes = []int{503}
	}
	if o.Probe.Interval > 0 && o.Probe.Timeout <= 0 {
		o.Probe.Timeout = min(o.Probe.Interval, 5*time.Second)
	}
	if o.Probe.Interval <= 0 && o.Health.DownFor <= 0 {
		o.Health.DownFor = 30 * time.Second
	}
	if o.Health.Now == nil {
		o.Health.Now = r.now
	}
	tr := &Trunk{o: o, target: t, res: r, health: NewHealth(o.Health), now: o.Health.Now}
	tr.bg, tr.stop = context.WithCancel(context.Background())
	return tr, nil
}

// Close ends the trunk's background work (branches given up on are
// ended, probes stopped) and waits for it. Later Sends still work but
// leave nothing running.
func (t *Trunk) Close() {
	t.bgMu.Lock()
	t.closed = true
	t.bgMu.Unlock()
	t.stop()
	t.bgWG.Wait()
}

// goBackground runs f on its own goroutine under the trunk's background
// context; false (f not run) once the trunk is closed.
func (t *Trunk) goBackground(f func(ctx context.Context)) bool {
	t.bgMu.Lock()
	defer t.bgMu.Unlock()
	if t.closed {
		return false
	}
	t.bgWG.Add(1)
	go func() {
		defer t.bgWG.Done()
		f(t.bg)
	}()
	return true
}

// confirm probes tg, suspect after a timeout, at once (not waiting for
// the next round): a failed probe marks it down, an answer clears it.
// Without probing nothing is sent; then timeouts in a row decide.
func (t *Trunk) confirm(tg Target) {
	if t.prober == nil || t.o.Probe.Interval <= 0 || !t.health.beginProbe(tg, false) {
		return
	}
	if !t.goBackground(func(ctx context.Context) {
		defer t.health.endProbe(tg)
		pctx, cancel := context.WithTimeout(ctx, t.o.Probe.Timeout)
		defer cancel()
		start := time.Now()
		err := t.prober.Probe(pctx, tg)
		if ctx.Err() != nil {
			return
		}
		t.health.Probed(tg, time.Since(start), err)
	}) {
		t.health.endProbe(tg)
	}
}

// Name returns the trunk's name.
func (t *Trunk) Name() string { return t.o.Name }

// Target returns the configured target URI.
func (t *Trunk) Target() string { return t.o.Target }

// Health returns the trunk's health tracker.
func (t *Trunk) Health() *Health { return t.health }

// SetLocalAddr sets req's local address (sip.Request.Laddr) to the
// listener TrunkOptions.LocalAddr names for tg, for UDP when req has none
// yet: requests to the trunk's servers that do not go through Sender
// (trunk registration) leave from the listener too.
func (t *Trunk) SetLocalAddr(req *sip.Request, tg Target) {
	setLaddr(req, tg, t.o.LocalAddr)
}

// setLaddr sets req's local address from local, for UDP when req has none.
func setLaddr(req *sip.Request, tg Target, local func(Transport, netip.AddrPort) (netip.AddrPort, bool)) {
	if local == nil || tg.Transport != UDP || req.Laddr.IP != nil {
		return
	}
	if la, ok := local(tg.Transport, tg.Addr); ok {
		req.Laddr = sip.Addr{IP: net.IP(la.Addr().AsSlice()), Port: int(la.Port())}
	}
}

// Options returns the trunk's options with defaults filled in.
func (t *Trunk) Options() TrunkOptions { return t.o }

// Targets resolves the trunk (from the cache when it can) and returns its
// targets in the order to try them: RFC 3263/2782 order, with targets
// that are down moved to the end. When resolution fails but an earlier
// one succeeded, the earlier targets are used.
func (t *Trunk) Targets(ctx context.Context) ([]Target, error) {
	ts, err := t.res.ResolveTarget(ctx, t.target)
	t.mu.Lock()
	t.lastErr = err
	if err == nil {
		t.last, t.resolved = ts, t.now()
	} else if len(t.last) > 0 {
		ts = slices.Clone(t.last)
	}
	t.mu.Unlock()
	if len(ts) == 0 {
		return nil, err
	}
	return t.health.Order(ts), nil
}

// TrunkSnapshot is a trunk's state for the admin API and metrics.
type TrunkSnapshot struct {
	Name      string           `json:"name"`
	Target    string           `json:"target"`
	Resolved  time.Time        `json:"resolved,omitzero"`
	LastError string           `json:"last_error,omitempty"`
	Targets   []TargetSnapshot `json:"targets"`
}

// TargetSnapshot is one target with its health.
type TargetSnapshot struct {
	Target
	Health Status `json:"health"`
}

// Snapshot returns the targets of the last resolution, in DNS order, and
// their health.
func (t *Trunk) Snapshot() TrunkSnapshot {
	t.mu.Lock()
	s := TrunkSnapshot{Name: t.o.Name, Target: t.o.Target, Resolved: t.resolved}
	if t.lastErr != nil {
		s.LastError = t.lastErr.Error()
	}
	last := slices.Clone(t.last)
	t.mu.Unlock()
	s.Targets = make([]TargetSnapshot, 0, len(last))
	for _, tg := range last {
		s.Targets = append(s.Targets, TargetSnapshot{Target: tg, Health: t.health.Status(tg)})
	}
	return s
}

// probeRound resolves the trunk and probes the targets that need it, one
// probe per target at a time, waiting for them all.
func (t *Trunk) probeRound(ctx context.Context, p Prober) {
	ts, err := t.Targets(ctx)
	if err != nil {
		return
	}
	keep := make(map[string]bool, len(ts))
	for _, tg := range ts {
		keep[tg.Key()] = true
	}
	t.health.retain(keep)
	var wg sync.WaitGroup
	for _, tg := range ts {
		if !t.health.beginProbe(tg, t.o.Probe.All) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer t.health.endProbe(tg)
			pctx, cancel := context.WithTimeout(ctx, t.o.Probe.Timeout)
			defer cancel()
			start := time.Now()
			err := p.Probe(pctx, tg)
			if ctx.Err() != nil {
				return // shutting down: not the target's fault
			}
			t.health.Probed(tg, time.Since(start), err)
		}()
	}
	wg.Wait()
}
