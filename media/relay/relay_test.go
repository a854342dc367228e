package relay

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// nextRange gives each test its own port range, so tests run in parallel.
var nextRange atomic.Int32

// testPortBase is the first port of a test's own range of 100. The ranges
// lie below the kernel's ephemeral range (32768-60999 by default), where
// no port-0 bind of another test or program can take a port a test
// expects to hold (a range inside it made TestPortExhaustionAndReuse and
// TestThreads fail under load).
func testPortBase() int {
	return 20000 + 100*(int(nextRange.Add(1))%120)
}

func newTestRelay(t *testing.T, cfg Config) *Relay {
	t.Helper()
	if cfg.PortMin == 0 {
		base := testPortBase()
		cfg.PortMin, cfg.PortMax = base, base+99
	}
	cfg.ListenIP = loopback
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// endpoint is a fake phone: one UDP socket on loopback.
type endpoint struct {
	t    testing.TB
	conn *net.UDPConn
	seq  uint16
	ts   uint32
	ssrc uint32
}

func newEndpoint(t testing.TB) *endpoint {
	t.Helper()
	return newEndpointAt(t, loopback)
}

// strangerIP is the address of the tests' intruders: neither a party's SDP
// address nor its signalling address.
var strangerIP = netip.MustParseAddr("127.0.0.9")

// newEndpointAt is newEndpoint on another loopback address.
func newEndpointAt(t testing.TB, ip netip.Addr) *endpoint {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &endpoint{t: t, conn: c, ssrc: 0x1234abcd, seq: 1000, ts: 5000}
}

func (e *endpoint) addr() netip.AddrPort { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// packet builds the next G.711 packet (160 bytes of payload, 20 ms).
func (e *endpoint) packet() []byte {
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: e.seq, Timestamp: e.ts, SSRC: e.ssrc},
		Payload: make([]byte, 160),
	}
	e.seq++
	e.ts += 160
	b, err := p.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *endpoint) send(to netip.AddrPort, b []byte) {
	if _, err := e.conn.WriteToUDPAddrPort(b, to); err != nil {
		e.t.Fatal(err)
	}
}

// recv reads one packet, or returns nil after d.
func (e *endpoint) recv(d time.Duration) ([]byte, netip.AddrPort) {
	buf := make([]byte, 2048)
	_ = e.conn.SetReadDeadline(time.Now().Add(d))
	n, from, err := e.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, netip.AddrPort{}
	}
	return buf[:n], from
}

func (e *endpoint) recvRTP(d time.Duration) *rtp.Packet {
	e.t.Helper()
	b, _ := e.recv(d)
	if b == nil {
		return nil
	}
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		e.t.Fatalf("not RTP: %v", err)
	}
	return &p
}

// eventually polls cond for up to 2 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRelayBothWays(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if p := s.A().Port(); p%2 != 0 || s.A().LocalRTCPAddr().Port() != uint16(p+1) {
		t.Fatalf("ports %v %v: want even RTP, RTCP next", s.A().LocalAddr(), s.A().LocalRTCPAddr())
	}
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})

	const n = 20
	for i := range n {
		a.send(s.A().LocalAddr(), a.packet())
		p := b.recvRTP(time.Second)
		if p == nil {
			t.Fatalf("A→B packet %d lost", i)
		}
		if p.SequenceNumber != a.seq-1 || len(p.Payload) != 160 {
			t.Fatalf("A→B packet %d: got seq %d len %d", i, p.SequenceNumber, len(p.Payload))
		}
		b.send(s.B().LocalAddr(), b.packet())
		if b, from := a.recv(time.Second); b == nil || from != s.A().LocalAddr() {
			t.Fatalf("B→A packet %d: %v from %v, want from %v", i, b, from, s.A().LocalAddr())
		}
	}
	sa, sb := s.Stats()
	for _, st := range []Stats{sa, sb} {
		if st.Packets != n || st.Forwarded != n || st.Bytes != n*172 || st.Lost != 0 || st.Expected != n {
			t.Errorf("stats %+v", st)
		}
		if st.LastPacket.IsZero() || time.Since(st.LastPacket) > 5*time.Second {
			t.Errorf("last packet %v", st.LastPacket)
		}
	}
	if sa.Source != a.addr() || sb.Source != b.addr() {
		t.Errorf("latched %v %v, want %v %v", sa.Source, sb.Source, a.addr(), b.addr())
	}
}

