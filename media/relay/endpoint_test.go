package relay

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// haveIPv6 skips a test on a machine without an IPv6 loopback.
func haveIPv6(t *testing.T) {
	t.Helper()
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	_ = probe.Close()
}

// newEndpoint6 is a fake phone on ::1.
func newEndpoint6(t *testing.T, ssrc uint32) *endpoint {
	t.Helper()
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &endpoint{t: t, conn: c, ssrc: ssrc, seq: 1, ts: 1}
}

// A session with its sides on two address families: an IPv4 phone on one
// side, an IPv6 PBX on the other. Each side's sockets are bound on its own
// endpoint, media flows both ways, and each side advertises its address.
func TestSessionOnMixedFamilies(t *testing.T) {
	t.Parallel()
	haveIPv6(t)
	r := newTestRelay(t, Config{})
	v6 := netip.IPv6Loopback()
	s, err := r.NewSessionOn(Endpoint{Bind: loopback}, Endpoint{Bind: v6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if got := s.A().LocalAddr(); got.Addr() != loopback {
		t.Fatalf("A bound on %v, want %v", got, loopback)
	}
	if got := s.B().LocalAddr(); got.Addr() != v6 || s.B().LocalRTCPAddr().Addr() != v6 {
		t.Fatalf("B bound on %v and %v, want %v", got, s.B().LocalRTCPAddr(), v6)
	}
	if s.A().Advertised() != loopback || s.B().Advertised() != v6 {
		t.Fatalf("advertised %v / %v", s.A().Advertised(), s.B().Advertised())
	}
	phone, pbx := newEndpoint(t), newEndpoint6(t, 77)
	s.A().SetRemote(Remote{RTP: phone.addr()})
	s.B().SetRemote(Remote{RTP: pbx.addr()})
	for range 3 {
		phone.send(s.A().LocalAddr(), phone.packet())
		if p := pbx.recvRTP(2 * time.Second); p == nil || p.SSRC != phone.ssrc {
			t.Fatalf("v4 phone → v6 PBX: %v", p)
		}
		pbx.send(s.B().LocalAddr(), pbx.packet())
		b, from := phone.recv(2 * time.Second)
		if b == nil || from != s.A().LocalAddr() {
			t.Fatalf("v6 PBX → v4 phone: %d bytes from %v", len(b), from)
		}
	}
	if a, b := s.Stats(); a.Forwarded != 3 || b.Forwarded != 3 {
		t.Fatalf("forwarded %d and %d, want 3 each", a.Forwarded, b.Forwarded)
	}
}

// Two interfaces on one host: the sides bind on their own addresses, and
// an advertised (public) address is what SDP gets. A packet sent to a
// side's port on the other interface's address reaches nothing.
func TestSessionOnTwoInterfaces(t *testing.T) {
	t.Parallel()
	lan, pub := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	public := netip.MustParseAddr("203.0.113.5")
	r := newTestRelay(t, Config{})
	s, err := r.NewSessionOn(Endpoint{Bind: pub, Advertise: public}, Endpoint{Bind: lan})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.A().LocalAddr().Addr() != pub || s.B().LocalAddr().Addr() != lan {
		t.Fatalf("bound on %v and %v", s.A().LocalAddr(), s.B().LocalAddr())
	}
	if s.A().Advertised() != public || s.B().Advertised() != lan {
		t.Fatalf("advertised %v and %v, want %v and %v", s.A().Advertised(), s.B().Advertised(), public, lan)
	}
	phone, pbx := newEndpointAt(t, pub), newEndpointAt(t, lan)
	s.A().SetRemote(Remote{RTP: phone.addr()})
	s.B().SetRemote(Remote{RTP: pbx.addr()})
	// to A's port on the LAN address: no socket there
	phone.send(netip.AddrPortFrom(lan, uint16(s.A().Port())), phone.packet())
	if p := pbx.recvRTP(100 * time.Millisecond); p != nil {
		t.Fatalf("relayed from the wrong interface: %v", p)
	}
	phone.send(s.A().LocalAddr(), phone.packet())
	if b, from := pbx.recv(2 * time.Second); b == nil || from != s.B().LocalAddr() {
		t.Fatalf("phone → PBX: %d bytes from %v, want from %v", len(b), from, s.B().LocalAddr())
	}
}

// The default session (NewSession, a relay on every address) advertises
// nothing, so the B2BUA keeps writing media.public_address.
func TestSessionDefaultAdvertisesNothing(t *testing.T) {
	t.Parallel()
	base := testPortBase()
	r, err := New(Config{PortMin: base, PortMax: base + 99})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if a := s.A().Advertised(); a.IsValid() {
		t.Fatalf("advertised %v for a relay on 0.0.0.0", a)
	}
	if a := s.A().LocalAddr().Addr(); !a.IsUnspecified() {
		t.Fatalf("bound on %v", a)
	}
}

func TestEndpointChecks(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	_, err := r.NewSessionOn(Endpoint{Bind: loopback, Advertise: netip.MustParseAddr("2001:db8::1")}, Endpoint{})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("IPv4 bind advertised as IPv6: %v, want ErrInvalidConfig", err)
	}
	if r.Len() != 0 {
		t.Fatalf("%d sessions after a refused endpoint", r.Len())
	}
	for _, n := range []int{-1, maxThreads + 1} {
		if _, err := New(Config{Threads: n}); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("threads %d: %v, want ErrInvalidConfig", n, err)
		}
	}
}

// A side on IPv6 takes hostile input as an IPv4 side does: runts, non-RTP,
// oversize datagrams and a flood of them are counted Invalid and never
// forwarded, and the call's media still flows afterwards.
func TestIPv6SideHostileInput(t *testing.T) {
	t.Parallel()
	haveIPv6(t)
	r := newTestRelay(t, Config{})
	v6 := netip.IPv6Loopback()
	s, err := r.NewSessionOn(Endpoint{Bind: v6}, Endpoint{Bind: v6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	phone, pbx := newEndpoint6(t, 5), newEndpoint6(t, 6)
	s.A().SetRemote(Remote{RTP: phone.addr()})
	s.B().SetRemote(Remote{RTP: pbx.addr()})
	bad := [][]byte{{}, {0x80}, []byte("INVITE sip:x SIP/2.0\r\n"), make([]byte, 12), make([]byte, maxPacket+100)}
	bad[3][0] = 0x40 // version 1
	bad[4][0] = 0x80
	const flood = 500
	for i := range flood {
		phone.send(s.A().LocalAddr(), bad[i%len(bad)])
	}
	// the kernel may drop some of the flood (a full receive buffer): what
	// reached the relay is counted Invalid, none of it as RTP
	time.Sleep(200 * time.Millisecond)
	if st := s.A().Stats(); st.Invalid < flood/10 || st.Invalid > flood || st.Packets != 0 || st.Forwarded != 0 {
		t.Fatalf("after %d hostile datagrams: invalid %d, packets %d, forwarded %d", flood, st.Invalid, st.Packets, st.Forwarded)
	}
	t.Logf("%d of %d hostile datagrams reached the relay", s.A().Stats().Invalid, flood)
	if b, _ := pbx.recv(50 * time.Millisecond); b != nil {
		t.Fatalf("forwarded %d bytes of garbage", len(b))
	}
	phone.send(s.A().LocalAddr(), phone.packet())
	if p := pbx.recvRTP(2 * time.Second); p == nil || p.SSRC != 5 {
		t.Fatalf("after the flood: %v", p)
	}
}
