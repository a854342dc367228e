package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/media/relay"
)

// latchingMode maps media.latching (validated by config) to the relay's.
func latchingMode(s string) relay.Latching {
	switch s {
	case "sdp-address":
		return relay.LatchSDPAddr
	case "off":
		return relay.LatchOff
	default:
		return relay.LatchSignalling
	}
}

// mediaMetrics exports the relay's totals.
func (s *adminServer) mediaMetrics(reg *prometheus.Registry) {
	rl := s.app.relay
	if rl == nil {
		return
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Name: "media_sessions",
		Help: "Relay sessions open (one per call, ringing included)."},
		func() float64 { return float64(rl.Counters().Sessions) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: "media_ignored_packets_total",
		Help: "RTP/RTCP packets the relay's latching refused: not the latched source or SSRC, or a stranger."},
		func() float64 { return float64(rl.Counters().Ignored) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: "media_stranger_packets_total",
		Help: "RTP/RTCP packets from strangers: an IP neither the call side's SDP nor its signalling address."},
		func() float64 { return float64(rl.Counters().Strangers) }))
}