// A phone behind NAT declares one address in its SDP and sends from another:
// the relay latches to the source seen and sends there.
func TestLatchNATedSource(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, _ := r.NewSession()
	declared, nated, b := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: declared.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})

	// before A sent anything, B's media goes to the SDP address
	b.send(s.B().LocalAddr(), b.packet())
	if declared.recvRTP(time.Second) == nil {
		t.Fatal("before latching, media should go to the SDP address")
	}
	nated.send(s.A().LocalAddr(), nated.packet())
	if b.recvRTP(time.Second) == nil {
		t.Fatal("A→B lost")
	}
	b.send(s.B().LocalAddr(), b.packet())
	if nated.recvRTP(time.Second) == nil {
		t.Fatal("after latching, media should go to the source seen")
	}
	if p := declared.recvRTP(50 * time.Millisecond); p != nil {
		t.Fatal("SDP address still gets media after latching")
	}
	if got := s.A().Stats().Source; got != nated.addr() {
		t.Fatalf("latched %v, want %v", got, nated.addr())
	}
}

// An intruder sprays a call's relay ports with RTP and RTCP, with the
// relay's default configuration: from a stranger's IP (127.0.0.9) before
// and after the parties latched, and from the parties' own IP (another
// port) once the learning window has closed. None of it is forwarded, none
// of it latches, and the parties keep getting each other's packets.
func TestUnexpectedSourceIgnored(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{LearnWindow: 100 * time.Millisecond})
	s, _ := r.NewSession()
	a, b := newEndpoint(t), newEndpoint(t)
	aRTCP, bRTCP := newEndpoint(t), newEndpoint(t)
	stranger := newEndpointAt(t, strangerIP)
	local := newEndpoint(t) // same IP as the parties, another port
	stranger.ssrc, local.ssrc = 0x5157, 0x10ca1
	s.A().SetRemote(Remote{RTP: a.addr(), RTCP: aRTCP.addr()})
	s.B().SetRemote(Remote{RTP: b.addr(), RTCP: bRTCP.addr()})

	spray := func(from *endpoint) {
		for _, side := range []*Side{s.A(), s.B()} {
			from.send(side.LocalAddr(), from.packet())
			from.send(side.LocalRTCPAddr(), rtcpSR(t, from.ssrc))
			from.send(side.LocalAddr(), rtcpSR(t, from.ssrc)) // muxed RTCP
		}
	}
	spray(stranger) // before anyone latched: a stranger never latches
	eventually(t, "6 strangers ignored", func() bool {
		return s.A().Stats().Strangers == 3 && s.B().Stats().Strangers == 3
	})
	for _, p := range []*endpoint{a, b, aRTCP, bRTCP} {
		if got, from := p.recv(50 * time.Millisecond); got != nil {
			t.Fatalf("the stranger's packet reached a party (from %v)", from)
		}
	}

	// the parties latch, RTP and RTCP
	a.send(s.A().LocalAddr(), a.packet())
	if p := b.recvRTP(time.Second); p == nil || p.SSRC != a.ssrc {
		t.Fatal("A→B lost")
	}
	b.send(s.B().LocalAddr(), b.packet())
	if p := a.recvRTP(time.Second); p == nil || p.SSRC != b.ssrc {
		t.Fatal("B→A lost")
	}
	aRTCP.send(s.A().LocalRTCPAddr(), rtcpSR(t, a.ssrc))
	if got, _ := bRTCP.recv(time.Second); got == nil {
		t.Fatal("A→B RTCP lost")
	}
	bRTCP.send(s.B().LocalRTCPAddr(), rtcpSR(t, b.ssrc))
	if got, _ := aRTCP.recv(time.Second); got == nil {
		t.Fatal("B→A RTCP lost")
	}
	time.Sleep(150 * time.Millisecond) // the learning windows close

	spray(stranger)
	spray(local)
	eventually(t, "the spray ignored", func() bool {
		sa, sb := s.Stats()
		return sa.Ignored == 9 && sb.Ignored == 9
	})
	sa, sb := s.Stats()
	if sa.Strangers != 6 || sb.Strangers != 6 {
		t.Fatalf("strangers %d %d, want 6 each", sa.Strangers, sb.Strangers)
	}
	for _, p := range []*endpoint{a, b, aRTCP, bRTCP} {
		if got, from := p.recv(50 * time.Millisecond); got != nil {
			t.Fatalf("an intruder's packet reached a party (from %v)", from)
		}
	}
	for _, p := range []*endpoint{stranger, local} {
		if got, from := p.recv(50 * time.Millisecond); got != nil {
			t.Fatalf("the intruder got a packet from %v", from)
		}
	}
	if sa.Source != a.addr() || sb.Source != b.addr() || sa.Packets != 1 || sb.Packets != 1 ||
		sa.RTCPPackets != 1 || sb.RTCPPackets != 1 {
		t.Fatalf("an intruder latched or was counted as media: A %+v, B %+v", sa, sb)
	}
	if c := r.Counters(); c.Strangers != 12 || c.Ignored != 18 {
		t.Fatalf("relay counters %+v", c)
	}
	// the parties still reach each other, RTP and RTCP
	a.send(s.A().LocalAddr(), a.packet())
	if p := b.recvRTP(time.Second); p == nil || p.SSRC != a.ssrc {
		t.Fatal("A→B lost after the spray")
	}
	b.send(s.B().LocalAddr(), b.packet())
	if p := a.recvRTP(time.Second); p == nil || p.SSRC != b.ssrc {
		t.Fatal("B→A lost after the spray")
	}
	aRTCP.send(s.A().LocalRTCPAddr(), rtcpSR(t, a.ssrc))
	if got, _ := bRTCP.recv(time.Second); got == nil {
		t.Fatal("A→B RTCP lost after the spray")
	}
	// junk is counted as invalid, not forwarded
	a.send(s.A().LocalAddr(), []byte{1, 2, 3})
	eventually(t, "invalid counted", func() bool { return s.A().Stats().Invalid == 1 })
}

