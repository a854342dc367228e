package app

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/trunkreg"
)

// trunkRegs are the registrations to trunks with trunks[].register. A
// reload replaces the ones whose trunk or register settings changed
// (update): the old one unregisters, then the new one registers.
type trunkRegs struct {
	a      *App
	client *sipgo.Client

	mu   sync.Mutex
	regs []*trunkReg // config order
	ctx  context.Context
	wg   sync.WaitGroup
}

// trunkReg is one registration and what it was made from.
type trunkReg struct {
	r     *trunkreg.Registration
	trunk *dnssrv.Trunk
	cfg   config.TrunkRegister
	stop  context.CancelFunc // nil until started
	done  chan struct{}
}

// newTrunkRegs prepares one registration per trunk that asks for it.
// Called after the SIP server, the trunks and the B2BUA exist.
func (a *App) newTrunkRegs() error {
	client, err := sipgo.NewClient(a.sip.UserAgent())
	if err != nil {
		return fmt.Errorf("trunk registration sip client: %w", err)
	}
	a.tregs = &trunkRegs{a: a, client: client}
	regs, err := a.tregs.build(a.cfg.Trunks, nil)
	if err != nil {
		return err
	}
	a.tregs.regs = regs
	return nil
}

// build makes the registrations of trunks, reusing those of old whose
// trunk and settings are unchanged.
func (t *trunkRegs) build(trunks []config.Trunk, old []*trunkReg) ([]*trunkReg, error) {
	var out []*trunkReg
	for _, tc := range trunks {
		if !tc.Register.Enabled() {
			continue
		}
		tr, err := t.a.dns.Trunk(tc.Name)
		if err != nil {
			return nil, err
		}
		if i := slices.IndexFunc(old, func(o *trunkReg) bool { return o.trunk == tr && o.cfg == tc.Register }); i >= 0 {
			out = append(out, old[i])
			continue
		}
		r, err := trunkreg.New(trunkreg.Options{
			Trunk:       tr,
			Client:      t.client,
			User:        tc.Register.User,
			Password:    tc.Register.Password,
			Domain:      tc.Register.Domain,
			Expires:     time.Duration(tc.Register.Expires) * time.Second,
			Contact:     t.a.contact,
			ContactUser: tc.Register.ContactUser,
			Listener:    t.a.listenerFor,
			Logger:      t.a.log.With("component", "trunkreg"),
		})
		if err != nil {
			return nil, fmt.Errorf("trunk %s: %w", tc.Name, err)
		}
		out = append(out, &trunkReg{r: r, trunk: tr, cfg: tc.Register})
	}
	return out, nil
}

// startLocked runs one registration under the running context.
func (t *trunkRegs) startLocked(r *trunkReg) {
	ctx, cancel := context.WithCancel(t.ctx)
	r.stop, r.done = cancel, make(chan struct{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer close(r.done)
		r.r.Run(ctx)
	}()
}

// update replaces the registrations with those of trunks (a reload; the
// trunks are already in dns): unchanged ones go on, removed and changed
// ones unregister first, new ones then register. It returns the names of
// the trunks whose registration started or stopped.
func (t *trunkRegs) update(trunks []config.Trunk) (started, stopped []string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	regs, err := t.build(trunks, t.regs)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range t.regs {
		if slices.Contains(regs, o) {
			continue
		}
		stopped = append(stopped, o.trunk.Name())
		if o.stop != nil {
			o.stop() // unregisters (Expires: 0)
			<-o.done
		}
	}
	for _, r := range regs {
		if slices.Contains(t.regs, r) {
			continue
		}
		started = append(started, r.trunk.Name())
		if t.ctx != nil {
			t.startLocked(r)
		}
	}
	t.regs = regs
	return started, stopped, nil
}

// list returns the current registrations.
func (t *trunkRegs) list() []*trunkreg.Registration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*trunkreg.Registration, 0, len(t.regs))
	for _, r := range t.regs {
		out = append(out, r.r)
	}
	return out
}

// startTrunkRegs runs the registrations once the listeners are open; the
// function it returns unregisters (Expires: 0) and waits, and must be
// called before the SIP server closes.
func (a *App) startTrunkRegs() (stop func()) {
	t := a.tregs
	ctx, cancel := context.WithCancel(context.Background())
	t.mu.Lock()
	t.ctx = ctx
	for _, r := range t.regs {
		t.startLocked(r)
	}
	t.mu.Unlock()
	return func() { cancel(); t.wg.Wait() }
}

// trunkView is one trunk in GET /api/v1/trunks: its targets and health,
// and its registration when it has one.
type trunkView struct {
	dnssrv.TrunkSnapshot
	Registration *trunkreg.Status `json:"registration,omitempty"`
}

func (s *adminServer) trunks(w http.ResponseWriter, _ *http.Request) {
	regs := map[string]trunkreg.Status{}
	for _, r := range s.app.tregs.list() {
		st := r.Status()
		regs[st.Trunk] = st
	}
	snaps := s.app.dns.Snapshot()
	out := make([]trunkView, 0, len(snaps))
	for _, t := range snaps {
		v := trunkView{TrunkSnapshot: t}
		if st, ok := regs[t.Name]; ok {
			v.Registration = &st
		}
		out = append(out, v)
	}
	writeJSON(w, out)
}

// trunkRegCollector exports the registrations' state.
type trunkRegCollector struct {
	regs                 *trunkRegs
	registered, failures *prometheus.Desc
}

func (s *adminServer) trunkRegMetrics(reg *prometheus.Registry) {
	reg.MustRegister(&trunkRegCollector{
		regs: s.app.tregs,
		registered: prometheus.NewDesc("switchboard_trunk_registered",
			"1 when the gateway is registered to the trunk, 0 when not.", []string{"trunk"}, nil),
		failures: prometheus.NewDesc("switchboard_trunk_register_failures_total",
			"Trunk registration attempts that failed on every target.", []string{"trunk"}, nil),
	})
}

func (c *trunkRegCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.registered
	ch <- c.failures
}

func (c *trunkRegCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.regs.list() {
		st := r.Status()
		up := 0.0
		if st.State == trunkreg.Registered && time.Now().Before(st.Expires) {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.registered, prometheus.GaugeValue, up, st.Trunk)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(st.Failures), st.Trunk)
	}
}
