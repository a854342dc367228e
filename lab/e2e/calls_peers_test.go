package e2e

// A sipgo phone and PBX with real RTP sockets for the established-dialog
// and transfer tests (calls_dialog_test.go, calls_transfer_test.go).

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// dialogConfig routes 2000-2009 to the PBX at addr.
func dialogConfig(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
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
	offer string         // the last offer received (under mu)
	first string         // the INVITE's offer
	ready chan struct{}  // closed once the 200 went out (dlg complete)
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
	// refreshStatus, when set, answers UPDATEs without SDP (session
	// refreshes) instead of 200.
	refreshStatus int
	// ringing, when set, runs for each new call after its 180, before
	// the 200: a final status >= 300 it returns answers the INVITE instead.
	ringing func(fc *farCall, req *sip.Request) (int, string)
	// notifyStatus, when set, answers in-dialog NOTIFYs instead of 200.
	notifyStatus int
	// reasons gets the Reason header of each BYE received ("" if none).
	reasons chan string

	mu    sync.Mutex
	calls map[string]*farCall // by Call-ID
	byTo  map[string]*farCall // by dialled user
	reqs  chan *sip.Request   // in-dialog requests
	byes  chan string         // dialled user of each BYE received
}

func newFarEnd(t *testing.T, setup func(*farEnd)) *farEnd {
	f := &farEnd{t: t, calls: map[string]*farCall{}, byTo: map[string]*farCall{},
		reqs: make(chan *sip.Request, 64), byes: make(chan string, 16), reasons: make(chan string, 16)}
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
				reason := ""
				if h := req.GetHeader("Reason"); h != nil {
					reason = h.Value()
				}
				select {
				case f.reasons <- reason:
				default:
				}
			}
			_ = f.ds.ReadBye(req, tx)
		})
		a.srv.OnUpdate(f.onUpdate)
		a.srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
			f.reqs <- req
			code := 200
			if f.notifyStatus != 0 {
				code = f.notifyStatus
			}
			_ = tx.Respond(sip.NewResponseFromRequest(req, code, "", nil))
		})
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
			select {
			case <-fc.ready:
				return fc
			case <-time.After(time.Until(deadline)):
				f.t.Fatalf("PBX did not answer the call for %s", user)
			}
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
	fc := &farCall{user: req.Recipient.User, dlg: dlg, rtp: newRTPPort(f.t, "127.0.0.2"), offer: string(req.Body()),
		first: string(req.Body()), ready: make(chan struct{})}
	fc.relay = sdpAddr(f.t, string(req.Body()))
	f.mu.Lock()
	f.calls[req.CallID().Value()] = fc
	f.byTo[fc.user] = fc
	f.mu.Unlock()
	_ = dlg.Respond(180, "Ringing", nil)
	if f.ringing != nil {
		if code, reason := f.ringing(fc, req); code >= 300 {
			_ = dlg.Respond(code, reason, nil)
			return
		}
	}
	hs := append([]sip.Header{sip.NewHeader("Content-Type", "application/sdp"),
		sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO")}, f.answerHeaders...)
	_ = dlg.Respond(200, "OK", []byte(answerFor(string(req.Body()), "127.0.0.2", fc.rtp.port)), hs...)
	close(fc.ready)
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
		code := 200
		if f.refreshStatus != 0 {
			code = f.refreshStatus
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, "Refresh", nil))
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

// fromAgent makes req leave from the agent at addr's own listener, as a
// real PBX's requests leave from its address: sipgo's dialog requests
// otherwise go out on a new socket, which on loopback sends from
// 127.0.0.1, and the gateway takes in-dialog requests only from the
// dialog's peer (gateway/b2bua/peer.go).
func fromAgent(addr string, req *sip.Request) *sip.Request {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	req.Laddr = sip.Addr{IP: net.ParseIP(host), Port: p}
	return req
}

// agentBye is dlg.Bye from the agent at addr's address.
func agentBye(ctx context.Context, dlg *sipgo.DialogServerSession, addr string) error {
	bye := sip.NewRequest(sip.BYE, dlg.InviteRequest.Contact().Address)
	bye.SetTransport(dlg.InviteRequest.Transport())
	return dlg.WriteBye(ctx, fromAgent(addr, bye))
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
	// notifyStatus, when set, answers NOTIFYs instead of 200.
	notifyStatus atomic.Int32
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
			code := 200
			if c := p.notifyStatus.Load(); c != 0 {
				code = int(c)
			}
			_ = tx.Respond(sip.NewResponseFromRequest(req, code, "", nil))
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
// TestUpdateAndDTMF: UPDATE with a new RTP port re-points the relay
// (RFC 3311); UPDATE without SDP is a session refresh answered by the
// gateway; INFO with application/dtmf-relay and application/dtmf reaches
// the PBX with its body (RFC 6086); telephone-event offered by the phone is
// offered to the PBX and answered back, and RFC 4733 packets pass the
// relay.
// TestGlare: while the gateway's re-INVITE to the PBX is pending, the
// PBX's own re-INVITE gets 491 (RFC 3261 §14.1); the phone's re-INVITE
// completes.
// TestInDialogChecks: a request for an unknown dialog gets 481, one with
// a CSeq lower than the last gets 500 (RFC 3261 §12.2.2).
// TestSessionTimerExpiry: session timers on both legs (RFC 4028). The
// phone asks for 90 s with the gateway as refresher (refresher=uas): the
// gateway refreshes it at half the interval with a re-INVITE (the phone
// does not allow UPDATE). The PBX takes the refresher role on its leg
// with 90 s and never refreshes: the gateway ends the call on both legs
// before the session expires (§10: at 90 - 30 = 60 s). Takes a minute;
// skipped with -short.
// TestHoldFromPBX: the PBX holds the phone with a re-INVITE of its own
// (the B leg's offer): the phone gets sendonly, the PBX recvonly back,
// and the relay stops phone→PBX media.
// TestHoldSIPp: SIPp caller (call_uac_hold.xml) → gateway → SIPp PBX
// (call_uas_hold.xml): hold with a=sendonly answered a=recvonly, INFO
// DTMF with its Content-Type and body, resume, BYE; both scenarios check
// what they receive.
// TestReinviteWithoutSDP: a re-INVITE without SDP gets our offer (the
// session as it stands) in the 200, and the answer in the ACK re-points
// the relay (RFC 3261 §14.2, RFC 3264).
// TestSessionRefreshFails: the gateway is the refresher on the PBX's leg
// (refresher=uac in the PBX's 2xx) and refreshes at half of 90 s with an
// UPDATE (the PBX allows it); the PBX answers 481, its dialog is gone, and
// the gateway ends the call (RFC 4028 §10). Takes 45 s; skipped with
// -short.
// next2 is next with a timeout.
func (f *farEnd) next2(method sip.RequestMethod, d time.Duration) *sip.Request {
	f.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case r := <-f.reqs:
			if r.Method == method {
				return r
			}
		case <-timeout:
			f.t.Fatalf("PBX got no %s within %v", method, d)
			return nil
		}
	}
}