// No re-latching after silence: once the learning window closed, a new
// source from the same IP never takes over, however long the latched one is
// silent (hold, DTX); a new SDP opens a new window.
func TestRelatchRules(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{LearnWindow: 100 * time.Millisecond})
	s, _ := r.NewSession()
	a, a2, b := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	a.send(s.A().LocalAddr(), a.packet())
	b.recvRTP(time.Second)

	// a new source, during and long after the window: ignored
	a2.send(s.A().LocalAddr(), a2.packet())
	eventually(t, "ignored", func() bool { return s.A().Stats().Ignored == 1 })
	time.Sleep(250 * time.Millisecond)
	a2.send(s.A().LocalAddr(), a2.packet())
	eventually(t, "ignored after silence", func() bool { return s.A().Stats().Ignored == 2 })
	if got := s.A().Stats().Source; got != a.addr() {
		t.Fatalf("re-latched after silence on %v", got)
	}

	// a direction change alone keeps the latch, and opens a window: the
	// first source seen in it is kept (here a2, same IP)
	s.A().SetRemote(Remote{RTP: a.addr(), Direction: sdp.DirectionSendOnly})
	if got := s.A().Stats().Source; got != a.addr() {
		t.Fatalf("hold lost the latch: %v", got)
	}
	a2.send(s.A().LocalAddr(), a2.packet())
	eventually(t, "relatched in the new window", func() bool { return s.A().Stats().Source == a2.addr() })
	// a new SDP address forgets it
	s.A().SetRemote(Remote{RTP: b.addr()})
	if got := s.A().Stats().Source; got.IsValid() {
		t.Fatalf("new SDP address kept latch %v", got)
	}
}

func TestLatchSDPAddr(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{Latching: LatchSDPAddr})
	s, _ := r.NewSession()
	a, b := newEndpoint(t), newEndpoint(t)
	// the SDP names another IP: a's packets are refused
	s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), a.addr().Port())})
	a.send(s.A().LocalAddr(), a.packet())
	eventually(t, "ignored", func() bool { return s.A().Stats().Ignored == 1 })
	// same IP, other port (a NAT that keeps the address): accepted
	s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 9)})
	s.B().SetRemote(Remote{RTP: b.addr()})
	a.send(s.A().LocalAddr(), a.packet())
	if b.recvRTP(time.Second) == nil {
		t.Fatal("not forwarded")
	}
}

func TestLatchOff(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{Latching: LatchOff})
	s, _ := r.NewSession()
	a, other, b := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	other.send(s.A().LocalAddr(), other.packet())
	a.send(s.A().LocalAddr(), a.packet())
	if p := b.recvRTP(time.Second); p == nil || p.SSRC != a.ssrc {
		t.Fatal("A→B")
	}
	if st := s.A().Stats(); st.Ignored != 1 || st.Packets != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Hold as RFC 3264 §8.4 puts it: the side that sent sendonly gets no media;
