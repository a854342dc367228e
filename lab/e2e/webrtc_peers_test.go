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
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-gw/switchboard/media/webrtc/webrtctest"
)

// The peers of the WebRTC tests (webrtc_test.go): a pion PeerConnection
// plays the browser (SIP over WebSocket like JsSIP, its media with ICE and
// DTLS-SRTP), a SIP phone with plain RTP is the other end.

// wrRTP is the plain RTP of a SIP phone: a 20 ms PCMU stream with an RFC
// 4733 event every 50th packet, and counts of what arrives by payload type.
type wrRTP struct {
	conn *net.UDPConn
	mu   sync.Mutex
	byPT map[uint8]int
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	sent atomic.Int64
	loud atomic.Int64 // PCMU packets with a sample past pcmuLoud (webrtc_features_test.go)
}

func newWRRTP(t *testing.T) *wrRTP {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &wrRTP{conn: c, byPT: map[uint8]int{}, stop: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 && (buf[1] < 192 || buf[1] > 223) {
				r.mu.Lock()
				r.byPT[buf[1]&0x7f]++
				r.mu.Unlock()
				if buf[1]&0x7f == 0 && pcmuIsLoud(buf[:n]) {
					r.loud.Add(1)
				}
			}
		}
	}()
	t.Cleanup(func() {
		r.once.Do(func() { close(r.stop) })
		_ = c.Close()
		r.wg.Wait()
	})
	return r
}

func (r *wrRTP) addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (r *wrRTP) count(pt uint8) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byPT[pt]
}

func (r *wrRTP) stream(to netip.AddrPort) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		pkt := make([]byte, 12+160)
		pkt[0] = 0x80
		binary.BigEndian.PutUint32(pkt[8:], 0xcafe)
		for i := 0; ; i++ {
			select {
			case <-r.stop:
				return
			case <-tk.C:
			}
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
			out := pkt
			pkt[1] = 0
			if i%50 == 49 {
				pkt[1] = 101
				out = append(pkt[:12:12], 5, 0x80, 0, 160)
			}
			if _, err := r.conn.WriteToUDPAddrPort(out, to); err == nil {
				r.sent.Add(1)
			}
		}
	}()
}

// wrPhoneSDP is a G.711 phone's SDP at a.
func wrPhoneSDP(a netip.AddrPort) string { return wrPhoneSDPDir(a, "sendrecv", 1) }

// wrPhoneSDPDir is wrPhoneSDP with direction dir and o= version ver.
func wrPhoneSDPDir(a netip.AddrPort, dir string, ver int) string {
	return fmt.Sprintf("v=0\r\no=phone 1 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=%s\r\n",
		ver, a.Addr(), a.Addr(), a.Port(), dir)
}

var reSDPDir = regexp.MustCompile(`(?m)^a=(sendrecv|sendonly|recvonly|inactive)\r?$`)

// wrDir is the direction attribute of an SDP, sendrecv when it has none
// (RFC 3264 §5.1).
func wrDir(body string) string {
	if m := reSDPDir.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "sendrecv"
}

