package turn

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
)

// relayEcho sends from the client through its relay to peer and back, and
// checks both packets arrive with the right addresses.
func relayEcho(t *testing.T, relay net.PacketConn, peer net.PacketConn) {
	t.Helper()
	out := []byte("hello peer, from the client via the relay")
	if _, err := relay.WriteTo(out, peer.LocalAddr()); err != nil {
		t.Fatalf("write to peer through the relay: %v", err)
	}
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(ioTimeout))
	n, from, err := peer.ReadFrom(buf)
	if err != nil {
		t.Fatalf("peer got nothing: %v", err)
	}
	if !bytes.Equal(buf[:n], out) {
		t.Fatalf("peer got %q", buf[:n])
	}
	if from.String() != relay.LocalAddr().String() {
		t.Errorf("peer saw the packet from %v, want the relayed address %v", from, relay.LocalAddr())
	}
	back := []byte("and back from the peer")
	if _, err := peer.WriteTo(back, from); err != nil {
		t.Fatal(err)
	}
	_ = relay.SetReadDeadline(time.Now().Add(ioTimeout))
	n, from, err = relay.ReadFrom(buf)
	if err != nil {
		t.Fatalf("client got nothing back: %v", err)
	}
	if !bytes.Equal(buf[:n], back) || from.String() != peer.LocalAddr().String() {
		t.Fatalf("client got %q from %v, want %q from %v", buf[:n], from, back, peer.LocalAddr())
	}
}

func TestRelayUDPBothWays(t *testing.T) {
	s := startServer(t, func(o *Options) { o.AllowPeers = []netip.Prefix{loopback} })
	user, pass := restCreds("alice", time.Hour)
	c := pionClient(t, s, user, pass)

	mapped, err := c.SendBindingRequest() // STUN (RFC 8489) on the same port
	if err != nil {
		t.Fatalf("binding: %v", err)
	}
	if !strings.HasPrefix(mapped.String(), "127.0.0.1:") {
		t.Errorf("mapped address %v", mapped)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	defer relay.Close()
	relayEcho(t, relay, udpPeer(t, "127.0.0.2"))

	// The packet to the peer is counted once its send returns, which may
	// be after the peer's echo came back: wait for the counters to settle.
	waitFor(t, "the echo counted both ways", func() bool {
		st := s.Stats()
		return st.PacketsToPeer >= 1 && st.PacketsFromPeer >= 1
	})
	st := s.Stats()
	if st.Allocations != 1 || st.PacketsToPeer != 1 || st.PacketsFromPeer != 1 || st.BytesToPeer == 0 {
		t.Errorf("stats after one echo: %+v", st)
	}
	as := s.Allocations()
	if len(as) != 1 || as[0].User != "alice" || as[0].Transport != "UDP" || as[0].Relay != relay.LocalAddr().String() ||
		as[0].PacketsToPeer != 1 || as[0].Permissions != 1 {
		t.Errorf("allocations: %+v", as)
	}
	_ = relay.Close() // Refresh with lifetime 0
	waitFor(t, "allocation gone", func() bool { return len(s.Allocations()) == 0 })
}

func TestRelayOverTCPAndTLS(t *testing.T) {
	s := startServer(t, func(o *Options) { o.AllowPeers = []netip.Prefix{loopback} })
	for _, scheme := range []string{"tcp", "tls"} {
		t.Run(scheme, func(t *testing.T) {
			var conn net.Conn
			var err error
			if scheme == "tls" {
				conn, err = tls.Dial("tcp", s.addr(t, "tls"), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // self-signed test cert
			} else {
				conn, err = net.Dial("tcp", s.addr(t, "tcp"))
			}
			if err != nil {
				t.Fatal(err)
			}
			user, pass := restCreds("bob-"+scheme, time.Hour)
			c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: conn.RemoteAddr().String(),
				TURNServerAddr: conn.RemoteAddr().String(), Username: user, Password: pass, Realm: testRealm,
				Conn: pturn.NewSTUNConn(conn)})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Listen(); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			relay, err := c.Allocate()
			if err != nil {
				t.Fatalf("allocate over %s: %v", scheme, err)
			}
			defer relay.Close()
			relayEcho(t, relay, udpPeer(t, "127.0.0.3"))
		})
	}
}

