package app

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/media/relay"
)

// TestMediaSides: each leg of a call gets the relay side of its media
// interface (the trunk's, the listener's, else the first) and, of it, the
// address of the far end's family.
func TestMediaSides(t *testing.T) {
	base := freeRange(t, 200)
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
sip: {listen: ["udp://127.0.0.1:0", "tcp://127.0.0.1:0", "udp://[::1]:0"]}
turn: {enabled: false} # freeRange may fall in TURN's default relay range
media:
  port_min: %d
  port_max: %d
  interfaces:
    - {name: public, address: 127.0.0.3, advertise: 203.0.113.5}
    - {name: public, address: "::1"}
    - {name: lan, address: 127.0.0.2}
    - {name: tcpphones, address: 127.0.0.4}
  listeners:
    - {listen: "tcp://127.0.0.1:0", interface: tcpphones}
trunks:
  - {name: pbx, target: "sip:127.0.0.10:5060", media_interface: lan}
  - {name: pbx6, target: "sip:[::1]:5070"}
  - {name: carrier, target: "sip:127.0.0.11:5060"}
`, base, base+199)))
	if err != nil {
		t.Fatal(err)
	}
	rl, err := relay.New(relay.Config{PortMin: cfg.Media.PortMin, PortMax: cfg.Media.PortMax})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	res, err := dnssrv.NewResolver(ResolverOptions(cfg.DNS))
	if err != nil {
		t.Fatal(err)
	}
	trunks := map[string]*dnssrv.Trunk{}
	for _, tc := range cfg.Trunks {
		tr, err := dnssrv.NewTrunk(TrunkOptions(tc), res)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		trunks[tc.Name] = tr
	}
	m := newMediaSides(cfg, rl)
	invite := func(transport, src string) *sip.Request {
		req := sip.NewRequest(sip.INVITE, sip.Uri{User: "2000", Host: "gw"})
		req.SetTransport(transport)
		req.SetSource(src)
		return req
	}
	phone6 := []store.Binding{{Source: "[::1]:5062", Transport: "udp"}}
	for _, tc := range []struct {
		name     string
		req      *sip.Request
		from, to string
		contacts []store.Binding
		a, b     string // bound addresses; advertised in parentheses when not the bound one
	}{
		{"phone to PBX: public, LAN", invite("UDP", "127.0.0.1:5062"), "", "pbx", nil, "127.0.0.3 (203.0.113.5)", "127.0.0.2"},
		{"PBX to IPv6 phone: LAN, public IPv6", invite("UDP", "127.0.0.10:5060"), "pbx", "", phone6, "127.0.0.2", "::1"},
		{"IPv6 phone to IPv6 PBX", invite("UDP", "[::1]:5062"), "", "pbx6", nil, "::1", "::1"},
		{"TCP phone: its listener's interface", invite("TCP", "127.0.0.1:40000"), "", "carrier", nil, "127.0.0.4", "127.0.0.3 (203.0.113.5)"},
		{"PBX to IPv4 phone: LAN, public IPv4", invite("UDP", "127.0.0.10:5060"), "pbx", "", []store.Binding{{Source: "127.0.0.1:5062", Transport: "udp"}}, "127.0.0.2", "127.0.0.3 (203.0.113.5)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := m.session(tc.req, trunks[tc.from], trunks[tc.to], tc.contacts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := describe(s.A()); got != tc.a {
				t.Errorf("A side %s, want %s", got, tc.a)
			}
			if got := describe(s.B()); got != tc.b {
				t.Errorf("B side %s, want %s", got, tc.b)
			}
		})
	}
}

// freeRange finds n consecutive UDP ports, the first even, that nothing
// holds on any IPv4 or IPv6 address now (the relay needs a fixed range).
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 50000 + 2*rand.IntN((10000-n)/2)
		var held []net.PacketConn
		ok := true
		for p := base; p < base+n && ok; p++ {
			for _, network := range []string{"udp4", "udp6"} {
				c, err := net.ListenPacket(network, ":"+strconv.Itoa(p))
				if err != nil {
					ok = false
					break
				}
				held = append(held, c)
			}
		}
		for _, c := range held {
			_ = c.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

func describe(s *relay.Side) string {
	bound := s.LocalAddr().Addr()
	if adv := s.Advertised(); adv != bound {
		return bound.String() + " (" + adv.String() + ")"
	}
	return bound.String()
}

// Without media.interfaces, IPv4 legs keep today's side (every address,
// media.public_address in SDP: nothing advertised) and an IPv6 leg gets
// one on the IPv6 SIP listener's address.
func TestMediaSidesDefault(t *testing.T) {
	base := freeRange(t, 100)
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(`
sip: {listen: ["udp://127.0.0.1:0", "udp://[::1]:0"]}
turn: {enabled: false} # freeRange may fall in TURN's default relay range
media: {port_min: %d, port_max: %d, public_address: 192.0.2.7}
`, base, base+99)))
	if err != nil {
		t.Fatal(err)
	}
	rl, err := relay.New(relay.Config{PortMin: cfg.Media.PortMin, PortMax: cfg.Media.PortMax})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	m := newMediaSides(cfg, rl)
	req := sip.NewRequest(sip.INVITE, sip.Uri{User: "u2", Host: "gw"})
	req.SetTransport("UDP")
	req.SetSource("127.0.0.1:5062")
	s, err := m.session(req, nil, nil, []store.Binding{{Source: "[::1]:5064", Transport: "udp"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if a := s.A(); !a.LocalAddr().Addr().IsUnspecified() || a.Advertised().IsValid() {
		t.Errorf("IPv4 caller's side on %v advertising %v, want 0.0.0.0 and nothing", a.LocalAddr(), a.Advertised())
	}
	if b := s.B(); b.LocalAddr().Addr() != netip.IPv6Loopback() || b.Advertised() != netip.IPv6Loopback() {
		t.Errorf("IPv6 callee's side on %v advertising %v, want ::1", b.LocalAddr(), b.Advertised())
	}
}

// The default sides are IPv4 (0.0.0.0): the address they advertise is the
// first IPv4 listener's, even when an IPv6 listener comes first (IPv6 legs
// get the IPv6 listener's side).
func TestMediaAddressIsIPv4(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`sip: {listen: ["udp://[::1]:0", "udp://127.0.0.5:0"]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := mediaAddress(cfg)
	if err != nil || got != netip.MustParseAddr("127.0.0.5") {
		t.Fatalf("media address %v (%v), want 127.0.0.5", got, err)
	}
}
