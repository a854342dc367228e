package dnssrv

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions, exported by Manager.Collector.
var (
	descTargetUp = prometheus.NewDesc("switchboard_trunk_target_up",
		"Whether a trunk target is usable (1: up or not yet used, 0: down).", []string{"trunk", "target"}, nil)
	descTargetRequests = prometheus.NewDesc("switchboard_trunk_target_requests_total",
		"Requests whose outcome was reported for a trunk target.", []string{"trunk", "target"}, nil)
	descTargetFailures = prometheus.NewDesc("switchboard_trunk_target_failures_total",
		"Requests to a trunk target that failed (transport error, timeout, failover status).", []string{"trunk", "target"}, nil)
	descTrunkTargets = prometheus.NewDesc("switchboard_trunk_targets",
		"Targets a trunk resolved to in its last resolution.", []string{"trunk"}, nil)
	descCacheEntries = prometheus.NewDesc("switchboard_dns_cache_entries",
		"DNS lookups held in the cache.", nil, nil)
)

// Collector returns a Prometheus collector for the trunks' targets and
// health and the DNS cache; register it with the admin registry.
func (m *Manager) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Manager }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTargetUp, descTargetRequests, descTargetFailures, descTrunkTargets, descCacheEntries} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.m.Snapshot() {
		ch <- prometheus.MustNewConstMetric(descTrunkTargets, prometheus.GaugeValue, float64(len(s.Targets)), s.Name)
		for _, t := range s.Targets {
			up := 1.0
			if t.Health.State == StateDown {
				up = 0
			}
			k := t.Key()
			ch <- prometheus.MustNewConstMetric(descTargetUp, prometheus.GaugeValue, up, s.Name, k)
			ch <- prometheus.MustNewConstMetric(descTargetRequests, prometheus.CounterValue, float64(t.Health.Requests), s.Name, k)
			ch <- prometheus.MustNewConstMetric(descTargetFailures, prometheus.CounterValue, float64(t.Health.Failures), s.Name, k)
		}
	}
	ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(c.m.res.cache.len()))
}
