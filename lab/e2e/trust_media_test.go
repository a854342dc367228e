package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Issue 10, Media: a stranger who sprays the relay's ports must never hear
// a call nor take its stream over, whatever the phase of the call.

// strangerPT is the payload type of the stranger's RTP: a party that
// counts a packet of it got the stranger's media.
const strangerPT = 99

// mediaRangeLen is the size of the relay's port range in these tests (ten
// calls): small enough for the stranger to spray all of it.
const mediaRangeLen = 40

// TestStrangerSprayingRelayPorts: a phone (127.0.0.1) calls a PBX
// (127.0.0.2) through the gateway while a stranger on 127.0.0.9 sprays the
// relay's whole port range with RTP and RTCP: while the call rings, once it
// is answered, while the phone holds the PBX (the PBX is silent longer than
// any re-latching delay) and after resume. The stranger must never receive
// a packet, and the parties must keep getting each other's media and none
// of the stranger's.
func TestStrangerSprayingRelayPorts(t *testing.T) {
	portMin := freeMediaRange(t, mediaRangeLen)
	pbxRTP := newRTPPort(t, "127.0.0.2")
	answer := make(chan struct{})
	invited := make(chan string, 1)
	pbx := newSIPAgent(t, "127.0.0.2", func(a *sipAgent) {
		host, port, _ := net.SplitHostPort(a.addr)
		p, _ := strconv.Atoi(port)
		contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: p}}
		ds := sipgo.NewDialogServerCache(a.client, contact)
		a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			if req.To().Params.Has("tag") { // hold, resume: the mirrored answer
				res := sip.NewResponseFromRequest(req, 200, "OK", []byte(answerFor(string(req.Body()), "127.0.0.2", pbxRTP.port)))
				res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				res.AppendHeader(&contact)
				_ = tx.Respond(res)
				return
			}
			dlg, err := ds.ReadInvite(req, tx)
			if err != nil {
				return
			}
			_ = dlg.Respond(180, "Ringing", nil)
			invited <- string(req.Body())
			select {
			case <-answer:
			case <-tx.Done():
				return
			}
			_ = dlg.Respond(200, "OK", []byte(answerFor(string(req.Body()), "127.0.0.2", pbxRTP.port)),
				sip.NewHeader("Content-Type", "application/sdp"))
		})
		a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = ds.ReadAck(req, tx) })
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { _ = ds.ReadBye(req, tx) })
	})
	g := startGateway(t, dialogConfig(pbx.addr)+
		fmt.Sprintf("media: {port_min: %d, port_max: %d}\n", portMin, portMin+mediaRangeLen-1))
	ph := newTestPhone(t)
	phoneRTP := newRTPPort(t, "127.0.0.1")
	ph.port = phoneRTP.port
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	spray := startSpray(t, "127.0.0.9", "127.0.0.1", portMin, portMin+mediaRangeLen-1)

	// Ringing: the stranger sprays every port before the answer.
	dialled := make(chan *sipgo.DialogClientSession, 1)
	dialErr := make(chan error, 1)
	go func() {
		s, err := dialSession(ctx, ph, g.UDP, "2000", mediaBody("127.0.0.1", phoneRTP.port, "", 0))
		if err != nil {
			dialErr <- err
			return
		}
		dialled <- s
	}()
	var toPBX netip.AddrPort
	select {
	case offer := <-invited:
		toPBX = sdpAddr(t, offer)
	case err := <-dialErr:
		t.Fatalf("call: %v", err)
	case <-ctx.Done():
		t.Fatal("the PBX got no INVITE")
	}
	spray.waitSweeps(t, 40) // a few hundred ms of ringing under the spray
	close(answer)
	var s *sipgo.DialogClientSession
	select {
	case s = <-dialled:
	case err := <-dialErr:
		t.Fatalf("call: %v", err)
	case <-ctx.Done():
		t.Fatal("no answer")
	}
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))

	// Answered: media both ways, the stranger still spraying.
	both := func(phase string) {
		t.Helper()
		if got := talk(t, phoneRTP, toPhone, pbxRTP); got[0] < 15 || got[strangerPT] != 0 {
			t.Errorf("%s: PBX got %d/20 of the phone's packets and %d of the stranger's", phase, got[0], got[strangerPT])
		}
		if got := talk(t, pbxRTP, toPBX, phoneRTP); got[0] < 15 || got[strangerPT] != 0 {
			t.Errorf("%s: phone got %d/20 of the PBX's packets and %d of the stranger's", phase, got[0], got[strangerPT])
		}
	}
	both("answered")

	// Hold: the phone sends sendonly, the PBX answers recvonly and goes
	// silent for longer than a re-latching delay would be.
	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", phoneRTP.port, "sendonly", 0), 2))
	if res.StatusCode != 200 {
		t.Fatalf("hold: %d %s", res.StatusCode, res.Reason)
	}
	if got := talk(t, phoneRTP, toPhone, pbxRTP); got[0] < 15 || got[strangerPT] != 0 {
		t.Errorf("on hold: PBX got %d/20 of the phone's packets and %d of the stranger's", got[0], got[strangerPT])
	}
	time.Sleep(2500 * time.Millisecond) // the PBX silent, the stranger spraying
	if got := talk(t, phoneRTP, toPhone, pbxRTP); got[0] < 15 || got[strangerPT] != 0 {
		t.Errorf("long hold: PBX got %d/20 of the phone's packets and %d of the stranger's", got[0], got[strangerPT])
	}
	if got := phoneRTP.recv(100 * time.Millisecond); got[strangerPT] != 0 {
		t.Errorf("on hold: the phone got %d of the stranger's packets", got[strangerPT])
	}

	// Resume.
	res = inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", phoneRTP.port, "sendrecv", 0), 3))
	if res.StatusCode != 200 {
		t.Fatalf("resume: %d %s", res.StatusCode, res.Reason)
	}
	both("resumed")

	sent, got := spray.stop()
	t.Logf("the stranger sent %d packets to %d relay ports", sent, mediaRangeLen) // a figure, not asserted
	if got != 0 {
		t.Errorf("the stranger received %d packets from the relay", got)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	g.waitLog(`msg="relay: media from a stranger ignored"`, 5*time.Second)
	_, metrics := g.api("GET", "/metrics")
	m := regexp.MustCompile(`(?m)^switchboard_media_stranger_packets_total (\d+)`).FindSubmatch(metrics)
	if m == nil {
		t.Fatalf("no stranger counter in /metrics:\n%s", metrics)
	}
	if n, _ := strconv.Atoi(string(m[1])); n == 0 {
		t.Error("switchboard_media_stranger_packets_total is 0")
	}
	if t.Failed() {
		t.Logf("gateway log:\n%s", g.log.String())
	}
}

