package turn

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
)

// The DTLS listener (RFC 7350) with pion's own DTLS and TURN clients.

func startDTLSServer(t *testing.T, tweak func(*Options)) *Server {
	t.Helper()
	return startServer(t, func(o *Options) {
		o.Listen = append(o.Listen, "dtls://127.0.0.1:0")
		o.AllowPeers = []netip.Prefix{loopback}
		if tweak != nil {
			tweak(o)
		}
	})
}

// dialDTLS opens a DTLS connection to s's DTLS listener (the test
// certificate is self-signed) and completes the handshake.
func dialDTLS(t *testing.T, s *Server) *dtls.Conn {
	t.Helper()
	return dialDTLSFrom(t, s, net.IPv4(127, 0, 0, 1))
}

// dialDTLSFrom is dialDTLS from a socket on ip.
func dialDTLSFrom(t *testing.T, s *Server, ip net.IP) *dtls.Conn {
	t.Helper()
	ra, err := net.ResolveUDPAddr("udp", s.addr(t, "dtls"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dtls.Client(&udpConnected{UDPConn: pc, ra: ra}, ra, &dtls.Config{InsecureSkipVerify: true, //nolint:gosec // self-signed test cert
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		t.Fatalf("dtls handshake: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// udpConnected is a UDP socket that reads only from, and writes only to,
// one remote: the packet conn a DTLS client runs on.
type udpConnected struct {
	*net.UDPConn
	ra *net.UDPAddr
}

func (u *udpConnected) WriteTo(p []byte, _ net.Addr) (int, error) { return u.UDPConn.WriteTo(p, u.ra) }

// dtlsTURN is a pion TURN client over conn (a DTLS connection, maybe
// wrapped).
func dtlsTURN(t *testing.T, conn net.Conn, user string) *pturn.Client {
	t.Helper()
	u, p := restCreds(user, time.Hour)
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: conn.RemoteAddr().String(),
		TURNServerAddr: conn.RemoteAddr().String(), Username: u, Password: p, Realm: testRealm,
		Conn: pturn.NewSTUNConn(conn)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestRelayOverDTLS: a pion TURN client over DTLS allocates, gets a
// permission (its first send) and relays both ways; the allocation is
// listed with the client's DTLS source.
func TestRelayOverDTLS(t *testing.T) {
	s := startDTLSServer(t, nil)
	conn := dialDTLS(t, s)
	c := dtlsTURN(t, conn, "dora")
	mapped, err := c.SendBindingRequest()
	if err != nil || mapped.String() != conn.LocalAddr().String() {
		t.Errorf("binding over DTLS: %v %v, want %v", mapped, err, conn.LocalAddr())
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate over DTLS: %v", err)
	}
	defer relay.Close()
	relayEcho(t, relay, udpPeer(t, "127.0.0.4"))
	as := s.Allocations()
	if len(as) != 1 || as[0].User != "dora" || as[0].Client != conn.LocalAddr().String() || as[0].Permissions != 1 {
		t.Errorf("allocations: %+v", as)
	}
	ice := s.ICEServers("x", time.Now())
	for _, e := range ice {
		for _, u := range e.URLs {
			if bytes.Contains([]byte(u), []byte("transport=udp")) && bytes.HasPrefix([]byte(u), []byte("turns:")) {
				t.Errorf("ICE servers offer browsers DTLS, which they do not speak: %s", u)
			}
		}
	}
}

// unpadConn strips the padding of the ChannelData it writes: a client
// that sends it unpadded over DTLS, as RFC 8656 §12.5 allows.
type unpadConn struct{ net.Conn }

func (u unpadConn) Write(p []byte) (int, error) {
	if len(p) >= 4 && p[0]&0xC0 == 0x40 {
		n := 4 + int(binary.BigEndian.Uint16(p[2:4]))
		if n < len(p) {
			if _, err := u.Conn.Write(p[:n]); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return u.Conn.Write(p)
}

// TestDTLSChannelDataUnpadded: ChannelData of odd lengths without padding
// (RFC 8656 §12.5: optional over DTLS) reaches the peer whole and in
// order, each datagram on its own.
func TestDTLSChannelDataUnpadded(t *testing.T) {
	s := startDTLSServer(t, nil)
	conn := dialDTLS(t, s)
	c := dtlsTURN(t, unpadConn{conn}, "ulla")
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	peer := udpPeer(t, "127.0.0.5")
	relayEcho(t, relay, peer) // the permission; pion binds a channel for what follows
	buf := make([]byte, 1500)
	for i, n := range []int{5, 1, 7, 2, 3, 99, 6} {
		out := bytes.Repeat([]byte{byte('a' + i)}, n)
		if _, err := relay.WriteTo(out, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = peer.SetReadDeadline(time.Now().Add(ioTimeout))
		got, _, err := peer.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d (%d bytes): peer got nothing: %v", i, n, err)
		}
		if !bytes.Equal(buf[:got], out) {
			t.Fatalf("datagram %d: peer got %q, want %q", i, buf[:got], out)
		}
	}
}

// TestDTLSHostile: garbage, truncated DTLS records, a stalled handshake,
// junk inside a DTLS session and a flood of ClientHellos from many
// sources: nothing crashes, stalled and junk connections go, and a fresh
// DTLS client still allocates and relays.
func TestDTLSHostile(t *testing.T) {
	s := startDTLSServer(t, func(o *Options) {
		o.FirstByteTimeout = 300 * time.Millisecond
		o.SourceRate, o.SourceBurst = 200, 200
	})
	ra, _ := net.ResolveUDPAddr("udp", s.addr(t, "dtls"))
	raw, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	junk := make([]byte, 1200)
	_, _ = rand.Read(junk)
	for _, p := range [][]byte{
		junk, junk[:1], {},
		{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0x40, 0},             // handshake record header, length past the end
		{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 4, 1, 0xff, 0xff}, // ClientHello claiming 64 KiB
		{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 2, 1, 2},          // application data with no session
		{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40},         // a fatal alert, no session
	} {
		_, _ = raw.Write(p)
	}

	// a session that sends junk inside DTLS: dropped datagrams, the
	// session goes on
	conn := dialDTLS(t, s)
	for _, p := range [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n"), {0, 1, 0, 8, 0x21, 0x12}, {0x40, 0, 0xff, 0xff, 1}, junk} {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	c := dtlsTURN(t, conn, "mallory")
	if _, err := c.SendBindingRequest(); err != nil {
		t.Errorf("binding after junk inside DTLS: %v", err)
	}

	// many sources start a handshake and stall; the server's handshakes
	// give up after FirstByteTimeout and their connections are released
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				return
			}
			defer pc.Close()
			dc, err := dtls.Client(&udpConnected{UDPConn: pc, ra: ra}, ra, &dtls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_ = dc.HandshakeContext(ctx) // sends a ClientHello, then gives up: the server is left waiting
		}()
	}
	wg.Wait()
	gl := s.lns[len(s.lns)-1]
	waitFor(t, "stalled DTLS handshakes released", func() bool {
		gl.mu.Lock()
		defer gl.mu.Unlock()
		return gl.open <= 1 // the junk session above
	})
	if s.Stats().RequestErrors == 0 {
		t.Error("junk datagrams inside DTLS not counted")
	}

	// a flood of requests from one source inside DTLS: over the rate the
	// connection is closed, as on TCP and TLS. The flooder has an address
	// of its own: what it sends after its connection closed still counts
	// against its source's budget, which must not be the fresh client's.
	flood := dialDTLSFrom(t, s, net.IPv4(127, 0, 0, 7))
	for range 400 {
		m := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
		if _, err := flood.Write(m.Raw); err != nil {
			break
		}
	}
	waitFor(t, "the flooding DTLS source limited", func() bool { return s.Stats().RateLimited > 0 })

	fresh := dialDTLS(t, s)
	relay, err := dtlsTURN(t, fresh, "dora").Allocate()
	if err != nil {
		t.Fatalf("allocate after the hostile input: %v", err)
	}
	defer relay.Close()
	relayEcho(t, relay, udpPeer(t, "127.0.0.6"))
	alive(t, s)
}

// TestDTLSCloseReleases: Close ends the DTLS listener, its connections
// and their goroutines, and frees the port.
func TestDTLSCloseReleases(t *testing.T) {
	before := runtime.NumGoroutine()
	s := startDTLSServer(t, nil)
	conn := dialDTLS(t, s)
	c := dtlsTURN(t, conn, "ivan")
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	addr := s.addr(t, "dtls")
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	waitFor(t, "DTLS port free", func() bool {
		pc, err := net.ListenPacket("udp", addr)
		if err == nil {
			_ = pc.Close()
		}
		return err == nil
	})
	_ = relay.Close()
	c.Close()
	_ = conn.Close()
	waitFor(t, "goroutines back", func() bool { return runtime.NumGoroutine() <= before+2 })
}

// FuzzFrameDatagram: a framed record is one whole STUN message, or one
// ChannelData whose length field is exactly its data, with at most three
// bytes of padding cut from the record.
func FuzzFrameDatagram(f *testing.F) {
	f.Add([]byte{0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5})
	f.Add([]byte{0x40, 0x00, 0x00, 0x01, 1, 0, 0, 0})
	f.Add([]byte{0x72, 0x60, 0x00, 0x02, 1, 2, 0, 0}) // an RFC 5766 channel
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{0x4f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		msg, ok := frameDatagram(b)
		if !ok {
			return
		}
		switch {
		case len(msg) >= 20 && msg[0]&0xC0 == 0:
			if int(binary.BigEndian.Uint16(msg[2:4]))+20 != len(msg) || !bytes.Equal(msg, in) {
				t.Fatalf("STUN framed as %x from %x", msg, in)
			}
		case len(msg) >= 4 && msg[0]&0xC0 == 0x40:
			n := 4 + int(binary.BigEndian.Uint16(msg[2:4]))
			if len(msg) != n || len(in)-n > 3 || !bytes.Equal(msg, in[:n]) {
				t.Fatalf("ChannelData framed as %x from %x", msg, in)
			}
		default:
			t.Fatalf("framed %x from %x", msg, in)
		}
	})
}
