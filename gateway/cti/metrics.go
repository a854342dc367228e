package cti

import "github.com/prometheus/client_golang/prometheus"

var (
	descUp = prometheus.NewDesc("switchboard_cti_driver_up",
		"1 when the CTI driver process runs and its PBX link is up.", []string{"driver"}, nil)
	descRestarts = prometheus.NewDesc("switchboard_cti_driver_restarts_total",
		"CTI driver process starts after the first (crashes, hangs).", []string{"driver"}, nil)
	descMonitors = prometheus.NewDesc("switchboard_cti_monitors",
		"Devices the gateway monitors on the CTI driver.", []string{"driver"}, nil)
	descEvents = prometheus.NewDesc("switchboard_cti_events_total",
		"CTI events received from the driver (and the host's link and snapshot events).", []string{"driver"}, nil)
	descGaps = prometheus.NewDesc("switchboard_cti_event_gaps_total",
		"Holes in the driver's event sequence numbers (events lost).", []string{"driver"}, nil)
	descRestore = prometheus.NewDesc("switchboard_cti_last_restore_seconds",
		"Time from losing the driver process to its replacement's link_up with every monitor restored.", []string{"driver"}, nil)
)

// Collector returns the drivers' Prometheus metrics.
func (m *Manager) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Manager }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descRestarts, descMonitors, descEvents, descGaps, descRestore} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.m.Status() {
		up := 0.0
		if s.State == "up" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, s.Name)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(s.Restarts), s.Name)
		ch <- prometheus.MustNewConstMetric(descMonitors, prometheus.GaugeValue, float64(s.Monitors), s.Name)
		ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(s.Events), s.Name)
		ch <- prometheus.MustNewConstMetric(descGaps, prometheus.CounterValue, float64(s.EventGaps), s.Name)
		ch <- prometheus.MustNewConstMetric(descRestore, prometheus.GaugeValue, s.LastRestoreMS/1000, s.Name)
	}
}
