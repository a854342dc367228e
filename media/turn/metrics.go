package turn

import "github.com/prometheus/client_golang/prometheus"

// Collector returns the server's Prometheus metrics (switchboard_turn_*).
func (s *Server) Collector() prometheus.Collector { return collector{s} }

var (
	descAllocations      = prometheus.NewDesc("switchboard_turn_allocations", "TURN allocations alive now.", nil, nil)
	descAllocationsTotal = prometheus.NewDesc("switchboard_turn_allocations_total", "TURN allocations made.", nil, nil)
	descBytes            = prometheus.NewDesc("switchboard_turn_relayed_bytes_total", "Bytes relayed by UDP allocations (payload), by direction.", []string{"direction"}, nil)
	descPackets          = prometheus.NewDesc("switchboard_turn_relayed_packets_total", "Packets relayed by UDP allocations, by direction.", []string{"direction"}, nil)
	descDenied           = prometheus.NewDesc("switchboard_turn_denied_peers_total", "Permissions, channels, connects and packets refused by the peer filter (turn.allow_peers).", nil, nil)
	descAuthFailures     = prometheus.NewDesc("switchboard_turn_auth_failures_total", "TURN requests refused 401, by reason.", []string{"reason"}, nil)
	descQuota            = prometheus.NewDesc("switchboard_turn_quota_refused_total", "Allocate requests refused 486, by quota.", []string{"quota"}, nil)
	descOverCap          = prometheus.NewDesc("switchboard_turn_dropped_over_cap_total", "Relayed packets dropped over an allocation's bandwidth cap (turn.max_bitrate).", nil, nil)
	descRateLimited      = prometheus.NewDesc("switchboard_turn_rate_limited_total", "UDP STUN requests dropped over their source's rate (turn.limits).", nil, nil)
	descConnsRefused     = prometheus.NewDesc("switchboard_turn_connections_refused_total", "TCP/TLS connections refused over a connection cap.", nil, nil)
	descRequestErrors    = prometheus.NewDesc("switchboard_turn_request_errors_total", "STUN/TURN messages that could not be handled (malformed, unknown, no allocation).", nil, nil)
)

type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAllocations, descAllocationsTotal, descBytes, descPackets, descDenied,
		descAuthFailures, descQuota, descOverCap, descRateLimited, descConnsRefused, descRequestErrors} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	n := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	g(descAllocations, float64(st.Allocations))
	n(descAllocationsTotal, st.AllocationsTotal)
	n(descBytes, st.BytesToPeer, "to_peer")
	n(descBytes, st.BytesFromPeer, "from_peer")
	n(descPackets, st.PacketsToPeer, "to_peer")
	n(descPackets, st.PacketsFromPeer, "from_peer")
	n(descDenied, st.DeniedPeers)
	n(descAuthFailures, st.AuthExpired, "expired")
	n(descAuthFailures, st.AuthUnknown, "unknown_user")
	n(descAuthFailures, st.AuthRealm, "realm")
	n(descAuthFailures, st.AuthIntegrity, "integrity")
	n(descQuota, st.QuotaUser, "user")
	n(descQuota, st.QuotaTotal, "total")
	n(descOverCap, st.DroppedOverCap)
	n(descRateLimited, st.RateLimited)
	n(descConnsRefused, st.ConnsRefused)
	n(descRequestErrors, st.RequestErrors)
}