// the held side's answer (recvonly) sends none either. Resume restores both.
func TestHoldDirections(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, _ := r.NewSession()
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr(), Direction: sdp.DirectionSendOnly})
	s.B().SetRemote(Remote{RTP: b.addr(), Direction: sdp.DirectionRecvOnly})

	a.send(s.A().LocalAddr(), a.packet()) // music on hold towards B: flows
	if b.recvRTP(time.Second) == nil {
		t.Fatal("A→B should flow during hold")
	}
	b.send(s.B().LocalAddr(), b.packet())
	if a.recvRTP(100*time.Millisecond) != nil {
		t.Fatal("B→A must not flow: A said sendonly")
	}
	if st := s.B().Stats(); st.Dropped != 1 || st.Packets != 1 {
		t.Fatalf("B stats %+v", st)
	}
	// RTCP still flows on a held stream (RFC 3264 §5.1)
	b.send(s.B().LocalRTCPAddr(), rtcpSR(t, b.ssrc))
	if pkt, _ := a.recv(100 * time.Millisecond); pkt != nil {
		t.Fatal("A's RTCP should go to RTP port + 1, not the RTP port")
	}

	// old-style hold: c=0.0.0.0
	s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(netip.IPv4Unspecified(), a.addr().Port())})
	b.send(s.B().LocalAddr(), b.packet())
	if a.recvRTP(100*time.Millisecond) != nil {
		t.Fatal("B→A must not flow to 0.0.0.0")
	}

	// resume
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	a.send(s.A().LocalAddr(), a.packet()) // A latches again
	b.recvRTP(time.Second)
	b.send(s.B().LocalAddr(), b.packet())
	if a.recvRTP(time.Second) == nil {
		t.Fatal("B→A after resume")
	}
}

func rtcpSR(t *testing.T, ssrc uint32) []byte {
	t.Helper()
	b, err := (&rtcp.SenderReport{SSRC: ssrc, NTPTime: 1 << 32, RTPTime: 160, PacketCount: 1, OctetCount: 160}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRTCPForwarded(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, _ := r.NewSession()
	a, aRTCP, b, bRTCP := newEndpoint(t), newEndpoint(t), newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr(), RTCP: aRTCP.addr()})
	s.B().SetRemote(Remote{RTP: b.addr(), RTCP: bRTCP.addr()})

	aRTCP.send(s.A().LocalRTCPAddr(), rtcpSR(t, a.ssrc))
	got, from := bRTCP.recv(time.Second)
	if got == nil || from != s.B().LocalRTCPAddr() {
		t.Fatalf("A→B RTCP: %v from %v", got, from)
	}
	pkts, err := rtcp.Unmarshal(got)
	if err != nil || len(pkts) != 1 {
		t.Fatalf("RTCP %v %v", pkts, err)
	}
	if sr, ok := pkts[0].(*rtcp.SenderReport); !ok || sr.SSRC != a.ssrc {
		t.Fatalf("got %#v", pkts[0])
	}
	bRTCP.send(s.B().LocalRTCPAddr(), rtcpSR(t, b.ssrc))
	if got, _ := aRTCP.recv(time.Second); got == nil {
		t.Fatal("B→A RTCP lost")
	}
	// RTCP multiplexed on the RTP port (RFC 5761) is relayed as RTCP
	a.send(s.A().LocalAddr(), a.packet())
	b.recvRTP(time.Second)
	a.send(s.A().LocalAddr(), rtcpSR(t, a.ssrc))
	if got, _ := bRTCP.recv(time.Second); got == nil {
		t.Fatal("muxed RTCP lost")
	}
	if st := s.A().Stats(); st.RTCPPackets != 2 || st.Packets != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A stream with known gaps: the loss counter matches RFC 3550 A.3.
func TestLossCounted(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, _ := r.NewSession()
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	sent := 0
	for i := range 100 {
		p := a.packet()
		if i%10 == 3 { // 10 gaps
			continue
		}
		a.send(s.A().LocalAddr(), p)
		sent++
		if b.recvRTP(time.Second) == nil {
			t.Fatal("lost on loopback")
		}
	}
	st := s.A().Stats()
	// the first packet (i=0) starts the count, the last is i=99
	if st.Expected != 100 || st.Lost != 10 || st.Packets != uint64(sent) {
		t.Fatalf("expected 100, lost 10; got %+v", st)
	}
}

// Packets sent every 5 ms whose RTP timestamps swing ±2.5 ms: RFC 3550 A.8
// jitter converges on 2.5 ms (|D| alternates 0 and 5 ms... see rxstats tests
// for exact figures; here timing on a busy machine adds noise).
func TestJitterOverNetwork(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, _ := r.NewSession()
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr(), ClockRate: 8000})
	s.B().SetRemote(Remote{RTP: b.addr()})
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := range 200 {
		<-tick.C
		a.ts = uint32(5000 + 40*i + 40*(i%2)) // every other packet 5 ms late in RTP time
		a.send(s.A().LocalAddr(), a.packet())
	}
	eventually(t, "all counted", func() bool { return s.A().Stats().Packets == 200 })
	j := s.A().Stats().Jitter
	// |D| is 5 ms for every packet: the jitter tends to 5 ms
	if j < 3*time.Millisecond || j > 9*time.Millisecond {
		t.Fatalf("jitter %v, want about 5ms", j)
	}
}