// wrAnswerDir is the direction answering an offer's (RFC 3264 §6.1).
func wrAnswerDir(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

var (
	reSDPConn = regexp.MustCompile(`(?m)^c=IN IP4 (\S+)`)
	reSDPPort = regexp.MustCompile(`(?m)^m=audio (\d+) `)
)

// wrSDPAddr is the audio address of a plain SDP.
func wrSDPAddr(t *testing.T, body string) netip.AddrPort {
	t.Helper()
	c, m := reSDPConn.FindStringSubmatch(body), reSDPPort.FindStringSubmatch(body)
	if c == nil || m == nil {
		t.Fatalf("no c= or m=audio in:\n%s", body)
	}
	p, _ := strconv.Atoi(m[1])
	return netip.AddrPortFrom(netip.MustParseAddr(c[1]), uint16(p))
}

// wrPhone is a SIP phone registered over UDP that answers every INVITE
// with PCMU at its RTP socket and streams to the offer's address.
type wrPhone struct {
	t    *testing.T
	c    *sipConn
	user string
	rtp  *wrRTP
	tag  string

	mu   sync.Mutex
	msgs []*sipMsg
	dlg  *sipMsg // the INVITE that made the call: its dialog
	cseq int
}

func newWRPhone(t *testing.T, g *gateway, user string) *wrPhone {
	t.Helper()
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := c.register(user, "secret"); res.Status != 200 {
		t.Fatalf("register %s: %d %s", user, res.Status, res.Reason)
	}
	p := &wrPhone{t: t, c: c, user: user, rtp: newWRRTP(t), tag: randHex(4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for ctx.Err() == nil {
			_ = c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := c.conn.Read(buf)
			if err != nil || strings.Trim(string(buf[:n]), "\r\n") == "" {
				continue
			}
			m := parseSIP(string(buf[:n]))
			p.mu.Lock()
			p.msgs = append(p.msgs, m)
			p.mu.Unlock()
			switch m.Method {
			case "INVITE":
				if strings.Contains(m.get("To"), "tag=") { // a re-INVITE: answer its direction, keep streaming
					p.reply(m, 200, "OK", wrPhoneSDPDir(p.rtp.addr(), wrAnswerDir(wrDir(m.Body)), 2))
					continue
				}
				p.mu.Lock()
				p.dlg = m
				p.mu.Unlock()
				if strings.Contains(m.Body, "UDP/TLS/RTP/SAVPF") {
					p.reply(m, 488, "Not Acceptable Here", "")
					continue
				}
				p.reply(m, 180, "Ringing", "")
				p.reply(m, 200, "OK", wrPhoneSDP(p.rtp.addr()))
				p.rtp.stream(wrSDPAddr(t, m.Body))
			case "BYE", "OPTIONS":
				p.reply(m, 200, "OK", "")
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			p.mu.Lock()
			for _, m := range p.msgs {
				t.Logf("phone %s got: %s", user, firstLine(m.Raw))
			}
			p.mu.Unlock()
		}
	})
	return p
}

func (p *wrPhone) reply(req *sipMsg, code int, reason, body string) {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.all("Via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	to := req.get("To")
	if !strings.Contains(to, "tag=") {
		to += ";tag=" + p.tag
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", req.get("From"), to, req.get("Call-ID"), req.get("CSeq"))
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", p.user, p.c.conn.LocalAddr())
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	// register (sipConn.send) left a 5 s write deadline on the socket
	_ = p.c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.c.conn.Write([]byte(b.String())); err != nil {
		p.t.Errorf("phone %s: %v", p.user, err)
	}
}

// reinvite sends a re-INVITE with the phone's SDP in direction dir (o=
// version ver) on the call the gateway made to it, waits for the final
// response and ACKs a 2xx (RFC 3261 §14.1). With dir "" the re-INVITE has
// no SDP and the ACK answers the 2xx's offer (RFC 3264 §4).
func (p *wrPhone) reinvite(dir string, ver int) *sipMsg {
	p.t.Helper()
	p.mu.Lock()
	m := p.dlg
	p.cseq++
	cseq := p.cseq
	p.mu.Unlock()
	if m == nil {
		p.t.Fatal("phone: no call to re-INVITE on")
	}
	target := strings.Trim(strings.SplitN(m.get("Contact"), ">", 2)[0], "<")
	send := func(method, branch, body string) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n", method, target, p.c.conn.LocalAddr(), branch)
		fmt.Fprintf(&b, "From: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", m.get("To"), p.tag, m.get("From"), m.get("Call-ID"), cseq, method)
		fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", p.user, p.c.conn.LocalAddr())
		if body != "" {
			b.WriteString("Content-Type: application/sdp\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		_ = p.c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := p.c.conn.Write([]byte(b.String())); err != nil {
			p.t.Errorf("phone %s: %v", p.user, err)
		}
	}
	body := ""
	if dir != "" {
		body = wrPhoneSDPDir(p.rtp.addr(), dir, ver)
	}
	send("INVITE", randHex(8), body)
	want := fmt.Sprintf("%d INVITE", cseq)
	var res *sipMsg
	waitFor(p.t, 20*time.Second, "final response to the phone's re-INVITE", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, r := range p.msgs {
			if r.Status >= 200 && r.get("CSeq") == want && r.get("Call-ID") == m.get("Call-ID") {
				res = r
				return true
			}
		}
		return false
	})
	switch {
	case res.Status < 300 && dir == "": // the offer was in the 2xx: the answer goes in the ACK
		send("ACK", randHex(8), wrPhoneSDPDir(p.rtp.addr(), wrAnswerDir(wrDir(res.Body)), ver))
	case res.Status < 300:
		send("ACK", randHex(8), "")
	}
	return res
}

// lastReinvite is the last re-INVITE the phone got, nil before one.
func (p *wrPhone) lastReinvite() *sipMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.msgs) - 1; i >= 0; i-- {
		if m := p.msgs[i]; m.Method == "INVITE" && strings.Contains(m.get("To"), "tag=") {
			return m
		}
	}
	return nil
}

func (p *wrPhone) got(method string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs {
		if m.Method == method {
			return true
		}
	}
	return false
}

// wrBrowser is a browser: SIP over WebSocket (RFC 7118) as JsSIP speaks it,
// and a pion PeerConnection for its media.
type wrBrowser struct {
	t    *testing.T
	ws   *wsClient
	pc   *webrtctest.Browser
	user string
	in   chan *sipMsg
	cseq int
	wmu  sync.Mutex // one frame at a time: requests, responses, pongs
}

// write sends one frame; false when the WebSocket is gone.
func (b *wrBrowser) write(f ws.Frame) bool {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	_ = b.ws.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return ws.WriteFrame(b.ws.conn, ws.MaskFrame(f)) == nil
}

func newWRBrowser(t *testing.T, g *gateway, user string) *wrBrowser {
	t.Helper()
	c := dialWS(t, "wss", g.WSS, g.WSPath)
	if res := c.register(user, "secret"); res.Status != 200 {
		t.Fatalf("register %s over WSS: %d %s", user, res.Status, res.Reason)
	}
	pc, err := webrtctest.New(webrtctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	b := &wrBrowser{t: t, ws: c, pc: pc, user: user, in: make(chan *sipMsg, 64), cseq: 10}
	go func() {
		for {
			f, err := c.readFrame(time.Hour)
			if err != nil {
				close(b.in)
				return
			}
			switch f.Header.OpCode {
			case ws.OpPing:
				b.write(ws.NewPongFrame(f.Payload))
				continue
			case ws.OpText, ws.OpBinary:
				if strings.Trim(string(f.Payload), "\r\n") != "" {
					b.in <- parseSIP(string(f.Payload))
				}
			}
		}
	}()
	return b
}

// next returns the next SIP message that is not a 100 Trying.
func (b *wrBrowser) next(timeout time.Duration) *sipMsg {
	b.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-b.in:
			if !ok {
				b.t.Fatal("websocket closed")
			}
			if m.Status == 100 {
				continue
			}
			return m
		case <-deadline:
			b.t.Fatalf("no SIP message on the websocket within %v", timeout)
		}
	}
}

