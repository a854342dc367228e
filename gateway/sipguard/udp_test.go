package sipguard

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// udpGateway is a sipgo server behind the guard on 127.0.0.1.
func udpGateway(t *testing.T, o Options) (*Guard, *sipServer, net.Addr) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	g := New(o)
	s := newSIPServer(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.ServeUDP(g.PacketConn(pc))
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-done
	})
	return g, s, pc.LocalAddr()
}

type udpClient struct {
	t  *testing.T
	pc net.PacketConn
	to net.Addr
}

func newUDPClient(t *testing.T, to net.Addr, local string) *udpClient {
	t.Helper()
	pc, err := net.ListenPacket("udp", local)
	if err != nil {
		t.Skipf("cannot bind %s: %v", local, err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return &udpClient{t: t, pc: pc, to: to}
}

func (c *udpClient) send(msg string) {
	c.t.Helper()
	if _, err := c.pc.WriteTo([]byte(msg), c.to); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next datagram, or "" after wait.
func (c *udpClient) recv(wait time.Duration) string {
	buf := make([]byte, 65535)
	_ = c.pc.SetReadDeadline(time.Now().Add(wait))
	n, _, err := c.pc.ReadFrom(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// recvBranch returns the first datagram carrying branch (sipgo retransmits
// final INVITE responses, so earlier answers may still arrive).
func (c *udpClient) recvBranch(branch string, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return ""
		}
		got := c.recv(left)
		if got == "" || strings.Contains(got, branch) {
			return got
		}
	}
}

func (c *udpClient) fill(tmpl string) string {
	tmpl = strings.ReplaceAll(tmpl, "{{client}}", c.pc.LocalAddr().String())
	return strings.ReplaceAll(tmpl, "{{n}}", strconv.FormatInt(seq.Add(1), 10))
}

// TestUDPTable sends testdata/udp/*.sip and compares the first response
// line with the .golden file ("(none)" when nothing must come back).
func TestUDPTable(t *testing.T) {
	checkLeaks(t)
	g, _, addr := udpGateway(t, Options{ServerName: "switchboard-test"})
	c := newUDPClient(t, addr, "127.0.0.1:0")
	files, _ := filepath.Glob("testdata/udp/*.sip")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".sip")
		t.Run(name, func(t *testing.T) {
			n := strconv.FormatInt(seq.Add(1), 10)
			c.send(c.fill(strings.ReplaceAll(string(raw), "z9hG4bK-{{n}}", "z9hG4bK-"+n)))
			got := firstLine(c.recvBranch("z9hG4bK-"+n, 700*time.Millisecond))
			if got == "" {
				got = "(none)"
			}
			golden := strings.TrimSuffix(f, ".sip") + ".golden"
			if *update {
				_ = os.WriteFile(golden, []byte(got+"\n"), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != strings.TrimSpace(string(want)) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	st := g.Stats()
	if st.Malformed == 0 || st.Accepted == 0 || st.Answered400 == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestUDP400CopiesHeaders(t *testing.T) {
	checkLeaks(t)
	_, _, addr := udpGateway(t, Options{ServerName: "switchboard-test"})
	c := newUDPClient(t, addr, "127.0.0.1:0")
	msg := sipReq("OPTIONS", "UDP", "", "")
	msg = strings.Replace(msg, "Via: SIP/2.0/UDP 127.0.0.1:5099", "Via: SIP/2.0/UDP "+c.pc.LocalAddr().String(), 1)
	msg = strings.Replace(msg, "To: <sip:alice@gw.example.com>\r\n", "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1\r\nTo: <sip:alice@gw.example.com>\r\n", 1)
	msg = strings.Replace(msg, "Max-Forwards: 70", "Max-Forwards: many", 1)
	c.send(msg)
	resp := c.recv(2 * time.Second)
	if firstLine(resp) != "SIP/2.0 400 Bad Request (bad Max-Forwards)" {
		t.Fatalf("got %q", resp)
	}
	for _, want := range []string{"proxy.example.com;branch=z9hG4bKp1", "Call-ID: call-", "CSeq: ", "From: <sip:alice@gw.example.com>;tag=", "To: <sip:alice@gw.example.com>;tag=sg", "Server: switchboard-test", "Content-Length: 0\r\n\r\n"} {
		if !strings.Contains(resp, want) {
			t.Errorf("400 lacks %q:\n%s", want, resp)
		}
	}
	if _, err := Check([]byte(resp)); err != nil {
		t.Errorf("our own 400 fails Check: %v\n%s", err, resp)
	}
}

func TestUDPOverMTU(t *testing.T) {
	checkLeaks(t)
	_, s, addr := udpGateway(t, Options{})
	c := newUDPClient(t, addr, "127.0.0.1:0")
	big := "X-Padding: " + strings.Repeat("a", 3800) + "\r\n"
	msg := sipReq("REGISTER", "UDP", big, "")
	msg = strings.Replace(msg, "127.0.0.1:5099", c.pc.LocalAddr().String(), 1)
	if len(msg) < 4000 {
		t.Fatalf("message only %d bytes", len(msg))
	}
	c.send(msg)
	if got := firstLine(c.recv(3 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Fatalf("got %q", got)
	}
	if s.reqs.Load() != 1 {
		t.Errorf("sipgo saw %d requests", s.reqs.Load())
	}
}

func TestUDPOversize(t *testing.T) {
	checkLeaks(t)
	g, s, addr := udpGateway(t, Options{MaxMessageSize: 2000})
	c := newUDPClient(t, addr, "127.0.0.1:0")
	msg := sipReq("REGISTER", "UDP", "X-Padding: "+strings.Repeat("a", 3000)+"\r\n", "")
	msg = strings.Replace(msg, "127.0.0.1:5099", c.pc.LocalAddr().String(), 1)
	c.send(msg)
	if got := firstLine(c.recv(2 * time.Second)); got != "SIP/2.0 513 Message Too Large" {
		t.Fatalf("got %q", got)
	}
	if g.Stats().Oversize != 1 || s.reqs.Load() != 0 {
		t.Errorf("stats %+v, sipgo requests %d", g.Stats(), s.reqs.Load())
	}
}

func TestUDPKeepaliveSTUNGarbage(t *testing.T) {
	checkLeaks(t)
	g, _, addr := udpGateway(t, Options{})
	c := newUDPClient(t, addr, "127.0.0.1:0")
	c.send("\r\n\r\n")
	c.send("\r\n")
	c.send(string([]byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4})) // STUN-looking, too short
	c.send("\x16\x03\x01 not sip at all")
	c.send("SIP/2.0 200 OK\r\nVia: x\r\n\r\n") // malformed response: dropped
	if got := c.recv(400 * time.Millisecond); got != "" {
		t.Fatalf("unexpected answer %q", got)
	}
	msg := strings.Replace(sipReq("OPTIONS", "UDP", "", ""), "127.0.0.1:5099", c.pc.LocalAddr().String(), 1)
	c.send(msg)
	if got := firstLine(c.recv(2 * time.Second)); got != "SIP/2.0 200 OK" {
		t.Fatalf("got %q", got)
	}
	st := g.Stats()
	if st.Keepalives != 2 || st.STUNDropped != 1 || st.Unanswerable != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestUDPFlood(t *testing.T) {
	checkLeaks(t)
	g, _, addr := udpGateway(t, Options{RatePerSecond: 20, Burst: 20})
	a := newUDPClient(t, addr, "127.0.0.1:0")
	b := newUDPClient(t, addr, "127.0.0.2:0")
	msg := []byte(strings.Replace(sipReq("OPTIONS", "UDP", "", ""), "127.0.0.1:5099", a.pc.LocalAddr().String(), 1))
	start := time.Now()
	for i := 0; i < 10000; i++ {
		_, _ = a.pc.WriteTo(msg, addr)
		if i%100 == 0 {
			time.Sleep(200 * time.Microsecond) // let the socket drain
		}
	}
	// Wait until the guard stops seeing datagrams (the kernel may drop some).
	var last uint64
	waitFor(t, "flood processed", func() bool {
		st := g.Stats()
		n := st.RateLimited + st.Accepted
		if n == last && n > 0 {
			return true
		}
		last = n
		time.Sleep(200 * time.Millisecond)
		return false
	})
	st := g.Stats()
	processed := st.RateLimited + st.Accepted
	allowed := 20 + 20*time.Since(start).Seconds() + 5
	if processed < 2000 || float64(st.Accepted) > allowed || st.RateLimited < processed*9/10 {
		t.Errorf("flood not limited: processed %d, allowed %.0f, %+v", processed, allowed, st)
	}
	c := b
	c.send(strings.Replace(sipReq("OPTIONS", "UDP", "", ""), "127.0.0.1:5099", c.pc.LocalAddr().String(), 1))
	for {
		got := c.recv(3 * time.Second)
		if got == "" {
			t.Fatal("second source not served")
		}
		if firstLine(got) == "SIP/2.0 200 OK" {
			break
		}
	}
}

func TestUDPBan(t *testing.T) {
	checkLeaks(t)
	var bans []Ban
	g, _, addr := udpGateway(t, Options{BanFailures: 3, BanWindow: time.Minute, BanDuration: time.Hour,
		OnBan: func(b Ban) { bans = append(bans, b) }})
	c := newUDPClient(t, addr, "127.0.0.1:0")
	ip := netip.MustParseAddr("127.0.0.1")
	g.AuthFailed(ip, "u1")
	g.AuthFailed(ip, "u1")
	g.AuthSucceeded(ip, "u1")
	g.AuthFailed(ip, "u1")
	g.AuthFailed(ip, "u1")
	if g.Banned(ip) {
		t.Fatal("banned too early: AuthSucceeded must reset")
	}
	g.AuthFailed(ip, "u1")
	if !g.Banned(ip) || len(bans) != 1 || len(g.Bans()) != 1 || g.Bans()[0].Reason != "auth failures" {
		t.Fatalf("not banned: %v %v", g.Bans(), bans)
	}
	send := func() string {
		c.send(strings.Replace(sipReq("OPTIONS", "UDP", "", ""), "127.0.0.1:5099", c.pc.LocalAddr().String(), 1))
		return firstLine(c.recv(500 * time.Millisecond))
	}
	if got := send(); got != "" {
		t.Fatalf("banned source answered %q", got)
	}
	if g.Stats().BannedDropped == 0 {
		t.Error("BannedDropped not counted")
	}
	if !g.Unban(ip) {
		t.Fatal("Unban false")
	}
	if got := send(); got != "SIP/2.0 200 OK" {
		t.Fatalf("after Unban got %q", got)
	}
}

func TestBanExpiresAndTrusted(t *testing.T) {
	now := time.Unix(1000, 0)
	g := New(Options{Now: func() time.Time { return now }, Logger: quietLogger(),
		Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, BanFailures: 1})
	ip := netip.MustParseAddr("192.0.2.1")
	g.Ban(ip, time.Minute, "manual")
	if !g.Banned(ip) {
		t.Fatal("not banned")
	}
	now = now.Add(2 * time.Minute)
	if g.Banned(ip) || len(g.Bans()) != 0 {
		t.Fatal("ban did not expire")
	}
	g.AuthFailed(netip.MustParseAddr("10.1.2.3"), "u1")
	g.Ban(netip.MustParseAddr("10.1.2.3"), time.Hour, "manual")
	if g.Banned(netip.MustParseAddr("10.1.2.3")) {
		t.Fatal("trusted source banned")
	}
}

// memPacketConn replays one datagram forever (for benchmarks).
type memPacketConn struct {
	net.PacketConn
	msg  []byte
	addr net.Addr
}

func (m *memPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	return copy(p, m.msg), m.addr, nil
}

func BenchmarkPacketConnPassThrough(b *testing.B) {
	msg, err := os.ReadFile("testdata/check/register.sip")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		o    Options
	}{{"plain", Options{}}, {"ratelimited", Options{RatePerSecond: 1e9, Burst: 1e9}}} {
		b.Run(bc.name, func(b *testing.B) {
			g := New(bc.o)
			pc := g.PacketConn(&memPacketConn{msg: msg, addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5060}})
			buf := make([]byte, 65535)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				n, _, err := pc.ReadFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestUDPSTUNKeepalive: a STUN Binding request on the SIP port (the RFC 5626
// §4.4.2 keepalive) gets a Binding success carrying the client's address.
func TestUDPSTUNKeepalive(t *testing.T) {
	checkLeaks(t)
	g, _, addr := udpGateway(t, Options{})
	c := newUDPClient(t, addr, "127.0.0.1:0")
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	c.send(string(req.Raw))
	raw := c.recv(2 * time.Second)
	if raw == "" {
		t.Fatal("no answer to a STUN Binding request")
	}
	res := &stun.Message{Raw: []byte(raw)}
	if err := res.Decode(); err != nil {
		t.Fatalf("answer is not STUN: %v", err)
	}
	if res.Type != stun.BindingSuccess || res.TransactionID != req.TransactionID {
		t.Fatalf("answer %v, transaction %x want %x", res.Type, res.TransactionID, req.TransactionID)
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(res); err != nil {
		t.Fatal(err)
	}
	if got, want := xor.String(), c.pc.LocalAddr().String(); got != want {
		t.Errorf("mapped address %s, want %s", got, want)
	}
	if st := g.Stats(); st.STUNAnswered != 1 {
		t.Errorf("stats %+v", st)
	}
}
