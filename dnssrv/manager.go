package dnssrv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

// ManagerOptions configures a Manager.
type ManagerOptions struct {
	// Resolver configures DNS.
	Resolver Options
	// Trunks are the trunks, in config order.
	Trunks []TrunkOptions
	// Prober probes targets; nil turns probing off for every trunk.
	Prober Prober
	// Logger receives health changes. Default: discard.
	Logger *slog.Logger
}

// Manager owns the resolver and the trunks of a running gateway, and runs
// their probing between Start and Stop.
type Manager struct {
	res    *Resolver
	trunks []*Trunk
	byName map[string]*Trunk
	prober Prober
	log    *slog.Logger

	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

// NewManager builds the resolver and trunks; nothing runs until Start.
func NewManager(o ManagerOptions) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Resolver.Logger == nil {
		o.Resolver.Logger = o.Logger
	}
	r, err := NewResolver(o.Resolver)
	if err != nil {
		return nil, err
	}
	m := &Manager{res: r, byName: map[string]*Trunk{}, prober: o.Prober, log: o.Logger}
	for _, to := range o.Trunks {
		if m.prober == nil {
			to.Probe.Interval = 0
		}
		t, err := NewTrunk(to, r)
		if err != nil {
			_ = r.Close()
			return nil, err
		}
		if _, dup := m.byName[to.Name]; dup {
			_ = r.Close()
			return nil, fmt.Errorf("dnssrv: duplicate trunk name %q", to.Name)
		}
		m.trunks = append(m.trunks, t)
		m.byName[to.Name] = t
	}
	return m, nil
}

// NewManagerFromConfig builds a Manager from the dns and trunks keys of
// cfg. Probes are sent with a sipgo client over ua (the gateway's user
// agent, so that they leave from its listeners); a nil ua turns probing
// off.
func NewManagerFromConfig(cfg *config.Config, ua *sipgo.UserAgent, log *slog.Logger) (*Manager, error) {
	o := ManagerOptions{Resolver: ResolverOptions(cfg.DNS), Logger: log}
	for _, tc := range cfg.Trunks {
		o.Trunks = append(o.Trunks, TrunkOptionsFromConfig(tc))
	}
	if ua != nil {
		c, err := sipgo.NewClient(ua)
		if err != nil {
			return nil, fmt.Errorf("dnssrv: sip client: %w", err)
		}
		o.Prober = &OptionsProber{Client: c, From: probeFrom(cfg)}
	}
	return NewManager(o)
}

// probeFrom is the From URI of probes: sip:switchboard@<first domain>.
func probeFrom(cfg *config.Config) string {
	d := cfg.Domains()
	if len(d) == 0 {
		return ""
	}
	host := d[0]
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "sip:switchboard@" + host
}

// ResolverOptions converts the dns config key.
func ResolverOptions(c config.DNS) Options {
	o := Options{
		Servers:        c.Servers,
		Timeout:        c.Timeout.D(),
		Attempts:       c.Attempts,
		EDNSBuffer:     c.EDNSBuffer,
		IPv4Only:       !c.IPv6,
		CacheSize:      c.CacheSize,
		MaxStale:       c.MaxStale.D(),
		MaxNegativeTTL: c.MaxNegativeTTL.D(),
	}
	if c.EDNSBuffer == 0 {
		o.EDNSBuffer = -1
	}
	if c.MaxStale == 0 {
		o.MaxStale = -1
	}
	for _, tp := range c.Transports {
		o.Transports = append(o.Transports, Transport(tp))
	}
	return o
}

// TrunkOptionsFromConfig converts one trunks entry.
func TrunkOptionsFromConfig(c config.Trunk) TrunkOptions {
	return TrunkOptions{
		Name:            c.Name,
		Target:          c.Target,
		FailoverTimeout: c.FailoverTimeout.D(),
		Timeout:         c.Timeout.D(),
		FailoverCodes:   append([]int{}, c.FailoverCodes...),
		Health:          HealthOptions{MaxFails: c.MaxFails, UpAfter: c.Probe.UpAfter},
		Probe: ProbeOptions{
			Interval: c.Probe.Interval.D(),
			Timeout:  c.Probe.Timeout.D(),
			All:      c.Probe.Mode == "all",
		},
	}
}

// Resolver returns the shared resolver.
func (m *Manager) Resolver() *Resolver { return m.res }

// Trunk returns the trunk named name.
func (m *Manager) Trunk(name string) (*Trunk, error) {
	if t := m.byName[name]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTrunk, name)
}

// Trunks returns every trunk in config order.
func (m *Manager) Trunks() []*Trunk { return append([]*Trunk(nil), m.trunks...) }

// Snapshot returns every trunk's targets and health.
func (m *Manager) Snapshot() []TrunkSnapshot {
	out := make([]TrunkSnapshot, 0, len(m.trunks))
	for _, t := range m.trunks {
		out = append(out, t.Snapshot())
	}
	return out
}

// Start resolves every trunk once (warming the cache) and starts probing.
// It returns at once; Stop ends everything.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil || m.stopped {
		return
	}
	ctx, m.cancel = context.WithCancel(ctx)
	for _, t := range m.trunks {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.run(ctx, t)
		}()
	}
}

// run resolves t and, when probing is on, probes it every interval.
func (m *Manager) run(ctx context.Context, t *Trunk) {
	log := m.log.With("trunk", t.Name())
	if _, err := t.Targets(ctx); err != nil && ctx.Err() == nil {
		log.Warn("trunk does not resolve", "target", t.Target(), "error", err)
	}
	iv := t.o.Probe.Interval
	if iv <= 0 || m.prober == nil {
		return
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	prev := states(t)
	for {
		t.probeRound(ctx, m.prober)
		prev = m.logChanges(log, t, prev)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// states maps each target key to its state.
func states(t *Trunk) map[string]State {
	s := t.Snapshot()
	out := make(map[string]State, len(s.Targets))
	for _, tg := range s.Targets {
		out[tg.Key()] = tg.Health.State
	}
	return out
}

// logChanges logs targets that went down or came back since prev.
func (m *Manager) logChanges(log *slog.Logger, t *Trunk, prev map[string]State) map[string]State {
	now := states(t)
	for k, s := range now {
		if p := prev[k]; p != s && (s == StateDown || p == StateDown) {
			log.Info("trunk target "+string(s), "target", k)
		}
	}
	return now
}

// Stop ends probing and lookups in flight and waits for them.
func (m *Manager) Stop() {
	m.mu.Lock()
	m.stopped = true
	cancel := m.cancel
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	m.wg.Wait()
	_ = m.res.Close()
}