// dialSession is testPhone.dial for another goroutine: errors are returned.
func dialSession(ctx context.Context, p *testPhone, gw, number, body string) (*sipgo.DialogClientSession, error) {
	host, port, _ := net.SplitHostPort(gw)
	pn, _ := strconv.Atoi(port)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	s, err := p.d.Invite(ctx, sip.Uri{Scheme: "sip", User: number, Host: host, Port: pn}, []byte(body),
		from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	if err := s.Ack(ctx); err != nil {
		return nil, fmt.Errorf("ack: %w", err)
	}
	return s, nil
}

// talk sends 20 RTP packets (PCMU) from src to dst and returns what sink
// got meanwhile, by payload type.
func talk(t *testing.T, src *rtpPort, dst netip.AddrPort, sink *rtpPort) map[byte]int {
	t.Helper()
	done := make(chan map[byte]int, 1)
	go func() { done <- sink.recv(600 * time.Millisecond) }()
	src.send(t, dst, 0, 20)
	return <-done
}

// freeMediaRange finds n consecutive UDP ports, the first even, that can
// be bound on every address now (the relay binds 0.0.0.0). It looks in
// 10000–19999: below the kernel's ephemeral ports (32768–60999, where
// every client socket of a loaded machine lands) and the gateway's
// default range (40000–49999, the other tests' gateways).
func freeMediaRange(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base := 10000 + 2*rand.IntN((10000-n)/2)
		ok := true
		var held []net.PacketConn
		for p := base; p < base+n && ok; p++ {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			_ = c.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free media port range")
	return 0
}

// sprayer is the stranger: from one socket on its own address it sends
// RTP (even ports) and RTCP (odd ports) to every port of a range, sweep
// after sweep, and counts whatever comes back.
type sprayer struct {
	conn     *net.UDPConn
	sent     atomic.Int64
	received atomic.Int64
	sweeps   atomic.Int64
	quit     chan struct{}
	wg       sync.WaitGroup
	stopped  sync.Once
}

func startSpray(t *testing.T, from, to string, portMin, portMax int) *sprayer {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(from), 0)))
	if err != nil {
		t.Fatal(err)
	}
	sp := &sprayer{conn: c, quit: make(chan struct{})}
	dst := netip.MustParseAddr(to)
	rtpPkt := make([]byte, 12+160)
	rtpPkt[0], rtpPkt[1] = 0x80, strangerPT
	binary.BigEndian.PutUint32(rtpPkt[8:], 0x5157a9e5)
	// a minimal RTCP sender report (RFC 3550 §6.4.1): V=2, PT=200, length 6
	rtcpPkt := make([]byte, 28)
	rtcpPkt[0], rtcpPkt[1], rtcpPkt[3] = 0x80, 200, 6
	binary.BigEndian.PutUint32(rtcpPkt[4:], 0x5157a9e5)
	sp.wg.Add(2)
	go func() {
		defer sp.wg.Done()
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
				return // closed by stop
			}
			sp.received.Add(1)
		}
	}()
	go func() {
		defer sp.wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			binary.BigEndian.PutUint16(rtpPkt[2:], seq)
			binary.BigEndian.PutUint32(rtpPkt[4:], uint32(seq)*160)
			for p := portMin; p <= portMax; p++ {
				pkt := rtpPkt
				if p%2 == 1 {
					pkt = rtcpPkt
				}
				if _, err := c.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(dst, uint16(p))); err == nil {
					sp.sent.Add(1)
				}
			}
			sp.sweeps.Add(1)
			select {
			case <-sp.quit:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { sp.stop() })
	return sp
}