// TestDeniedPeers: internal addresses get 403 unless allow-listed.
func TestDeniedPeers(t *testing.T) {
	s := startServer(t, func(o *Options) { o.AllowPeers = []netip.Prefix{netip.MustParsePrefix("10.1.2.0/24")} })
	user, pass := restCreds("carol", time.Hour)
	c := newRawClient(t, "udp", s.addr(t, "udp"), user, pass)
	if res := c.request(stun.MethodAllocate, udpTransport); errorCode(res) != 0 {
		t.Fatalf("allocate: %v", errorCode(res))
	}
	for _, tc := range []struct {
		ip   string
		want stun.ErrorCode
	}{
		{"127.0.0.1", stun.CodeForbidden},
		{"10.0.0.5", stun.CodeForbidden},
		{"172.16.1.1", stun.CodeForbidden},
		{"192.168.1.1", stun.CodeForbidden},
		{"100.64.0.1", stun.CodeForbidden},
		{"169.254.169.254", stun.CodeForbidden},
		{"224.0.0.1", stun.CodeForbidden},
		{"0.0.0.0", stun.CodeForbidden},
		{"10.1.2.3", 0}, // allow-listed
		{"8.8.8.8", 0},  // public
	} {
		res := c.request(stun.MethodCreatePermission, peerAddr{net.ParseIP(tc.ip), 9})
		if got := errorCode(res); got != tc.want {
			t.Errorf("CreatePermission %s: code %d, want %d", tc.ip, got, tc.want)
		}
	}
	if s.Stats().DeniedPeers < 8 {
		t.Errorf("denied peers counted %d", s.Stats().DeniedPeers)
	}
}

