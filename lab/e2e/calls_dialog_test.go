package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Established-dialog flows through the gateway (issue 5): hold and resume,
// codec change, UPDATE, INFO and RFC 4733 DTMF, glare, in-dialog checks,
// session timer expiry. A sipgo phone calls a sipgo PBX; both send real
// RTP through the relay.

// dialogConfig routes 2000-2009 to the PBX at addr.
func dialogConfig(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted: [127.0.0.0/8]}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%s
    probe: {interval: 0s}
    match: ["200x"]
`, port)
}

// mediaBody is an SDP offer or answer from host:port with the payload
// types given (0 PCMU, 8 PCMA, 101 telephone-event) and a direction.
func mediaBody(host string, port int, dir string, pts ...int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=test %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n", port, host, host)
	f := make([]string, len(pts))
	for i, pt := range pts {
		f[i] = strconv.Itoa(pt)
	}
	fmt.Fprintf(&b, "m=audio %d RTP/AVP %s\r\n", port, strings.Join(f, " "))
	for _, pt := range pts {
		switch pt {
		case 0:
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case 8:
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		case 101:
			b.WriteString("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n")
		}
	}
	if dir != "" {
		b.WriteString("a=" + dir + "\r\n")
	}
	return b.String()
}

// withVersion returns body with its o= version set to v (a changed
// description, RFC 3264 §8).
func withVersion(body string, v int) string {
	return regexp.MustCompile(`(o=test \d+) 1 `).ReplaceAllString(body, fmt.Sprintf("$1 %d ", v))
}

var (
	reConn  = regexp.MustCompile(`c=IN IP4 (\S+)`)
	reAudio = regexp.MustCompile(`m=audio (\d+) RTP/AVP ([\d ]+)`)
	reDir   = regexp.MustCompile(`a=(sendrecv|sendonly|recvonly|inactive)`)
)

// sdpAddr is the RTP address of an SDP body.
func sdpAddr(t *testing.T, body string) netip.AddrPort {
	t.Helper()
	c, m := reConn.FindStringSubmatch(body), reAudio.FindStringSubmatch(body)
	if c == nil || m == nil {
		t.Fatalf("no media address in SDP:\n%s", body)
	}
	port, _ := strconv.Atoi(m[1])
	return netip.AddrPortFrom(netip.MustParseAddr(c[1]), uint16(port))
}

// sdpDir is the direction of an SDP body, sendrecv when absent.
func sdpDir(body string) string {
	if m := reDir.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "sendrecv"
}

// sdpFormats are the payload types of the audio m= line.
func sdpFormats(body string) []string {
	m := reAudio.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	return strings.Fields(m[2])
}

// answerFor answers an offer from host:port: the first of PCMU/PCMA
// offered, telephone-event when offered, the mirrored direction
// (RFC 3264 §6.1).
func answerFor(offer, host string, port int) string {
	var pts []int
	for _, f := range sdpFormats(offer) {
		if (f == "0" || f == "8") && len(pts) == 0 {
			n, _ := strconv.Atoi(f)
			pts = append(pts, n)
		}
	}
	if strings.Contains(offer, "telephone-event") {
		pts = append(pts, 101)
	}
	dir := map[string]string{"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": ""}[sdpDir(offer)]
	return mediaBody(host, port, dir, pts...)
}

// rtpPort is a UDP socket for RTP on host.
type rtpPort struct {
	conn *net.UDPConn
	port int
}

func newRTPPort(t *testing.T, host string) *rtpPort {
	t.Helper()
	for range 20 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		if p%2 == 0 { // RTP on even ports (RFC 3550 §11)
			t.Cleanup(func() { c.Close() })
			return &rtpPort{conn: c, port: p}
		}
		c.Close()
	}
	t.Fatal("no even UDP port")
	return nil
}

// send sends n RTP packets of payload type pt to dst.
func (r *rtpPort) send(t *testing.T, dst netip.AddrPort, pt byte, n int) {
	t.Helper()
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, pt
	binary.BigEndian.PutUint32(pkt[8:], uint32(r.port))
	for i := range n {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		if _, err := r.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recv counts the RTP packets that arrive within d, by payload type.
func (r *rtpPort) recv(d time.Duration) map[byte]int {
	got := map[byte]int{}
	buf := make([]byte, 2048)
	_ = r.conn.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := r.conn.Read(buf)
		if err != nil {
			return got
		}
		if n >= 12 {
			got[buf[1]&0x7f]++
		}
	}
}

// flows sends 20 packets from src to dst and reports how many reached
// sink.
func flows(t *testing.T, src *rtpPort, dst netip.AddrPort, sink *rtpPort, pt byte) int {
	t.Helper()
	done := make(chan map[byte]int, 1)
	go func() { done <- sink.recv(600 * time.Millisecond) }()
	src.send(t, dst, pt, 20)
	return (<-done)[pt]
}

// farCall is one call the fake PBX answered.
type farCall struct {
	user  string
	dlg   *sipgo.DialogServerSession
	rtp   *rtpPort
	mu    sync.Mutex
	relay netip.AddrPort // where the gateway wants our RTP
	offer string         // the last offer received
}

func (fc *farCall) relayAddr() netip.AddrPort {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.relay
}

// farEnd is a sipgo PBX at 127.0.0.2: it answers every INVITE with SDP,
// answers re-INVITEs and UPDATEs with the mirrored SDP, takes INFO, and
// records every in-dialog request.
type farEnd struct {
	agent   *sipAgent
	ds      *sipgo.DialogServerCache
	contact sip.Uri
	t       *testing.T
	// headers for the 2xx to the first INVITE (session timers).
	answerHeaders []sip.Header
	// onReinvite runs before a re-INVITE is answered (glare tests).
	onReinvite func(fc *farCall, req *sip.Request)

	mu    sync.Mutex
	calls map[string]*farCall // by Call-ID
	byTo  map[string]*farCall // by dialled user
	reqs  chan *sip.Request   // in-dialog requests
	byes  chan string         // dialled user of each BYE received
}

func newFarEnd(t *testing.T, setup func(*farEnd)) *farEnd {
	f := &farEnd{t: t, calls: map[string]*farCall{}, byTo: map[string]*farCall{},
		reqs: make(chan *sip.Request, 64), byes: make(chan string, 16)}
	if setup != nil {
		setup(f)
	}
	f.agent = newSIPAgent(t, "127.0.0.2", func(a *sipAgent) {
		host, port, _ := net.SplitHostPort(a.addr)
		p, _ := strconv.Atoi(port)
		f.contact = sip.Uri{Scheme: "sip", Host: host, Port: p}
		f.ds = sipgo.NewDialogServerCache(a.client, sip.ContactHeader{Address: f.contact})
		a.srv.OnInvite(f.onInvite)
		a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = f.ds.ReadAck(req, tx) })
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			if fc := f.call(req); fc != nil {
				f.byes <- fc.user
			}
			_ = f.ds.ReadBye(req, tx)
		})
		a.srv.OnUpdate(f.onUpdate)
		a.srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
			f.reqs <- req
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	return f
}

func (f *farEnd) call(req *sip.Request) *farCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[req.CallID().Value()]
}

// get waits for the call to user.
func (f *farEnd) get(user string) *farCall {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		fc := f.byTo[user]
		f.mu.Unlock()
		if fc != nil {
			return fc
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("PBX got no call for %s", user)
	return nil
}

func (f *farEnd) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To().Params.Has("tag") {
		f.reinvite(req, tx)
		return
	}
	dlg, err := f.ds.ReadInvite(req, tx)
	if err != nil {
		return
	}
	fc := &farCall{user: req.Recipient.User, dlg: dlg, rtp: newRTPPort(f.t, "127.0.0.2"), offer: string(req.Body())}
	fc.relay = sdpAddr(f.t, string(req.Body()))
	f.mu.Lock()
	f.calls[req.CallID().Value()] = fc
	f.byTo[fc.user] = fc
	f.mu.Unlock()
	_ = dlg.Respond(180, "Ringing", nil)
	hs := append([]sip.Header{sip.NewHeader("Content-Type", "application/sdp"),
		sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO")}, f.answerHeaders...)
	_ = dlg.Respond(200, "OK", []byte(answerFor(string(req.Body()), "127.0.0.2", fc.rtp.port)), hs...)
}

// reinvite answers a re-INVITE with the mirrored SDP (no SDP: 488).
func (f *farEnd) reinvite(req *sip.Request, tx sip.ServerTransaction) {
	f.reqs <- req
	fc := f.call(req)
	if fc == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if f.onReinvite != nil {
		f.onReinvite(fc, req)
	}
	f.answerOffer(fc, req, tx)
}

func (f *farEnd) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	f.reqs <- req
	fc := f.call(req)
	if fc == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if len(req.Body()) == 0 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		return
	}
	f.answerOffer(fc, req, tx)
}

func (f *farEnd) answerOffer(fc *farCall, req *sip.Request, tx sip.ServerTransaction) {
	offer := string(req.Body())
	if offer == "" {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	fc.mu.Lock()
	fc.relay, fc.offer = sdpAddr(f.t, offer), offer
	fc.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", []byte(answerFor(offer, "127.0.0.2", fc.rtp.port)))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(&sip.ContactHeader{Address: f.contact})
	_ = tx.Respond(res)
}

// next returns the next in-dialog request the PBX got of method.
func (f *farEnd) next(method sip.RequestMethod) *sip.Request {
	f.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case r := <-f.reqs:
			if r.Method == method {
				return r
			}
		case <-timeout:
			f.t.Fatalf("PBX got no %s", method)
			return nil
		}
	}
}

// testPhone is a sipgo phone at 127.0.0.1 calling as u1000.
type testPhone struct {
	d        *sipgo.DialogClientCache
	t        *testing.T
	notifies chan *sip.Request
	byes     chan string // Call-IDs
	// reinvites are the re-INVITEs the phone got; it answers them with
	// the mirrored SDP at port.
	reinvites chan *sip.Request
	port      int
}

func newTestPhone(t *testing.T) *testPhone {
	p := &testPhone{t: t, notifies: make(chan *sip.Request, 16), byes: make(chan string, 16),
		reinvites: make(chan *sip.Request, 16)}
	newSIPAgent(t, "127.0.0.1", func(a *sipAgent) {
		p.d = a.phone()
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			p.byes <- req.CallID().Value()
			if err := p.d.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
			}
		})
		a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			if !req.To().Params.Has("tag") {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
				return
			}
			p.reinvites <- req
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte(answerFor(string(req.Body()), "127.0.0.1", p.port)))
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "127.0.0.1"}})
			_ = tx.Respond(res)
		})
		a.srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
			p.notifies <- req
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	return p
}

// dial calls number with body and returns the answered, ACKed session and
// the 2xx SDP.
func (p *testPhone) dial(ctx context.Context, gw, number, body string, hs ...sip.Header) *sipgo.DialogClientSession {
	p.t.Helper()
	host, port, _ := net.SplitHostPort(gw)
	pn, _ := strconv.Atoi(port)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	hs = append([]sip.Header{from, sip.NewHeader("Content-Type", "application/sdp")}, hs...)
	s, err := p.d.Invite(ctx, sip.Uri{Scheme: "sip", User: number, Host: host, Port: pn}, []byte(body), hs...)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		p.t.Fatalf("answer: %v", err)
	}
	if err := s.Ack(ctx); err != nil {
		p.t.Fatal(err)
	}
	return s
}

// inDialog sends an in-dialog request on s and returns the final response;
// a 2xx to a re-INVITE is ACKed.
func inDialog(ctx context.Context, t *testing.T, s *sipgo.DialogClientSession, method sip.RequestMethod, ctype, body string, hs ...sip.Header) *sip.Response {
	t.Helper()
	req := sip.NewRequest(method, s.InviteResponse.Contact().Address)
	if body != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
		req.SetBody([]byte(body))
	}
	for _, h := range hs {
		req.AppendHeader(h)
	}
	res, err := s.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if method == sip.INVITE && res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, req.Recipient)
		if err := s.WriteRequest(ack); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// TestHoldResume: the phone holds (sendonly), the PBX gets sendonly and
// answers recvonly, the phone gets recvonly back (RFC 3264 §8.4). While
// held the relay stops PBX→phone media and keeps phone→PBX (music on
// hold); resume brings both back. Then a codec change (PCMA only) goes
// through end to end.
func TestHoldResume(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offer := mediaBody("127.0.0.1", rtp.port, "", 0, 8, 101)
	s := ph.dial(ctx, g.UDP, "2000", offer)
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	fc := pbx.get("2000")

	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
		t.Fatalf("before hold: %d/20 packets PBX→phone", n)
	}
	if n := flows(t, rtp, toPhone, fc.rtp, 0); n < 15 {
		t.Fatalf("before hold: %d/20 packets phone→PBX", n)
	}

	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendonly", 0, 8, 101), 2))
	if res.StatusCode != 200 {
		t.Fatalf("hold re-INVITE: %d %s\n%s", res.StatusCode, res.Reason, g.log.String())
	}
	if d := sdpDir(string(res.Body())); d != "recvonly" {
		t.Errorf("phone got %s for its sendonly, want recvonly\n%s", d, res.Body())
	}
	if d := sdpDir(string(pbx.next(sip.INVITE).Body())); d != "sendonly" {
		t.Errorf("PBX got %s, want sendonly (the hold as the phone asked)", d)
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n != 0 {
		t.Errorf("on hold: %d packets PBX→phone, want 0", n)
	}
	if n := flows(t, rtp, toPhone, fc.rtp, 0); n < 15 {
		t.Errorf("on hold: %d/20 packets phone→PBX (sendonly still sends)", n)
	}

	res = inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendrecv", 0, 8, 101), 3))
	if res.StatusCode != 200 || sdpDir(string(res.Body())) != "sendrecv" {
		t.Fatalf("resume: %d %s\n%s", res.StatusCode, res.Reason, res.Body())
	}
	pbx.next(sip.INVITE)
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
		t.Errorf("resumed: %d/20 packets PBX→phone", n)
	}

	// Codec change: PCMA only, end to end.
	res = inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "", 8), 4))
	if res.StatusCode != 200 {
		t.Fatalf("codec change: %d %s", res.StatusCode, res.Reason)
	}
	if f := sdpFormats(string(pbx.next(sip.INVITE).Body())); strings.Join(f, " ") != "8" {
		t.Errorf("PBX offered %v, want [8]", f)
	}
	if f := sdpFormats(string(res.Body())); strings.Join(f, " ") != "8" {
		t.Errorf("phone answered %v, want [8]", f)
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 8); n < 15 {
		t.Errorf("PCMA: %d/20 packets PBX→phone", n)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

// TestUpdateAndDTMF: UPDATE with a new RTP port re-points the relay
// (RFC 3311); UPDATE without SDP is a session refresh answered by the
// gateway; INFO with application/dtmf-relay and application/dtmf reaches
// the PBX with its body (RFC 6086); telephone-event offered by the phone is
// offered to the PBX and answered back, and RFC 4733 packets pass the
// relay.
func TestUpdateAndDTMF(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2001", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	fc := pbx.get("2001")
	if !strings.Contains(fc.offer, "telephone-event/8000") {
		t.Errorf("PBX offer lacks telephone-event:\n%s", fc.offer)
	}
	if !strings.Contains(string(s.InviteResponse.Body()), "telephone-event/8000") {
		t.Errorf("phone's answer lacks telephone-event:\n%s", s.InviteResponse.Body())
	}
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	if n := flows(t, rtp, toPhone, fc.rtp, 101); n < 15 {
		t.Errorf("RFC 4733: %d/20 telephone-event packets phone→PBX", n)
	}

	for _, tt := range []struct{ ctype, body string }{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"},
		{"application/dtmf", "7"},
	} {
		res := inDialog(ctx, t, s, sip.INFO, tt.ctype, tt.body)
		if res.StatusCode != 200 {
			t.Fatalf("INFO %s: %d %s", tt.ctype, res.StatusCode, res.Reason)
		}
		got := pbx.next(sip.INFO)
		if ct := got.GetHeader("Content-Type"); ct == nil || ct.Value() != tt.ctype || string(got.Body()) != tt.body {
			t.Errorf("PBX INFO: %v %q, want %s %q", ct, got.Body(), tt.ctype, tt.body)
		}
	}

	rtp2 := newRTPPort(t, "127.0.0.1")
	res := inDialog(ctx, t, s, sip.UPDATE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp2.port, "", 0, 101), 2))
	if res.StatusCode != 200 || len(res.Body()) == 0 {
		t.Fatalf("UPDATE: %d %s\n%s", res.StatusCode, res.Reason, g.log.String())
	}
	if got := pbx.next(sip.UPDATE); len(got.Body()) == 0 {
		t.Error("PBX UPDATE without SDP")
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp2, 0); n < 15 {
		t.Errorf("after UPDATE: %d/20 packets PBX→phone's new port", n)
	}
	res = inDialog(ctx, t, s, sip.UPDATE, "", "")
	if res.StatusCode != 200 {
		t.Errorf("refresh UPDATE without SDP: %d %s", res.StatusCode, res.Reason)
	}
	_ = s.Bye(ctx)
}

// TestGlare: while the gateway's re-INVITE to the PBX is pending, the
// PBX's own re-INVITE gets 491 (RFC 3261 §14.1); the phone's re-INVITE
// completes.
func TestGlare(t *testing.T) {
	glare := make(chan int, 1)
	pbx := newFarEnd(t, func(f *farEnd) {
		f.onReinvite = func(fc *farCall, req *sip.Request) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			inv := sip.NewRequest(sip.INVITE, fc.dlg.InviteRequest.Contact().Address)
			inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			inv.SetBody([]byte(mediaBody("127.0.0.2", fc.rtp.port, "sendonly", 0)))
			res, err := fc.dlg.Do(ctx, inv)
			if err != nil {
				glare <- 0
				return
			}
			glare <- res.StatusCode
		}
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2002", mediaBody("127.0.0.1", rtp.port, "", 0))
	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendonly", 0), 2))
	if res.StatusCode != 200 {
		t.Fatalf("phone re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	select {
	case code := <-glare:
		if code != 491 {
			t.Fatalf("PBX re-INVITE during the gateway's: %d, want 491", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PBX never sent its re-INVITE")
	}
	_ = s.Bye(ctx)
}

// TestInDialogChecks: a request for an unknown dialog gets 481, one with
// a CSeq lower than the last gets 500 (RFC 3261 §12.2.2).
func TestInDialogChecks(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2003", mediaBody("127.0.0.1", rtp.port, "", 0))
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf", "1"); res.StatusCode != 200 {
		t.Fatalf("INFO: %d", res.StatusCode)
	}
	raw := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	toTag, _ := s.InviteResponse.To().Params.Get("tag")
	fromTag, _ := s.InviteRequest.From().Params.Get("tag")
	inDlg := func(callID, tag string, cseq int) string {
		return fmt.Sprintf("INFO sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:u1000@example.com>;tag=%s\r\nTo: <sip:2003@example.com>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d INFO\r\n"+
			"Content-Type: application/dtmf\r\nContent-Length: 1\r\n\r\n1",
			g.UDP, raw.conn.LocalAddr(), randHex(8), fromTag, tag, callID, cseq)
	}
	if res := raw.roundTrip(inDlg("no-such-call", "x", 5)); res.Status != 481 {
		t.Errorf("unknown dialog: %d, want 481", res.Status)
	}
	if res := raw.roundTrip(strings.Replace(strings.Replace(inDlg("no-such-call", "x", 6), "INFO", "OPTIONS", -1),
		"Content-Type: application/dtmf\r\nContent-Length: 1\r\n\r\n1", "Content-Length: 0\r\n\r\n", 1)); res.Status != 481 {
		t.Errorf("OPTIONS for an unknown dialog: %d, want 481", res.Status)
	}
	if res := raw.roundTrip(raw.request("OPTIONS", "sip:example.com", "u1000")); res.Status != 200 || res.get("Allow") == "" {
		t.Errorf("OPTIONS outside a dialog: %d, Allow %q", res.Status, res.get("Allow"))
	}
	if res := raw.roundTrip(inDlg(s.InviteRequest.CallID().Value(), toTag, 1)); res.Status != 500 {
		t.Errorf("CSeq out of order: %d, want 500", res.Status)
	}
	// OPTIONS inside the dialog: 200 (RFC 3261 §11.2).
	if res := inDialog(ctx, t, s, sip.OPTIONS, "", ""); res.StatusCode != 200 {
		t.Errorf("in-dialog OPTIONS: %d, want 200", res.StatusCode)
	}
	// Session-Expires below our Min-SE: 422 with Min-SE (RFC 4028 §9).
	res := raw.roundTrip(raw.request("INVITE", "sip:2003@example.com", "u1000", "Supported: timer", "Session-Expires: 30"))
	if res.Status != 422 || res.get("Min-SE") != "90" {
		t.Errorf("small Session-Expires: %d Min-SE %q, want 422 and 90", res.Status, res.get("Min-SE"))
	}
	_ = s.Bye(ctx)
}

// TestSessionTimerExpiry: session timers on both legs (RFC 4028). The
// phone asks for 90 s with the gateway as refresher (refresher=uas): the
// gateway refreshes it at half the interval with a re-INVITE (the phone
// does not allow UPDATE). The PBX takes the refresher role on its leg
// with 90 s and never refreshes: the gateway ends the call on both legs
// before the session expires (§10: at 90 - 30 = 60 s). Takes a minute;
// skipped with -short.
func TestSessionTimerExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 60 s for a session to expire")
	}
	pbx := newFarEnd(t, func(f *farEnd) {
		f.answerHeaders = []sip.Header{sip.NewHeader("Session-Expires", "90;refresher=uas"), sip.NewHeader("Require", "timer")}
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2004", mediaBody("127.0.0.1", rtp.port, "", 0),
		sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "90;refresher=uas"))
	if se := s.InviteResponse.GetHeader("Session-Expires"); se == nil || se.Value() != "90;refresher=uas" {
		t.Errorf("2xx to the phone: Session-Expires %v, want 90;refresher=uas", se)
	}
	if rq := s.InviteResponse.GetHeader("Require"); rq == nil || rq.Value() != "timer" {
		t.Errorf("2xx to the phone: Require %v, want timer", rq)
	}
	fc := pbx.get("2004")
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	// Keep media flowing so the media timeout is not what ends the call.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		pkt := make([]byte, 172)
		pkt[0] = 0x80
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				_, _ = fc.rtp.conn.WriteToUDPAddrPort(pkt, fc.relayAddr())
				_, _ = rtp.conn.WriteToUDPAddrPort(pkt, toPhone)
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	select {
	case r := <-ph.reinvites:
		if se := r.GetHeader("Session-Expires"); se == nil || se.Value() != "90;refresher=uac" {
			t.Errorf("refresh re-INVITE Session-Expires %v, want 90;refresher=uac", se)
		}
		if len(r.Body()) == 0 {
			t.Error("refresh re-INVITE without SDP")
		}
	case <-time.After(55 * time.Second):
		t.Fatalf("no session refresh towards the phone within 55 s\n%s", g.log.String())
	}
	select {
	case user := <-pbx.byes:
		if user != "2004" {
			t.Fatalf("BYE for %s", user)
		}
	case <-time.After(75 * time.Second):
		t.Fatalf("no BYE to the PBX after its session expired\n%s", g.log.String())
	}
	select {
	case <-ph.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE to the phone")
	}
	g.waitLog(`msg="session expired"`, 5*time.Second)
}

// TestHoldFromPBX: the PBX holds the phone with a re-INVITE of its own
// (the B leg's offer): the phone gets sendonly, the PBX recvonly back,
// and the relay stops phone→PBX media.
func TestHoldFromPBX(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ph.port = rtp.port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2006", mediaBody("127.0.0.1", rtp.port, "", 0))
	toPhone := sdpAddr(t, string(s.InviteResponse.Body()))
	fc := pbx.get("2006")
	inv := sip.NewRequest(sip.INVITE, fc.dlg.InviteRequest.Contact().Address)
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody([]byte(mediaBody("127.0.0.2", fc.rtp.port, "sendonly", 0)))
	res, err := fc.dlg.Do(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || sdpDir(string(res.Body())) != "recvonly" {
		t.Fatalf("PBX hold: %d %s, want 200 recvonly\n%s", res.StatusCode, sdpDir(string(res.Body())), g.log.String())
	}
	if err := fc.dlg.WriteRequest(sip.NewRequest(sip.ACK, inv.Recipient)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ph.reinvites:
		if d := sdpDir(string(r.Body())); d != "sendonly" {
			t.Errorf("phone got %s, want sendonly", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("phone got no re-INVITE")
	}
	if n := flows(t, rtp, toPhone, fc.rtp, 0); n != 0 {
		t.Errorf("held by the PBX: %d packets phone→PBX, want 0", n)
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
		t.Errorf("held by the PBX: %d/20 packets PBX→phone (music on hold)", n)
	}
	_ = s.Bye(ctx)
}

// TestHoldSIPp: SIPp caller (call_uac_hold.xml) → gateway → SIPp PBX
// (call_uas_hold.xml): hold with a=sendonly answered a=recvonly, INFO
// DTMF with its Content-Type and body, resume, BYE; both scenarios check
// what they receive.
func TestHoldSIPp(t *testing.T) {
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas_hold.xml", uasPort)
	g := startGateway(t, callsConfig(uasPort))
	if out, err := runUAC(t, "call_uac_hold.xml", g.UDP, "2000", 3); err != nil {
		t.Fatalf("sipp uac: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}
}

// TestReinviteWithoutSDP: a re-INVITE without SDP gets our offer (the
// session as it stands) in the 200, and the answer in the ACK re-points
// the relay (RFC 3261 §14.2, RFC 3264).
func TestReinviteWithoutSDP(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp, rtp2 := newRTPPort(t, "127.0.0.1"), newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2007", mediaBody("127.0.0.1", rtp.port, "", 0))
	fc := pbx.get("2007")
	target := s.InviteResponse.Contact().Address
	res, err := s.Do(ctx, sip.NewRequest(sip.INVITE, target))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(res.Body()) == 0 {
		t.Fatalf("re-INVITE without SDP: %d, body %q", res.StatusCode, res.Body())
	}
	ack := sip.NewRequest(sip.ACK, target)
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody([]byte(answerFor(string(res.Body()), "127.0.0.1", rtp2.port)))
	if err := s.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the ACK is not answered
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp2, 0); n < 15 {
		t.Errorf("after the answer in the ACK: %d/20 packets to the new port\n%s", n, g.log.String())
	}
	_ = s.Bye(ctx)
}