// waitSweeps waits until the stranger swept the range n more times.
func (sp *sprayer) waitSweeps(t *testing.T, n int64) {
	t.Helper()
	target := sp.sweeps.Load() + n
	for deadline := time.Now().Add(10 * time.Second); sp.sweeps.Load() < target; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stranger does not spray")
		}
	}
}

// stop ends the spray and returns the packets sent and received.
func (sp *sprayer) stop() (sent, received int64) {
	sp.stopped.Do(func() {
		close(sp.quit)
		time.Sleep(100 * time.Millisecond) // the relay's last answers, if any
		_ = sp.conn.Close()
		sp.wg.Wait()
	})
	return sp.sent.Load(), sp.received.Load()
}

// TestNATedPhoneMediaLatches: a phone behind NAT offers its private address
// (192.0.2.10, unreachable) and sends its media from the address its SIP
// comes from. The relay takes that source (the signalling address the
// B2BUA gives it) and sends the PBX's media there; a stranger spraying the
// same ports is still refused.
func TestNATedPhoneMediaLatches(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("192.0.2.10", 4000, "", 0))
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	fc := pbx.get("2000")
	spray := startSpray(t, "127.0.0.9", toPhone.Addr().String(), int(toPhone.Port()), int(toPhone.Port())+1)

	if got := talk(t, rtp, toPhone, fc.rtp); got[0] < 15 || got[strangerPT] != 0 {
		t.Fatalf("PBX got %d/20 of the NATed phone's packets and %d of the stranger's\n%s", got[0], got[strangerPT], g.log.String())
	}
	if got := talk(t, fc.rtp, fc.relayAddr(), rtp); got[0] < 15 || got[strangerPT] != 0 {
		t.Errorf("the NATed phone got %d/20 of the PBX's packets and %d of the stranger's", got[0], got[strangerPT])
	}
	if _, got := spray.stop(); got != 0 {
		t.Errorf("the stranger received %d packets", got)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}
