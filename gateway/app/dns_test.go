package app

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/sipserver"
)

// TestDNSOptionsFromConfig: the dns and trunks keys map to dnssrv options
// (dnssrv does not read the config).
func TestDNSOptionsFromConfig(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
dns: {servers: ["127.0.0.1:5399"], ipv6: false, timeout: 1s, max_stale: 0s}
trunks:
  - {name: pbx, target: "sip:pbx.test;transport=udp", failover_timeout: 700ms, max_fails: 3, probe: {interval: 2s, mode: all, up_after: 2}}
`))
	if err != nil {
		t.Fatal(err)
	}
	ro := ResolverOptions(cfg.DNS)
	if len(ro.Servers) != 1 || ro.Servers[0] != "127.0.0.1:5399" || !ro.IPv4Only || ro.Timeout != time.Second || ro.MaxStale != -1 {
		t.Errorf("resolver options %+v", ro)
	}
	to := TrunkOptions(cfg.Trunks[0])
	if to.Name != "pbx" || to.FailoverTimeout != 700*time.Millisecond || to.Health.MaxFails != 3 ||
		to.Health.UpAfter != 2 || to.Probe.Interval != 2*time.Second || !to.Probe.All {
		t.Errorf("trunk options %+v", to)
	}
	m, err := newDNSManager(cfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if _, err := m.Trunk("pbx"); err != nil {
		t.Error(err)
	}
}

// TestListenerFor: UDP requests to a trunk leave from the listener on the
// address the kernel routes from, else a wildcard one, never from an
// ephemeral port; other transports are left to sipgo.
func TestListenerFor(t *testing.T) {
	bound := func(addrs ...string) func() []sipserver.Bound {
		return func() []sipserver.Bound {
			var bs []sipserver.Bound
			for _, a := range addrs {
				bs = append(bs, sipserver.Bound{Scheme: "udp", Addr: a})
			}
			return append(bs, sipserver.Bound{Scheme: "tcp", Addr: "127.0.0.1:5060"})
		}
	}
	dst := netip.MustParseAddrPort("127.0.0.2:5060")
	for _, tc := range []struct {
		name   string
		bound  []string
		tp     dnssrv.Transport
		dst    netip.AddrPort
		want   string
		wantOK bool
	}{
		{"exact", []string{"192.0.2.1:5070", "127.0.0.1:5080"}, dnssrv.UDP, dst, "127.0.0.1:5080", true},
		{"wildcard", []string{"0.0.0.0:5070"}, dnssrv.UDP, dst, "0.0.0.0:5070", true},
		{"dual stack", []string{"[::]:5070"}, dnssrv.UDP, dst, "[::]:5070", true},
		{"exact beats wildcard", []string{"0.0.0.0:5070", "127.0.0.1:5080"}, dnssrv.UDP, dst, "127.0.0.1:5080", true},
		{"same family", []string{"[::1]:5070", "192.0.2.1:5090"}, dnssrv.UDP, dst, "192.0.2.1:5090", true},
		{"no v4 listener", []string{"[::1]:5070"}, dnssrv.UDP, dst, "", false},
		{"tcp", []string{"127.0.0.1:5080"}, dnssrv.TCP, dst, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := listenerFor(bound(tc.bound...))(tc.tp, tc.dst)
			if ok != tc.wantOK || ok && got.String() != tc.want {
				t.Errorf("got %v %v, want %v %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestPickListenerAsksRouteOnlyWhenItMatters: the kernel's route (a
// socket per request, 10 % of a call's CPU when it ran every time) is
// asked only when it decides between listeners, and then decides.
func TestPickListenerAsksRouteOnlyWhenItMatters(t *testing.T) {
	dst := netip.MustParseAddrPort("192.0.2.9:5060")
	udp := func(addrs ...string) []sipserver.Bound {
		var bs []sipserver.Bound
		for _, a := range addrs {
			bs = append(bs, sipserver.Bound{Scheme: "udp", Addr: a})
		}
		return append(bs, sipserver.Bound{Scheme: "tcp", Addr: "127.0.0.1:5060"})
	}
	for _, tc := range []struct {
		name      string
		bound     []sipserver.Bound
		src       string
		want      string
		wantAsked bool
	}{
		{"one listener", udp("127.0.0.1:5080"), "10.0.0.1", "127.0.0.1:5080", false},
		{"one wildcard", udp("0.0.0.0:5080"), "10.0.0.1", "0.0.0.0:5080", false},
		{"one of the family", udp("[::1]:5070", "10.0.0.1:5080"), "10.0.0.1", "10.0.0.1:5080", false},
		{"two, route picks the second", udp("10.0.0.1:5070", "10.0.0.2:5080"), "10.0.0.2", "10.0.0.2:5080", true},
		{"two, route matches none", udp("10.0.0.1:5070", "10.0.0.2:5080"), "10.0.0.3", "10.0.0.1:5070", true},
		{"specific beside wildcard, route picks it", udp("0.0.0.0:5070", "10.0.0.2:5080"), "10.0.0.2", "10.0.0.2:5080", true},
		{"specific beside wildcard, route elsewhere", udp("10.0.0.2:5080", "0.0.0.0:5070"), "10.0.0.3", "0.0.0.0:5070", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			route := func(netip.AddrPort) netip.Addr { asked = true; return netip.MustParseAddr(tc.src) }
			got, ok := pickListener(tc.bound, dst, route)
			if !ok || got.String() != tc.want || asked != tc.wantAsked {
				t.Errorf("got %v %v asked %v, want %v asked %v", got, ok, asked, tc.want, tc.wantAsked)
			}
		})
	}
}

// BenchmarkListenerFor: the listener a trunk request leaves from, with
// the bench target's one UDP listener (no route lookup) and with two
// (one route lookup: a UDP socket and its connect).
func BenchmarkListenerFor(b *testing.B) {
	dst := netip.MustParseAddrPort("127.0.0.1:5090")
	for _, addrs := range [][]string{{"127.0.0.1:5080"}, {"127.0.0.1:5080", "127.0.0.2:5080"}} {
		var bs []sipserver.Bound
		for _, a := range addrs {
			bs = append(bs, sipserver.Bound{Scheme: "udp", Addr: a})
		}
		f := listenerFor(func() []sipserver.Bound { return bs })
		b.Run(fmt.Sprintf("udp-listeners=%d", len(addrs)), func(b *testing.B) {
			for b.Loop() {
				if _, ok := f(dnssrv.UDP, dst); !ok {
					b.Fatal("no listener")
				}
			}
		})
	}
}
