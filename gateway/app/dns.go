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
		src := routeSource(dst)
		var wild, first netip.AddrPort
		for _, b := range bound() {
			if b.Scheme != "udp" {
				continue
			}
			a, err := netip.ParseAddrPort(b.Addr)
			if err != nil {
				continue
			}
			ip := a.Addr().Unmap()
			v6 := dst.Addr().Unmap().Is6()
			switch {
			case ip.IsUnspecified() && (ip.Is6() || !v6):
				// [::] takes IPv4 too (dual stack); 0.0.0.0 only IPv4.
				if !wild.IsValid() {
					wild = a
				}
				continue
			case ip.Is6() != v6:
				continue
			case src.IsValid() && ip == src:
				return a, true
			}
			if !first.IsValid() {
				first = a
			}
		}
		switch {
		case wild.IsValid():
			return wild, true
		case first.IsValid():
			return first, true
		}
		return netip.AddrPort{}, false
	}
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
