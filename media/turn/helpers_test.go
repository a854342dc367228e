package turn

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"

	"github.com/switchboard-gw/switchboard/gateway/certs"
)

const (
	testRealm  = "turn.test"
	testSecret = "s3cret-shared"
	ioTimeout  = 5 * time.Second // a bound against hangs on a loaded machine, not a timing assertion
)

var loopback = netip.MustParsePrefix("127.0.0.0/8")

// startServer runs a server on 127.0.0.1 port 0 (UDP, TCP and TLS) with
// tweak applied to the options, closed when the test ends.
func startServer(t testing.TB, tweak func(*Options)) *Server {
	t.Helper()
	o := Options{
		Listen:       []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0", "tls://127.0.0.1:0"},
		TLS:          testTLS(t),
		Realm:        testRealm,
		Secret:       testSecret,
		RelayAddress: netip.MustParseAddr("127.0.0.1"),
		RelayBind:    netip.MustParseAddr("127.0.0.1"),
	}
	if tweak != nil {
		tweak(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = s.Close() })
	return s
}

func testTLS(t testing.TB) *tls.Config {
	t.Helper()
	c, _, err := certs.Load("", "", t.TempDir(), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addr returns the bound address of the first listener of scheme.
func (s *Server) addr(t testing.TB, scheme string) string {
	t.Helper()
	for _, b := range s.Bound() {
		if b.Scheme == scheme {
			return b.Addr.String()
		}
	}
	t.Fatalf("no %s listener", scheme)
	return ""
}

// restCreds mints REST credentials for user valid for d (negative: expired).
func restCreds(user string, d time.Duration) (string, string) {
	return RESTCredentials(testSecret, user, time.Now().Add(d))
}

// pionClient is a pion TURN client over UDP towards s.
func pionClient(t testing.TB, s *Server, user, pass string) *pturn.Client {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := s.addr(t, "udp")
	c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: a, TURNServerAddr: a, Username: user,
		Password: pass, Realm: testRealm, Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); _ = conn.Close() })
	return c
}

// udpPeer is a UDP socket on 127.0.0.x standing for a peer.
func udpPeer(t testing.TB, ip string) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// rawClient speaks STUN by hand, to see the exact error codes.
type rawClient struct {
	t     testing.TB
	conn  net.Conn
	user  string
	pass  string
	nonce stun.Nonce
	realm stun.Realm
}

func newRawClient(t testing.TB, network, addr, user, pass string) *rawClient {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawClient{t: t, conn: c, user: user, pass: pass}
}

// roundTrip sends raw bytes and returns the next STUN message, or nil when
// none came within wait.
func (c *rawClient) roundTrip(raw []byte, wait time.Duration) *stun.Message {
	c.t.Helper()
	if _, err := c.conn.Write(raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	return c.read(wait)
}

func (c *rawClient) read(wait time.Duration) *stun.Message {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	var n int
	var err error
	if _, stream := c.conn.(*net.TCPConn); stream { // RFC 8489 §6.2.2: read the header, then its length
		if _, err = io.ReadFull(c.conn, buf[:20]); err == nil {
			l := int(binary.BigEndian.Uint16(buf[2:4]))
			_, err = io.ReadFull(c.conn, buf[20:20+l])
			n = 20 + l
		}
	} else {
		n, err = c.conn.Read(buf)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
	if err := m.Decode(); err != nil {
		c.t.Fatalf("server sent a message that does not decode: %v (% x)", err, buf[:n])
	}
	return m
}

// request builds and sends a request of method with attrs, authenticated
// with the long-term credentials once the server has sent its nonce, and
// returns the response (401 once, to learn the nonce, is absorbed).
func (c *rawClient) request(method stun.Method, attrs ...stun.Setter) *stun.Message {
	c.t.Helper()
	for range 3 {
		setters := []stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}
		setters = append(setters, attrs...)
		if c.nonce != nil {
			setters = append(setters, stun.NewUsername(c.user), c.realm, c.nonce,
				stun.NewLongTermIntegrity(c.user, c.realm.String(), c.pass))
		}
		setters = append(setters, stun.Fingerprint)
		m := stun.MustBuild(setters...)
		res := c.roundTrip(m.Raw, ioTimeout)
		if res == nil {
			c.t.Fatalf("%v: no response", method)
		}
		if res.TransactionID != m.TransactionID {
			c.t.Fatalf("%v: response for another transaction", method)
		}
		code := errorCode(res)
		if (code == stun.CodeUnauthorized && c.nonce == nil) || code == stun.CodeStaleNonce {
			if err := c.nonce.GetFrom(res); err != nil {
				c.t.Fatalf("401 without a nonce: %v", err)
			}
			if err := c.realm.GetFrom(res); err != nil {
				c.t.Fatalf("401 without a realm: %v", err)
			}
			continue
		}
		return res
	}
	c.t.Fatalf("%v: still challenged", method)
	return nil
}

// errorCode is the response's ERROR-CODE, 0 for a success.
func errorCode(m *stun.Message) stun.ErrorCode {
	var ec stun.ErrorCodeAttribute
	if err := ec.GetFrom(m); err != nil {
		return 0
	}
	return ec.Code
}

var udpTransport = stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}

// peerAddr is an XOR-PEER-ADDRESS setter.
type peerAddr struct {
	ip   net.IP
	port int
}

func (p peerAddr) AddTo(m *stun.Message) error {
	return (&stun.XORMappedAddress{IP: p.ip, Port: p.port}).AddToAs(m, stun.AttrXORPeerAddress)
}