func TestMediaTimeout(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{MediaTimeout: time.Second})
	s, _ := r.NewSession()
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})

	// not armed: never fires
	select {
	case <-s.Timeout():
		t.Fatal("fired before ArmTimeout")
	case <-time.After(1200 * time.Millisecond):
	}
	s.ArmTimeout()
	// media flowing for 2 s: no timeout (a second is ample slack for a
	// loaded machine's 20 ms ticks)
	start := time.Now()
	for time.Since(start) < 2*time.Second {
		a.send(s.A().LocalAddr(), a.packet())
		select {
		case <-s.Timeout():
			t.Fatal("fired while media flows")
		case <-time.After(20 * time.Millisecond):
		}
	}
	stopped := time.Now()
	select {
	case <-s.Timeout():
		if d := time.Since(stopped); d < 600*time.Millisecond {
			t.Fatalf("fired after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no timeout")
	}
}

func TestMediaTimeoutHeld(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{MediaTimeout: 100 * time.Millisecond})
	s, _ := r.NewSession()
	s.A().SetRemote(Remote{RTP: netip.MustParseAddrPort("127.0.0.1:9"), Direction: sdp.DirectionInactive})
	s.B().SetRemote(Remote{RTP: netip.MustParseAddrPort("127.0.0.1:11"), Direction: sdp.DirectionInactive})
	s.ArmTimeout()
	select {
	case <-s.Timeout():
		t.Fatal("fired on an inactive (held) session")
	case <-time.After(350 * time.Millisecond):
	}
	s.A().SetRemote(Remote{RTP: netip.MustParseAddrPort("127.0.0.1:9")})
	s.B().SetRemote(Remote{RTP: netip.MustParseAddrPort("127.0.0.1:11")})
	select {
	case <-s.Timeout():
	case <-time.After(2 * time.Second):
		t.Fatal("no timeout after resume with no media")
	}
}

// TestMediaTimeoutOneWayHold: a phone holds with sendonly and sends no
// music on hold, its peer answered recvonly: media may flow one way only,
// nothing flows, and the media timeout must not fire — the hold timeout
// does, much later (issue 11).
func TestMediaTimeoutOneWayHold(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		a, b   Remote
		hold   time.Duration
		expire bool
	}{
		{"sendonly/recvonly, hold timeout", Remote{RTP: netip.MustParseAddrPort("127.0.0.1:9"), Direction: sdp.DirectionSendOnly},
			Remote{RTP: netip.MustParseAddrPort("127.0.0.1:11"), Direction: sdp.DirectionRecvOnly}, 500 * time.Millisecond, true},
		{"c=0.0.0.0, hold timeout off", Remote{RTP: netip.MustParseAddrPort("0.0.0.0:9")},
			Remote{RTP: netip.MustParseAddrPort("127.0.0.1:11")}, -1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRelay(t, Config{MediaTimeout: 100 * time.Millisecond, HoldTimeout: tt.hold})
			s, _ := r.NewSession()
			s.A().SetRemote(tt.a)
			s.B().SetRemote(tt.b)
			s.ArmTimeout()
			select {
			case <-s.Timeout():
				t.Fatal("media timeout fired on a held session")
			case <-time.After(350 * time.Millisecond):
			}
			select {
			case <-s.Timeout():
				if !tt.expire {
					t.Fatal("fired with the hold timeout off")
				}
			case <-time.After(2 * time.Second):
				if tt.expire {
					t.Fatal("no hold timeout")
				}
			}
		})
	}
}

