package app

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/store"
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

// mediaSides chooses where each leg of a call has its relay side: the
// media interface of the leg (media.interfaces; trunks[].media_interface for
// a trunk's leg, media.listeners for a phone's, else the first interface)
// and, of that interface, the address of the leg's family, so an IPv6 far
// end gets an IPv6 side (c=IN IP6). Without interfaces every IPv4 leg gets
// the relay's default side (0.0.0.0, media.public_address in SDP) and an
// IPv6 leg one on the first IPv6 SIP listener's address.
type mediaSides struct {
	relay     *relay.Relay
	def       string                // the first interface; "" without interfaces
	ifaces    map[string]ifaceAddrs // by name
	trunks    map[string]string     // trunk name → interface
	listeners []mediaListener
	v6        relay.Endpoint // without interfaces: the IPv6 side (zero: none)
	resolve   time.Duration  // bound on a trunk's resolution for its family
}

// ifaceAddrs are an interface's IPv4 and IPv6 endpoints; a zero Bind is
// an address family the interface lacks.
type ifaceAddrs struct{ v4, v6 relay.Endpoint }

// mediaListener is one media.listeners entry, parsed.
type mediaListener struct {
	scheme string
	host   netip.Addr // zero: every address
	iface  string
}

func newMediaSides(cfg *config.Config, rl *relay.Relay) *mediaSides {
	m := &mediaSides{relay: rl, ifaces: map[string]ifaceAddrs{}, trunks: map[string]string{}, resolve: 2 * time.Second}
	for _, mi := range cfg.Media.Interfaces {
		if m.def == "" {
			m.def = mi.Name
		}
		bind, _ := netip.ParseAddr(mi.Address) // validated
		adv, _ := netip.ParseAddr(mi.Advertise)
		ep := relay.Endpoint{Bind: bind.Unmap(), Advertise: adv.Unmap()}
		ia := m.ifaces[mi.Name]
		if ep.Bind.Is4() {
			ia.v4 = ep
		} else {
			ia.v6 = ep
		}
		m.ifaces[mi.Name] = ia
	}
	for _, tc := range cfg.Trunks {
		if tc.MediaInterface != "" {
			m.trunks[tc.Name] = tc.MediaInterface
		}
	}
	for _, ml := range cfg.Media.Listeners {
		l, err := config.ParseListener(ml.Listen)
		if err != nil {
			continue // validated
		}
		host, _ := netip.ParseAddr(l.Host)
		if host.IsValid() && host.IsUnspecified() {
			host = netip.Addr{}
		}
		m.listeners = append(m.listeners, mediaListener{scheme: l.Scheme, host: host.Unmap(), iface: ml.Interface})
	}
	if m.def == "" {
		m.v6 = defaultV6(cfg)
	}
	return m
}

// defaultV6 is the IPv6 side of a gateway without media.interfaces: on the
// first SIP listener with a specific IPv6 address, or on every IPv6 address
// with the source of the IPv6 default route in SDP when a listener is on
// [::]. Zero when no listener takes IPv6.
func defaultV6(cfg *config.Config) relay.Endpoint {
	wild := false
	for _, l := range cfg.Listeners() {
		ip, err := netip.ParseAddr(l.Host)
		switch {
		case err != nil || !ip.Is6() || ip.Is4In6():
		case ip.IsUnspecified():
			wild = true
		default:
			return relay.Endpoint{Bind: ip}
		}
	}
	if wild {
		// 2001:db8::/32 is the documentation prefix (RFC 3849): only the route is looked up
		if src := routeSource(netip.MustParseAddrPort("[2001:db8::1]:9")); src.Is6() && !src.IsLoopback() {
			return relay.Endpoint{Bind: netip.IPv6Unspecified(), Advertise: src}
		}
	}
	return relay.Endpoint{}
}

// session implements b2bua.Options.MediaSession.
func (m *mediaSides) session(req *sip.Request, from, to *dnssrv.Trunk, contacts []store.Binding) (*relay.Session, error) {
	src := hostAddr(req.Source())
	var a relay.Endpoint
	if from != nil {
		a = m.endpoint(m.trunkIface(from), src.Is6())
	} else {
		a = m.endpoint(m.listenerIface(req.Transport(), src), src.Is6())
	}
	var b relay.Endpoint
	switch {
	case to != nil:
		name := m.trunkIface(to)
		b = m.endpoint(name, m.dualStack(name) && m.trunkIs6(to))
	case len(contacts) > 0:
		// the first contact's: the relay has one side for every branch
		c := hostAddr(contacts[0].Source)
		b = m.endpoint(m.listenerIface(contacts[0].Transport, c), c.Is6())
	default:
		b = a // nobody to ring: the call fails before media
	}
	return m.relay.NewSessionOn(a, b)
}

// endpoint is the side of interface name for a far end of the given family;
// the interface's other family when it has only that one.
func (m *mediaSides) endpoint(name string, v6 bool) relay.Endpoint {
	if m.def == "" {
		if v6 && m.v6.Bind.IsValid() {
			return m.v6
		}
		return relay.Endpoint{} // the relay's default: 0.0.0.0, media.public_address
	}
	ia := m.ifaces[name]
	switch {
	case v6 && ia.v6.Bind.IsValid(), !ia.v4.Bind.IsValid():
		return ia.v6
	}
	return ia.v4
}

// dualStack reports whether interface name has a side for each family,
// so that the far end's family matters (a trunk's is then looked up).
func (m *mediaSides) dualStack(name string) bool {
	if m.def == "" {
		return m.v6.Bind.IsValid()
	}
	ia := m.ifaces[name]
	return ia.v4.Bind.IsValid() && ia.v6.Bind.IsValid()
}

func (m *mediaSides) trunkIface(t *dnssrv.Trunk) string {
	if name, ok := m.trunks[t.Name()]; ok {
		return name
	}
	return m.def
}

// listenerIface is the interface of the SIP listener a phone talks to: of
// the request's transport, on the address the gateway reaches the phone
// from (a listener on every address matches any).
func (m *mediaSides) listenerIface(transport string, remote netip.Addr) string {
	if len(m.listeners) == 0 || !remote.IsValid() {
		return m.def
	}
	local := routeSource(netip.AddrPortFrom(remote, 9))
	transport = strings.ToLower(transport)
	name := ""
	for _, l := range m.listeners {
		switch {
		case l.scheme != transport:
		case l.host.IsValid() && l.host == local:
			return l.iface
		case !l.host.IsValid() && name == "":
			name = l.iface
		}
	}
	if name == "" {
		return m.def
	}
	return name
}

// trunkIs6 reports whether the trunk's server is reached over IPv6: its
// target's IP, else its first resolved server (cached; bounded).
func (m *mediaSides) trunkIs6(t *dnssrv.Trunk) bool {
	if st, err := dnssrv.ParseTarget(t.Target()); err == nil {
		if ip, err := netip.ParseAddr(st.Host); err == nil {
			return ip.Is6() && !ip.Is4In6()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.resolve)
	defer cancel()
	ts, err := t.Targets(ctx)
	if err != nil || len(ts) == 0 {
		return false
	}
	ip := ts[0].Addr.Addr()
	return ip.Is6() && !ip.Is4In6()
}

// hostAddr is the IP of "host:port" (a SIP source), or the zero Addr.
func hostAddr(hostport string) netip.Addr {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
