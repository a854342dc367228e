package dnssrv

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
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
	res       *Resolver
	set       atomic.Pointer[trunkSet] // replaced whole by SetTrunks (manager_reload.go)
	prober    Prober
	log       *slog.Logger
	localAddr func(tp Transport, dst netip.AddrPort) (netip.AddrPort, bool)

	mu      sync.Mutex
	ctx     context.Context // Start's, for trunks added later
	cancel  context.CancelFunc
	runs    map[*Trunk]context.CancelFunc // each trunk's resolve-and-probe loop
	wg      sync.WaitGroup
	stopped bool
}

// trunkSet is the trunks in config order and by name, with the options
// each was made from (SetTrunks compares them).
type trunkSet struct {
	list   []*Trunk
	byName map[string]*Trunk
	opts   map[string]TrunkOptions
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
	m := &Manager{res: r, prober: o.Prober, log: o.Logger, localAddr: o.LocalAddr, runs: map[*Trunk]context.CancelFunc{}}
	set, _, err := m.newSet(nil, o.Trunks)
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	m.set.Store(set)
	return m, nil
}

// newSet makes the trunk set of opts, reusing the trunks of old whose
// options did not change; made lists the trunks it made. On error it
// closes what it made.
func (m *Manager) newSet(old *trunkSet, opts []TrunkOptions) (set *trunkSet, made []*Trunk, err error) {
	set = &trunkSet{byName: map[string]*Trunk{}, opts: map[string]TrunkOptions{}}
	defer func() {
		if err != nil {
			for _, t := range made {
				t.Close()
			}
			made = nil
		}
	}()
	for _, to := range opts {
		if _, dup := set.byName[to.Name]; dup {
			return nil, made, fmt.Errorf("dnssrv: duplicate trunk name %q", to.Name)
		}
		raw := to
		var t *Trunk
		if old != nil && old.byName[to.Name] != nil && sameTrunk(old.opts[to.Name], raw) {
			t = old.byName[to.Name]
		} else {
			if m.prober == nil {
				to.Probe.Interval = 0
			}
			if to.LocalAddr == nil {
				to.LocalAddr = m.localAddr
			}
			if t, err = NewTrunk(to, m.res); err != nil {
				return nil, made, err
			}
			t.prober = m.prober
			made = append(made, t)
		}
		set.list = append(set.list, t)
		set.byName[to.Name] = t
		set.opts[to.Name] = raw
	}
	return set, made, nil
}

// Resolver returns the shared resolver.
func (m *Manager) Resolver() *Resolver { return m.res }

// Trunk returns the trunk named name.
func (m *Manager) Trunk(name string) (*Trunk, error) {
	if t := m.set.Load().byName[name]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTrunk, name)
}

// Trunks returns every trunk in config order.
func (m *Manager) Trunks() []*Trunk { return append([]*Trunk(nil), m.set.Load().list...) }

// Snapshot returns every trunk's targets and health.
func (m *Manager) Snapshot() []TrunkSnapshot {
	trunks := m.set.Load().list
	out := make([]TrunkSnapshot, 0, len(trunks))
	for _, t := range trunks {
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
	m.ctx, m.cancel = context.WithCancel(ctx)
	for _, t := range m.set.Load().list {
		m.startLocked(t)
	}
}

// startLocked runs t's resolve-and-probe loop until Stop or until
// SetTrunks retires t. m.mu is held.
func (m *Manager) startLocked(t *Trunk) {
	ctx, cancel := context.WithCancel(m.ctx)
	m.runs[t] = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.run(ctx, t)
	}()
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
	for _, t := range m.set.Load().list {
		t.Close()
	}
	_ = m.res.Close()
}