func TestPeerFilter(t *testing.T) {
	f := NewPeerFilter(nil)
	for _, tc := range []struct {
		ip string
		ok bool
	}{
		{"127.0.0.1", false}, {"127.9.9.9", false}, {"::1", false}, {"::ffff:127.0.0.1", false},
		{"10.1.1.1", false}, {"172.31.255.255", false}, {"172.32.0.1", true}, {"192.168.0.1", false},
		{"100.64.0.1", false}, {"100.127.255.255", false}, {"100.128.0.1", true},
		{"169.254.169.254", false}, {"fd00:ec2::254", false}, {"fc00::1", false}, {"fe80::1", false},
		{"224.0.0.251", false}, {"ff02::1", false}, {"255.255.255.255", false}, {"0.0.0.0", false}, {"::", false},
		{"8.8.8.8", true}, {"2001:4860:4860::8888", true}, {"203.0.113.7", true},
	} {
		if got := f.Allowed(netip.MustParseAddr(tc.ip)); got != tc.ok {
			t.Errorf("Allowed(%s) = %v, want %v", tc.ip, got, tc.ok)
		}
	}
	open := NewPeerFilter([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8")})
	if !open.Allowed(netip.MustParseAddr("127.0.0.2")) || !open.Allowed(netip.MustParseAddr("::ffff:127.0.0.2")) ||
		!open.Allowed(netip.MustParseAddr("fd00:ec2::254")) || open.Allowed(netip.MustParseAddr("10.0.0.1")) {
		t.Error("allow-list not applied")
	}
}

// TestAuthFailures: expired REST credentials, a wrong password, an unknown
// static user and a foreign realm get 401; a static user and fresh REST
// credentials allocate.
func TestAuthFailures(t *testing.T) {
	s := startServer(t, func(o *Options) { o.Users = map[string]string{"static": "pw"} })
	expiredU, expiredP := restCreds("dave", -time.Minute)
	freshU, freshP := restCreds("dave", time.Hour)
	for _, tc := range []struct {
		name, user, pass string
		want             stun.ErrorCode
	}{
		{"expired", expiredU, expiredP, stun.CodeUnauthorized},
		{"wrong password", freshU, "not-the-password", stun.CodeUnauthorized},
		{"unknown user", "nobody", "pw", stun.CodeUnauthorized},
		{"static wrong password", "static", "nope", stun.CodeUnauthorized},
		{"static", "static", "pw", 0},
		{"fresh REST", freshU, freshP, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newRawClient(t, "udp", s.addr(t, "udp"), tc.user, tc.pass)
			if got := errorCode(c.request(stun.MethodAllocate, udpTransport)); got != tc.want {
				t.Errorf("allocate: code %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("foreign realm", func(t *testing.T) {
		c := newRawClient(t, "udp", s.addr(t, "udp"), freshU, freshP)
		res := c.roundTrip(stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport).Raw, ioTimeout)
		var nonce stun.Nonce
		if err := nonce.GetFrom(res); err != nil {
			t.Fatal(err)
		}
		m := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport,
			stun.NewUsername(freshU), stun.NewRealm("other.realm"), nonce,
			stun.NewLongTermIntegrity(freshU, "other.realm", RESTPassword(testSecret, freshU)), stun.Fingerprint)
		if res := c.roundTrip(m.Raw, ioTimeout); res == nil || errorCode(res) != stun.CodeUnauthorized {
			t.Errorf("foreign realm: %v", res)
		}
	})
	st := s.Stats()
	if st.AuthExpired == 0 || st.AuthIntegrity == 0 || st.AuthUnknown == 0 {
		t.Errorf("auth failures not counted: %+v", st)
	}
}

// TestQuotas: the user quota and the total quota answer 486 (RFC 8656 §7.2).
func TestQuotas(t *testing.T) {
	s := startServer(t, func(o *Options) { o.UserQuota = 2; o.TotalQuota = 3 })
	alloc := func(name string) stun.ErrorCode {
		u, p := restCreds(name, time.Hour)
		c := newRawClient(t, "udp", s.addr(t, "udp"), u, p)
		return errorCode(c.request(stun.MethodAllocate, udpTransport))
	}
	for i, tc := range []struct {
		user string
		want stun.ErrorCode
	}{
		{"erin", 0}, {"erin", 0}, {"erin", stun.CodeAllocQuotaReached}, // user quota 2
		{"frank", 0}, {"grace", stun.CodeAllocQuotaReached}, // total quota 3
	} {
		if got := alloc(tc.user); got != tc.want {
			t.Errorf("allocation %d for %s: code %d, want %d", i, tc.user, got, tc.want)
		}
	}
	if st := s.Stats(); st.QuotaUser != 1 || st.QuotaTotal != 1 || st.Allocations != 3 {
		t.Errorf("stats: %+v", st)
	}
}

// TestBandwidthCap: a burst far over the cap is cut; what passes is
// about the bucket's depth (one second of the rate).
func TestBandwidthCap(t *testing.T) {
	s := startServer(t, func(o *Options) { o.AllowPeers = []netip.Prefix{loopback}; o.MaxBitrate = 80_000 })
	u, p := restCreds("heidi", time.Hour)
	relay, err := pionClient(t, s, u, p).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	peer := udpPeer(t, "127.0.0.4")
	relayEcho(t, relay, peer) // permission in place
	payload := make([]byte, 1000)
	const sent = 300 // 300 kB against a 10 kB/s cap
	for range sent {
		if _, err := relay.WriteTo(payload, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	buf := make([]byte, 2000)
	for {
		_ = peer.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, _, err := peer.ReadFrom(buf); err != nil {
			break
		}
		got++
	}
	t.Logf("cap 80 kbit/s: %d of %d packets of 1000 bytes passed", got, sent)
	if got == 0 || got > sent/2 {
		t.Errorf("%d of %d packets passed a 10 kB/s cap", got, sent)
	}
	if d := s.Stats().DroppedOverCap; d < sent/2 {
		t.Errorf("%d of %d packets dropped over the cap, want most", d, sent)
	}
}

func TestICEServers(t *testing.T) {
	s := startServer(t, func(o *Options) { o.PublicHost = "turn.example.com"; o.CredentialTTL = time.Hour })
	now := time.Unix(1_900_000_000, 0)
	got := s.ICEServers("alice", now)
	if len(got) != 2 {
		t.Fatalf("ice servers: %+v", got)
	}
	_, up, _ := net.SplitHostPort(s.addr(t, "udp"))
	if got[0].URLs[0] != "stun:turn.example.com:"+up {
		t.Errorf("stun url %v", got[0].URLs)
	}
	urls := strings.Join(got[1].URLs, " ")
	for _, want := range []string{"turn:turn.example.com:" + up + "?transport=udp", "?transport=tcp", "turns:turn.example.com:"} {
		if !strings.Contains(urls, want) {
			t.Errorf("turn urls %q lack %q", urls, want)
		}
	}
	if got[1].Username != "1900003600:alice" || got[1].Credential != RESTPassword(testSecret, "1900003600:alice") {
		t.Errorf("credentials %q %q", got[1].Username, got[1].Credential)
	}
}

// TestCloseReleases: after Close, the ports are free and the goroutines gone.
func TestCloseReleases(t *testing.T) {
	before := runtime.NumGoroutine()
	s := startServer(t, func(o *Options) { o.AllowPeers = []netip.Prefix{loopback} })
	u, p := restCreds("ivan", time.Hour)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: s.addr(t, "udp"), TURNServerAddr: s.addr(t, "udp"),
		Username: u, Password: p, Realm: testRealm, Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	tc, err := net.Dial("tcp", s.addr(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	relayAddr := relay.LocalAddr().String()
	udpAddr := s.addr(t, "udp")
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	for _, a := range []string{udpAddr, relayAddr} {
		waitFor(t, "port "+a+" free", func() bool {
			pc, err := net.ListenPacket("udp", a)
			if err == nil {
				_ = pc.Close()
			}
			return err == nil
		})
	}
	_ = relay.Close() // the client's own goroutines end with it
	c.Close()
	_ = conn.Close()
	ok := false
	for range 200 {
		if runtime.NumGoroutine() <= before+1 {
			ok = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ok {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUDPPortTaken: a UDP port another socket holds, with SO_REUSEPORT or
// not, is an error at Start, not a port shared in silence.
func TestUDPPortTaken(t *testing.T) {
	holder := startServer(t, nil)
	o := Options{Listen: []string{"udp://" + holder.addr(t, "udp")}, Realm: testRealm, Secret: testSecret,
		RelayAddress: netip.MustParseAddr("127.0.0.1")}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err == nil {
		_ = s.Close()
		t.Fatal("a second server started on a UDP port in use")
	}
}

// TestTCPRelayConnect: RFC 6062 TCP allocations obey the peer filter too:
// Connect to a denied peer gets 403, to an allowed one a CONNECTION-ID.
func TestTCPRelayConnect(t *testing.T) {
	peerLn, err := net.Listen("tcp", "127.0.0.6:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peerLn.Close()
	go func() {
		for {
			c, err := peerLn.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	pa := peerLn.Addr().(*net.TCPAddr)
	tcpTransport := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{6, 0, 0, 0}}
	for _, tc := range []struct {
		name  string
		allow []netip.Prefix
		want  stun.ErrorCode
	}{
		{"denied by default", nil, stun.CodeForbidden},
		{"allow-listed", []netip.Prefix{loopback}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, func(o *Options) { o.AllowPeers = tc.allow })
			u, p := restCreds("tcp-relay", time.Hour)
			c := newRawClient(t, "tcp", s.addr(t, "tcp"), u, p)
			if res := c.request(stun.MethodAllocate, tcpTransport); errorCode(res) != 0 {
				t.Fatalf("TCP allocate: %d", errorCode(res))
			}
			res := c.request(stun.MethodConnect, peerAddr{pa.IP, pa.Port})
			if got := errorCode(res); got != tc.want {
				t.Fatalf("Connect %v: code %d, want %d", pa, got, tc.want)
			}
			if tc.want == 0 && !res.Contains(stun.AttrConnectionID) {
				t.Error("Connect success without CONNECTION-ID (RFC 6062 §5.2)")
			}
		})
	}
}
