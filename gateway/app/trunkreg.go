package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/trunkreg"
)

// trunkRegs are the registrations to trunks with trunks[].register.
type trunkRegs struct {
	regs []*trunkreg.Registration
}

// newTrunkRegs prepares one registration per trunk that asks for it.
// Called after the SIP server, the trunks and the B2BUA exist.
func (a *App) newTrunkRegs() error {
	a.tregs = &trunkRegs{}
	var client *sipgo.Client
	for _, tc := range a.cfg.Trunks {
		if !tc.Register.Enabled() {
			continue
		}
		tr, err := a.dns.Trunk(tc.Name)
		if err != nil {
			return err
		}
		if client == nil {
			if client, err = sipgo.NewClient(a.sip.UserAgent()); err != nil {
				return fmt.Errorf("trunk registration sip client: %w", err)
			}
		}
		r, err := trunkreg.New(trunkreg.Options{
			Trunk:       tr,
			Client:      client,
			User:        tc.Register.User,
			Password:    tc.Register.Password,
			Domain:      tc.Register.Domain,
			Expires:     time.Duration(tc.Register.Expires) * time.Second,
			Contact:     a.contact,
			ContactUser: tc.Register.ContactUser,
			Listener:    a.listenerFor,
			Logger:      a.log.With("component", "trunkreg"),
		})
		if err != nil {
			return fmt.Errorf("trunk %s: %w", tc.Name, err)
		}
		a.tregs.regs = append(a.tregs.regs, r)
	}
	return nil
}

// startTrunkRegs runs the registrations once the listeners are open; the
// function it returns unregisters (Expires: 0) and waits, and must be
// called before the SIP server closes.
func (a *App) startTrunkRegs() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, r := range a.tregs.regs {
		wg.Go(func() { r.Run(ctx) })
	}
	return func() { cancel(); wg.Wait() }
}

// trunkView is one trunk in GET /api/v1/trunks: its targets and health,
// and its registration when it has one.
type trunkView struct {
	dnssrv.TrunkSnapshot
	Registration *trunkreg.Status `json:"registration,omitempty"`
}

func (s *adminServer) trunks(w http.ResponseWriter, _ *http.Request) {
	regs := map[string]trunkreg.Status{}
	for _, r := range s.app.tregs.regs {
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
	regs                 []*trunkreg.Registration
	registered, failures *prometheus.Desc
}

func (s *adminServer) trunkRegMetrics(reg *prometheus.Registry) {
	reg.MustRegister(&trunkRegCollector{
		regs: s.app.tregs.regs,
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
	for _, r := range c.regs {
		st := r.Status()
		up := 0.0
		if st.State == trunkreg.Registered && time.Now().Before(st.Expires) {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.registered, prometheus.GaugeValue, up, st.Trunk)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(st.Failures), st.Trunk)
	}
}