// send writes a request with body (SDP when not empty).
func (b *wrBrowser) send(method, ruri, to, callID, tag, branch string, cseq int, hdrs []string, body string) {
	var s strings.Builder
	fmt.Fprintf(&s, "%s %s SIP/2.0\r\nVia: SIP/2.0/WSS %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n", method, ruri, b.ws.host, branch)
	fmt.Fprintf(&s, "From: <sip:%s@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", b.user, tag, to, callID, cseq, method)
	fmt.Fprintf(&s, "Contact: <sip:%s@%s;transport=ws>\r\n", b.user, b.ws.host)
	for _, h := range hdrs {
		s.WriteString(h + "\r\n")
	}
	if body != "" {
		s.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&s, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if !b.write(ws.NewTextFrame([]byte(s.String()))) {
		b.t.Errorf("websocket write failed: %s", firstLine(s.String()))
	}
}

// wrCall is a call the browser placed.
type wrCall struct {
	callID, tag, to string
	target          string // the gateway's Contact: the Request-URI in the dialog
	cseq            int
	final           *sipMsg
}

// invite calls number with offer, answering the 407 (RFC 3261 §22.3),
// and ACKs a 2xx. It returns the final response.
func (b *wrBrowser) invite(number, offer string) *wrCall {
	b.t.Helper()
	return b.inviteWith(number, offer, nil)
}

// inviteWith is invite with extra header lines.
func (b *wrBrowser) inviteWith(number, offer string, hdrs []string) *wrCall {
	b.t.Helper()
	c := &wrCall{callID: randHex(8), tag: randHex(4), to: "<sip:" + number + "@example.com>", cseq: 1}
	ruri := "sip:" + number + "@example.com"
	branch := randHex(8)
	b.send("INVITE", ruri, c.to, c.callID, c.tag, branch, c.cseq, hdrs, offer)
	res := b.next(10 * time.Second)
	if res.Status == 407 {
		b.send("ACK", ruri, res.get("To"), c.callID, c.tag, branch, c.cseq, nil, "")
		auth, err := digestAuthorization(res.all("Proxy-Authenticate"), "INVITE", ruri, b.user, "secret")
		if err != nil {
			b.t.Fatalf("407: %v\n%s", err, res.Raw)
		}
		c.cseq++
		branch = randHex(8)
		b.send("INVITE", ruri, c.to, c.callID, c.tag, branch, c.cseq, append([]string{"Proxy-Authorization: " + auth}, hdrs...), offer)
		res = b.next(10 * time.Second)
	}
	for res.Status > 100 && res.Status < 200 {
		res = b.next(15 * time.Second)
	}
	c.final = res
	switch {
	case res.Status >= 200 && res.Status < 300:
		c.to = res.get("To")
		c.target = strings.Trim(strings.SplitN(res.get("Contact"), ">", 2)[0], "<")
		b.send("ACK", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq, nil, "")
	default: // RFC 3261 §17.1.1.3: the ACK of a failure, same branch
		b.send("ACK", ruri, res.get("To"), c.callID, c.tag, branch, c.cseq, nil, "")
	}
	return c
}

func (b *wrBrowser) bye(c *wrCall) *sipMsg {
	b.t.Helper()
	b.send("BYE", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq+1, nil, "")
	return b.next(10 * time.Second)
}

// reply answers an incoming request on the WebSocket.
func (b *wrBrowser) reply(req *sipMsg, code int, reason, tag, body string) {
	b.replyWith(req, code, reason, tag, body, nil)
}

// replyWith is reply with extra header lines.
func (b *wrBrowser) replyWith(req *sipMsg, code int, reason, tag, body string, hdrs []string) {
	var s strings.Builder
	fmt.Fprintf(&s, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.all("Via") {
		fmt.Fprintf(&s, "Via: %s\r\n", v)
	}
	to := req.get("To")
	if !strings.Contains(to, "tag=") {
		to += ";tag=" + tag
	}
	fmt.Fprintf(&s, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", req.get("From"), to, req.get("Call-ID"), req.get("CSeq"))
	fmt.Fprintf(&s, "Contact: <sip:%s@%s;transport=ws>\r\n", b.user, b.ws.host)
	for _, h := range hdrs {
		s.WriteString(h + "\r\n")
	}
	if body != "" {
		s.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&s, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if !b.write(ws.NewTextFrame([]byte(s.String()))) {
		b.t.Errorf("websocket write failed: %s", firstLine(s.String()))
	}
}
