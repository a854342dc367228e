package turn

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// alive checks that the server still answers a STUN Binding on UDP.
func alive(t *testing.T, s *Server) {
	t.Helper()
	c := newRawClient(t, "udp", s.addr(t, "udp"), "", "")
	m := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	res := c.roundTrip(m.Raw, ioTimeout)
	if res == nil || res.Type != stun.BindingSuccess || res.TransactionID != m.TransactionID {
		t.Fatalf("server no longer answers a Binding: %v", res)
	}
}

// TestHostileMessages: malformed and hostile STUN gets a clear error or
// silence, never a crash, and the server keeps serving.
func TestHostileMessages(t *testing.T) {
	s := startServer(t, nil)
	user, pass := restCreds("mallory", time.Hour)
	allocate := func() []byte {
		return stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport).Raw
	}
	for _, tc := range []struct {
		name string
		raw  func(c *rawClient) []byte
		want stun.ErrorCode // -1: no answer expected
	}{
		{"truncated header", func(*rawClient) []byte { return allocate()[:12] }, -1},
		{"truncated attribute", func(*rawClient) []byte {
			b := allocate()
			return b[:len(b)-2] // length field now lies
		}, -1},
		{"attribute longer than the message", func(*rawClient) []byte {
			b := allocate()
			binary.BigEndian.PutUint16(b[22:24], 0xFFF0) // REQUESTED-TRANSPORT claims 65520 bytes
			return b
		}, -1},
		{"huge message length", func(*rawClient) []byte {
			b := allocate()
			binary.BigEndian.PutUint16(b[2:4], 0xFFFC)
			return b
		}, -1},
		{"bad magic cookie", func(*rawClient) []byte {
			b := allocate()
			b[4] ^= 0xFF
			return b
		}, -1},
		{"not STUN at all", func(*rawClient) []byte { return []byte("GET / HTTP/1.1\r\n\r\n") }, -1},
		{"channel data without a channel", func(*rawClient) []byte { return []byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4} }, -1},
		{"unknown comprehension-required attribute", func(*rawClient) []byte {
			return stun.MustBuild(stun.TransactionID, stun.BindingRequest,
				stun.RawAttribute{Type: 0x7F01, Value: []byte{1, 2, 3, 4}}).Raw
		}, stun.CodeUnknownAttribute},
		{"bad MESSAGE-INTEGRITY", func(c *rawClient) []byte {
			c.request(stun.MethodAllocate, udpTransport) // learn the nonce: the response is a success, drop it
			m := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport,
				stun.NewUsername(user), c.realm, c.nonce, stun.NewLongTermIntegrity(user, c.realm.String(), pass))
			m.Raw[len(m.Raw)-1] ^= 0x01 // flip a bit of the HMAC
			return m.Raw
		}, stun.CodeUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newRawClient(t, "udp", s.addr(t, "udp"), user, pass)
			raw := tc.raw(c)
			res := c.roundTrip(raw, 300*time.Millisecond)
			switch {
			case tc.want == -1 && res != nil:
				t.Errorf("answered %v (code %d), want silence", res.Type, errorCode(res))
			case tc.want >= 0 && res == nil:
				t.Errorf("no answer, want %d", tc.want)
			case tc.want >= 0 && errorCode(res) != tc.want:
				t.Errorf("code %d, want %d", errorCode(res), tc.want)
			}
			if tc.want == stun.CodeUnknownAttribute && res != nil {
				var ua stun.UnknownAttributes
				if err := ua.GetFrom(res); err != nil || len(ua) != 1 || ua[0] != 0x7F01 {
					t.Errorf("UNKNOWN-ATTRIBUTES %v (%v), want [0x7F01] (RFC 8489 §14.9)", ua, err)
				}
			}
			alive(t, s)
		})
	}
	if s.Stats().RequestErrors == 0 {
		t.Error("malformed messages not counted")
	}
}

// TestFloodFromOneSource: a source sending requests far over its rate is
// cut off; another source is still answered.
func TestFloodFromOneSource(t *testing.T) {
	s := startServer(t, func(o *Options) { o.SourceRate = 50; o.SourceBurst = 100 })
	flooder, err := net.Dial("udp", s.addr(t, "udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	const sent = 5000
	for range sent {
		m := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport)
		_, _ = flooder.Write(m.Raw)
	}
	answered := 0
	buf := make([]byte, 1500)
	for {
		_ = flooder.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := flooder.Read(buf); err != nil {
			break
		}
		answered++
	}
	t.Logf("flood of %d Allocates from one source: %d answered, %d rate-limited", sent, answered, s.Stats().RateLimited)
	if answered > sent/2 || s.Stats().RateLimited == 0 {
		t.Errorf("flood not limited: %d of %d answered, %d dropped", answered, sent, s.Stats().RateLimited)
	}
	// Another source (127.0.0.2) is untouched.
	other, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(mustAddrPort(t, s.addr(t, "udp"))))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	c := &rawClient{t: t, conn: other}
	m := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	if res := c.roundTrip(m.Raw, ioTimeout); res == nil || res.Type != stun.BindingSuccess {
		t.Fatalf("other source not served: %v", res)
	}
}

// TestTCPConnectionCaps: connections over the per-source cap are closed at
// once; a connection that never speaks is closed after FirstByteTimeout.
func TestTCPConnectionCaps(t *testing.T) {
	s := startServer(t, func(o *Options) { o.MaxConnsPerIP = 3; o.FirstByteTimeout = 300 * time.Millisecond })
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range 5 {
		c, err := net.Dial("tcp", s.addr(t, "tcp"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	closed := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			closed++ // EOF: refused at once, or silent past FirstByteTimeout
		}
	}
	if closed != 5 {
		t.Errorf("%d of 5 silent connections closed", closed)
	}
	if st := s.Stats(); st.ConnsRefused != 2 {
		t.Errorf("refused %d, want 2", st.ConnsRefused)
	}
	alive(t, s)
}

func mustAddrPort(t *testing.T, s string) netipAddrPort {
	t.Helper()
	ap, err := parseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestTCPFloodAndGarbage: over TCP, a source over its request rate and a
// stream that is not STUN or ChannelData lose their connection; a polite
// TCP client is served.
func TestTCPFloodAndGarbage(t *testing.T) {
	s := startServer(t, func(o *Options) { o.SourceRate = 20; o.SourceBurst = 40 })
	closedAfter := func(payload []byte, times int) bool {
		c, err := net.Dial("tcp", s.addr(t, "tcp"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range times {
			if _, err := c.Write(payload); err != nil {
				return true // reset while writing: closed
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				var ne net.Error
				return !(errors.As(err, &ne) && ne.Timeout())
			}
		}
	}
	if !closedAfter([]byte{0x80, 1, 2, 3, 4, 5, 6, 7}, 1) {
		t.Error("a stream of garbage kept its connection")
	}
	binding := stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw
	if !closedAfter(binding, 500) {
		t.Error("500 requests at once over TCP kept their connection")
	}
	if s.Stats().RateLimited == 0 {
		t.Error("TCP flood not counted")
	}
	time.Sleep(2 * time.Second) // the source's bucket refills (20/s)
	polite := newRawClient(t, "tcp", s.addr(t, "tcp"), "", "")
	if res := polite.roundTrip(binding, ioTimeout); res == nil || res.Type != stun.BindingSuccess {
		t.Fatalf("polite TCP client not served: %v", res)
	}
}