// TestResumeAfterLongHold: the silence of a hold does not count against
// the media timeout once the call is resumed (each SDP restarts the clock).
func TestResumeAfterLongHold(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{MediaTimeout: time.Second})
	s, _ := r.NewSession()
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr(), Direction: sdp.DirectionSendOnly})
	s.B().SetRemote(Remote{RTP: b.addr(), Direction: sdp.DirectionRecvOnly})
	s.ArmTimeout()
	time.Sleep(1500 * time.Millisecond) // held, silent
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	start := time.Now()
	for time.Since(start) < 1500*time.Millisecond {
		a.send(s.A().LocalAddr(), a.packet())
		select {
		case <-s.Timeout():
			t.Fatal("fired right after the resume while media flows")
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-s.Timeout():
	case <-time.After(10 * time.Second):
		t.Fatal("no timeout once media stopped after the resume")
	}
}

func TestPortExhaustionAndReuse(t *testing.T) {
	t.Parallel()
	base := testPortBase()
	r := newTestRelay(t, Config{PortMin: base + 1, PortMax: base + 9}) // even pairs: base+2..base+9 → 4 pairs
	if r.Capacity() != 2 {
		t.Fatalf("capacity %d", r.Capacity())
	}
	s1, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewSession(); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("got %v, want ErrPortsExhausted", err)
	}
	seen := map[int]bool{}
	for _, s := range []*Session{s1, s2} {
		for _, p := range []int{s.A().Port(), s.B().Port()} {
			if p%2 != 0 || p < base+2 || p > base+8 || seen[p] {
				t.Fatalf("bad port %d", p)
			}
			seen[p] = true
		}
	}
	freed := s1.A().Port()
	_ = s1.Close()
	s3, err := r.NewSession()
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if s3.A().Port() != freed && s3.B().Port() != freed {
		t.Fatalf("released port %d not reused: %d %d", freed, s3.A().Port(), s3.B().Port())
	}
	if r.Len() != 2 {
		t.Fatalf("len %d", r.Len())
	}
}

// A port held by another program is skipped, and the search goes on.
func TestPortInUseSkipped(t *testing.T) {
	t.Parallel()
	base := testPortBase()
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + 1})
	if err != nil {
		t.Skip("port busy:", err)
	}
	defer busy.Close()
	r := newTestRelay(t, Config{PortMin: base, PortMax: base + 5})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if s.A().Port() == base || s.B().Port() == base {
		t.Fatal("used a pair whose RTCP port is busy")
	}
	if _, err := r.NewSession(); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("got %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{PortMin: 10, PortMax: 5},
		{PortMin: 41, PortMax: 41},
		{PortMin: 40000, PortMax: 70000},
		{Latching: 7},
		{SocketBuffer: -1},
		{LearnWindow: -1},
	} {
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: got %v", c, err)
		}
	}
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Config()
	if c.PortMin != 40000 || c.PortMax != 49999 || c.MediaTimeout != time.Minute || c.HoldTimeout != 2*time.Hour || c.LearnWindow != time.Second || c.Latching != LatchSignalling || r.Capacity() != 2500 {
		t.Fatalf("defaults %+v", c)
	}
}

func TestCloseEndsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newTestRelay(t, Config{MediaTimeout: 50 * time.Millisecond})
	for range 10 {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		s.ArmTimeout()
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewSession(); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	if r.Len() != 0 {
		t.Fatal("sessions left")
	}
}

// Relay.Close while sessions are being made: every session is either
// closed by it or refused with ErrClosed, none is left half set up.
func TestCloseWhileSessionsStart(t *testing.T) {
	t.Parallel()
	for range 20 {
		r := newTestRelay(t, Config{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				s, err := r.NewSession()
				if err != nil {
					if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrPortsExhausted) {
						t.Errorf("NewSession: %v", err)
					}
					return
				}
				_ = s.Close()
			})
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
		if n := r.Len(); n != 0 {
			t.Errorf("%d sessions left after Close", n)
		}
	}
}
