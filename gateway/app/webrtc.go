package app

import (
	"log/slog"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// newWebRTC opens the browsers' media bridge (webrtc:), its ICE candidates
// on the media address (media.public_address, else the SIP listener's).
// Nil when webrtc.enabled is false.
func newWebRTC(cfg *config.Config, mediaAddr netip.Addr, log *slog.Logger) (*webrtc.Engine, error) {
	if !cfg.WebRTC.On() {
		return nil, nil
	}
	port := cfg.WebRTC.Port
	if port == 0 {
		port = webrtc.PortAny
	}
	return webrtc.New(webrtc.Config{Port: port, PublicIPs: []netip.Addr{mediaAddr},
		ConsentTimeout: cfg.WebRTC.ConsentTimeout.D(), Logger: log})
}

// webrtcMetrics exports the bridge's open legs.
func (s *adminServer) webrtcMetrics(reg *prometheus.Registry) {
	e := s.app.webrtc
	if e == nil {
		return
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Name: "webrtc_legs",
		Help: "Browser media legs open (media/webrtc): one per browser in a call, ringing included."},
		func() float64 { return float64(e.Len()) }))
	reg.MustRegister(rttCollector{e: e, desc: prometheus.NewDesc("switchboard_webrtc_rtt_seconds",
		"Round trips to the browsers measured from their RTCP reports (RFC 3550 §6.4.1), every WebRTC leg.", nil, nil)})
}

// rttCollector exports the bridge's round-trip histogram (media/webrtc
// RTTHistogram).
type rttCollector struct {
	e    *webrtc.Engine
	desc *prometheus.Desc
}

func (c rttCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c rttCollector) Collect(ch chan<- prometheus.Metric) {
	n, sum, buckets := c.e.RTTHistogram()
	ch <- prometheus.MustNewConstHistogram(c.desc, n, sum, buckets)
}
