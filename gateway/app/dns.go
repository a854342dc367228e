package app

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/sipserver"
)

// newDNSManager builds the trunks' resolver, health and probing from the
// dns and trunks keys of cfg (dnssrv knows nothing of the config). Probes
// are sent with a sipgo client over ua (the gateway's user agent, so that
// they leave from its listeners); a nil ua turns probing off. bound, if
// set, lists the open listeners: UDP requests to a trunk leave from one
// of them, not from an ephemeral port.
func newDNSManager(cfg *config.Config, ua *sipgo.UserAgent, bound func() []sipserver.Bound, log *slog.Logger) (*dnssrv.Manager, error) {
	o := dnssrv.ManagerOptions{Resolver: ResolverOptions(cfg.DNS), Logger: log}
	for _, tc := range cfg.Trunks {
		o.Trunks = append(o.Trunks, TrunkOptions(tc))
	}
	if bound != nil {
		o.LocalAddr = listenerFor(bound)
	}
	if ua != nil {
		c, err := sipgo.NewClient(ua)
		if err != nil {
			return nil, fmt.Errorf("dnssrv: sip client: %w", err)
		}
		o.Prober = &dnssrv.OptionsProber{Client: c, From: probeFrom(cfg), LocalAddr: o.LocalAddr}
	}
	return dnssrv.NewManager(o)
}

// probeFrom is the From URI of probes: sip:switchboard@<first domain>.
func probeFrom(cfg *config.Config) string {
	d := cfg.Domains()
	if len(d) == 0 {
		return ""
	}
	host := d[0]
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "sip:switchboard@" + host
}

// ResolverOptions converts the dns config key.
func ResolverOptions(c config.DNS) dnssrv.Options {
	o := dnssrv.Options{
		Servers:        c.Servers,
		Timeout:        c.Timeout.D(),
		Attempts:       c.Attempts,
		EDNSBuffer:     c.EDNSBuffer,
		IPv4Only:       !c.IPv6,
		CacheSize:      c.CacheSize,
		MaxStale:       c.MaxStale.D(),
		MaxNegativeTTL: c.MaxNegativeTTL.D(),
	}
	if c.EDNSBuffer == 0 {
		o.EDNSBuffer = -1
	}
	if c.MaxStale == 0 {
		o.MaxStale = -1
	}
	for _, tp := range c.Transports {
		o.Transports = append(o.Transports, dnssrv.Transport(tp))
	}
	return o
}

// TrunkOptions converts one trunks entry.
func TrunkOptions(c config.Trunk) dnssrv.TrunkOptions {
	return dnssrv.TrunkOptions{
		Name:            c.Name,
		Target:          c.Target,
		FailoverTimeout: c.FailoverTimeout.D(),
		Timeout:         c.Timeout.D(),
		FailoverCodes:   append([]int{}, c.FailoverCodes...),
		Health:          dnssrv.HealthOptions{MaxFails: c.MaxFails, UpAfter: c.Probe.UpAfter},
		Probe: dnssrv.ProbeOptions{
			Interval: c.Probe.Interval.D(),
			Timeout:  c.Probe.Timeout.D(),
			All:      c.Probe.Mode == "all",
		},
	}
}

// listenerFor returns the UDP listener a request to dst leaves from: the
// one bound to the local address the kernel would route dst from, else one
// bound to the unspecified address of dst's family, else the first of
// that family. ok is false when there is no UDP listener of the family.
func listenerFor(bound func() []sipserver.Bound) func(dnssrv.Transport, netip.AddrPort) (netip.AddrPort, bool) {
	return func(tp dnssrv.Transport, dst netip.AddrPort) (netip.AddrPort, bool) {
		if tp != dnssrv.UDP {
			return netip.AddrPort{}, false
		}
		return pickListener(bound(), dst, routeSource)
	}
}

// pickListener is listenerFor's rule over the bound listeners. It asks
// route (a socket and a connect: the costliest step of a call's routing
// when it ran per request) only when the answer depends on it: when more
// than one specific listener of dst's family, or one beside a wildcard,
// could send to dst.
func pickListener(bound []sipserver.Bound, dst netip.AddrPort, route func(netip.AddrPort) netip.Addr) (netip.AddrPort, bool) {
	var wild, first netip.AddrPort
	specific := 0
	v6 := dst.Addr().Unmap().Is6()
	for _, b := range bound {
		a, ok := udpListener(b, v6)
		if !ok {
			continue
		}
		ip := a.Addr().Unmap()
		if ip.IsUnspecified() {
			// [::] takes IPv4 too (dual stack); 0.0.0.0 only IPv4.
			if !wild.IsValid() {
				wild = a
			}
			continue
		}
		if !first.IsValid() {
			first = a
		}
		specific++
	}
	switch {
	case specific == 0 && wild.IsValid():
		return wild, true
	case specific == 0:
		return netip.AddrPort{}, false
	case specific == 1 && !wild.IsValid():
		return first, true
	}
	if src := route(dst); src.IsValid() {
		for _, b := range bound {
			if a, ok := udpListener(b, v6); ok && a.Addr().Unmap() == src {
				return a, true
			}
		}
	}
	if wild.IsValid() {
		return wild, true
	}
	return first, true
}

// udpListener is b's address when b is a UDP listener that can send to
// an address of the family v6 says ([::] takes IPv4 too).
func udpListener(b sipserver.Bound, v6 bool) (netip.AddrPort, bool) {
	if b.Scheme != "udp" {
		return netip.AddrPort{}, false
	}
	a := b.AddrPort
	if !a.IsValid() {
		var err error
		if a, err = netip.ParseAddrPort(b.Addr); err != nil {
			return netip.AddrPort{}, false
		}
	}
	ip := a.Addr().Unmap()
	switch {
	case ip.IsUnspecified():
		return a, ip.Is6() || !v6
	case ip.Is6() != v6:
		return netip.AddrPort{}, false
	}
	return a, true
}

// routeSource is the local address the kernel picks to reach dst (a UDP
// "connect" sends nothing), or the zero Addr.
func routeSource(dst netip.AddrPort) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// checkTrunkTarget checks what dnssrv.NewTrunk checks of o's target.
func checkTrunkTarget(o dnssrv.TrunkOptions) error {
	if _, err := dnssrv.ParseTarget(o.Target); err != nil {
		return fmt.Errorf("trunk %s: target %q: %w", o.Name, o.Target, err)
	}
	return nil
}
