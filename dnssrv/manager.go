package dnssrv

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
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
	// LocalAddr is every trunk's TrunkOptions.LocalAddr when that is nil.
	LocalAddr func(tp Transport, dst netip.AddrPort) (netip.AddrPort, bool)
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
		if to.LocalAddr == nil {
			to.LocalAddr = o.LocalAddr
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
		t.prober = m.prober
		m.trunks = append(m.trunks, t)
		m.byName[to.Name] = t
	}
	return m, nil
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
	for _, t := range m.trunks {
		t.Close()
	}
	_ = m.res.Close()
}
