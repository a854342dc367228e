package app

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/gateway/callpolicy"
	"github.com/switchboard-gw/switchboard/gateway/config"
)

// newCallPolicy maps call_policy, users[].class and trunks[].class and
// limits to the admission policy of the B2BUA.
func newCallPolicy(cfg *config.Config, log *slog.Logger) (*callpolicy.Policy, error) {
	if cfg.Numbering.Region == "" && len(cfg.Trunks) > 0 {
		log.Warn("numbering.region is not set: calls are classed by their 00 (international) and 0 (national) prefixes only; set it for class of service to know national, premium and toll-free numbers")
	}
	p, err := callpolicy.New(callPolicyOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("call policy: %w", err)
	}
	return p, nil
}

// callPolicyOptions maps the config to the policy's options (New, and
// Update on a reload).
func callPolicyOptions(cfg *config.Config) callpolicy.Options {
	cp := cfg.CallPolicy
	o := callpolicy.Options{
		Region:              cfg.Numbering.Region,
		DefaultClass:        cp.DefaultClass,
		TrunkClass:          cp.TrunkClass,
		TrunkClasses:        map[string]string{},
		Trunks:              map[string]callpolicy.TrunkLimits{},
		Deny:                cp.Deny,
		NoDefaultDeny:       !cp.DefaultDeny,
		MaxRingingPerSource: cp.MaxRingingPerSource,
	}
	for _, c := range cp.Classes {
		cl := callpolicy.Class{Name: c.Name, MaxCalls: c.MaxCalls, CallsPerSecond: c.CallsPerSecond, Burst: c.Burst}
		for _, a := range c.Allow {
			cat, _ := callpolicy.ParseCategory(a) // validated
			cl.Allow = append(cl.Allow, cat)
		}
		o.Classes = append(o.Classes, cl)
	}
	o.Users = userClasses(cfg)
	for _, t := range cfg.Trunks {
		if t.Class != "" {
			o.TrunkClasses[t.Name] = t.Class
		}
		l := t.Limits
		o.Trunks[t.Name] = callpolicy.TrunkLimits{MaxCalls: l.MaxCalls, CallsPerSecond: l.CallsPerSecond, Burst: l.Burst, MaxRinging: l.MaxRinging}
	}
	return o
}

// userClasses maps the inline users with users[].class to it.
func userClasses(cfg *config.Config) map[string]string {
	m := map[string]string{}
	for _, u := range cfg.Users {
		if u.Class != "" {
			m[u.Username] = u.Class
		}
	}
	return m
}

// callPolicyMetrics registers the admission policy's counters.
func callPolicyMetrics(reg *prometheus.Registry, p *callpolicy.Policy) {
	if p == nil {
		return
	}
	refused := prometheus.NewDesc("switchboard_calls_refused_total",
		"Calls the admission policy refused, by reason: category (class of service), denied (deny-list), calls (concurrent cap), rate (calls a second), ringing (calls in setup).",
		[]string{"reason"}, nil)
	reg.MustRegister(policyCollector{p: p, refused: refused})
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	gauge("calls_admitted", "Calls holding an admission ticket now.", func() float64 { return float64(p.Stats().Calls) })
	gauge("calls_ringing", "Admitted calls in setup (not yet answered) now.", func() float64 { return float64(p.Stats().Ringing) })
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: "calls_emergency_total",
		Help: "Emergency calls admitted past every class and cap."}, func() float64 { return float64(p.Stats().EmergencyAdmitted) }))
}

type policyCollector struct {
	p       *callpolicy.Policy
	refused *prometheus.Desc
}

func (c policyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.refused }

func (c policyCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.p.Stats()
	for reason, n := range map[string]uint64{"category": s.RefusedCategory, "denied": s.RefusedDenied,
		"calls": s.RefusedCalls, "rate": s.RefusedRate, "ringing": s.RefusedRinging} {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(n), reason)
	}
}
