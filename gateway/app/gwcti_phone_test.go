package app

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPhone is a SIP phone registered to the gateway over UDP from its
// own 127.0.0.1 socket, written from RFC 3261 for the gwcti tests: it
// registers and calls with MD5 digest, rings and answers INVITEs as its
// mode says, answers re-INVITEs (mirroring the offer's direction, RFC
// 3264 §6.1), BYE, INFO and the rest with 200, and records every message.
type testPhone struct {
	t      *testing.T
	user   string
	conn   *net.UDPConn
	rtp    *net.UDPConn // the phone's media socket, in its SDP
	gw     *net.UDPAddr
	tag    string
	answer time.Duration // 0: ring only; >0: 200 after this long
	busy   bool

	mu    sync.Mutex
	msgs  []*phoneMsg
	resps map[string]chan *phoneMsg // by Call-ID: responses to our requests
}

// phoneMsg is one SIP message: its first line, headers (lower-case names)
// and body.
type phoneMsg struct {
	first, method string
	status        int
	hdr           map[string][]string
	body          string
	raw           string
}

func (m *phoneMsg) get(name string) string {
	if v := m.hdr[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func parsePhoneMsg(raw string) *phoneMsg {
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	m := &phoneMsg{first: lines[0], hdr: map[string][]string{}, body: body, raw: raw}
	if strings.HasPrefix(m.first, "SIP/2.0 ") {
		fmt.Sscanf(m.first, "SIP/2.0 %d", &m.status)
	} else {
		m.method, _, _ = strings.Cut(m.first, " ")
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		m.hdr[k] = append(m.hdr[k], strings.TrimSpace(v))
	}
	return m
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// gwUDP is the gateway's UDP SIP listener.
func gwUDP(t *testing.T, a *App) *net.UDPAddr {
	t.Helper()
	for _, b := range a.sip.Bound() {
		if b.Scheme == "udp" {
			ua, err := net.ResolveUDPAddr("udp", b.Addr)
			if err != nil {
				t.Fatal(err)
			}
			return ua
		}
	}
	t.Fatal("no UDP listener")
	return nil
}

// newTestPhone registers user from a new socket and serves it until the
// test ends.
func newTestPhone(t *testing.T, a *App, user string, answer time.Duration) *testPhone {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &testPhone{t: t, user: user, conn: conn, rtp: rtp, gw: gwUDP(t, a), tag: randHex(4), answer: answer,
		resps: map[string]chan *phoneMsg{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		_ = conn.Close()
		_ = rtp.Close()
		<-done
		if t.Failed() {
			p.mu.Lock()
			for _, m := range p.msgs {
				t.Logf("phone %s got:\n%s", user, m.raw)
			}
			p.mu.Unlock()
		}
	})
	cid := randHex(8)
	res := p.do(cid, "REGISTER", "sip:example.com", 1, "", nil)
	if res.status == 401 {
		auth := digestMD5(md5Challenge(res, "WWW-Authenticate"), "REGISTER", "sip:example.com", user, "secret")
		res = p.do(cid, "REGISTER", "sip:example.com", 2, "", []string{"Authorization: " + auth})
	}
	if res.status != 200 {
		t.Fatalf("register %s: %s", user, res.first)
	}
	return p
}

func (p *testPhone) local() string { return p.conn.LocalAddr().String() }

func (p *testPhone) serve(ctx context.Context) {
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		_ = p.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := p.conn.Read(buf)
		if err != nil {
			continue
		}
		raw := string(buf[:n])
		if strings.TrimSpace(raw) == "" {
			continue
		}
		m := parsePhoneMsg(raw)
		p.mu.Lock()
		p.msgs = append(p.msgs, m)
		ch := p.resps[m.get("Call-ID")]
		p.mu.Unlock()
		if m.status > 0 {
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
			continue
		}
		switch m.method {
		case "INVITE":
			if strings.Contains(m.get("To"), "tag=") { // re-INVITE: mirror the direction
				p.reply(m, 200, "OK", p.sdp(mirror(m.body)))
				continue
			}
			go p.ring(ctx, m)
		case "ACK":
		case "CANCEL":
			p.reply(m, 200, "OK", "")
		default:
			p.reply(m, 200, "OK", "")
		}
	}
}

// ring answers a new INVITE as the phone's mode says.
func (p *testPhone) ring(ctx context.Context, inv *phoneMsg) {
	if p.busy {
		p.reply(inv, 486, "Busy Here", "")
		return
	}
	p.reply(inv, 180, "Ringing", "")
	if p.answer == 0 {
		return
	}
	select {
	case <-time.After(p.answer):
	case <-ctx.Done():
		return
	}
	if p.seen(func(m *phoneMsg) bool { return m.method == "CANCEL" && m.get("Call-ID") == inv.get("Call-ID") }) {
		p.reply(inv, 487, "Request Terminated", "")
		return
	}
	p.reply(inv, 200, "OK", p.sdp("sendrecv"))
}

func mirror(offer string) string {
	switch {
	case strings.Contains(offer, "a=sendonly"):
		return "recvonly"
	case strings.Contains(offer, "a=inactive"):
		return "inactive"
	case strings.Contains(offer, "a=recvonly"):
		return "sendonly"
	}
	return "sendrecv"
}

// sdp is the phone's SDP: its media socket, PCMU, direction dir.
func (p *testPhone) sdp(dir string) string {
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	return "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n", port, dir)
}

// mediaOf is the RTP address an SDP body gives (c= and m=audio).
func mediaOf(body string) *net.UDPAddr {
	var host string
	var port int
	for _, l := range strings.Split(body, "\r\n") {
		if h, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			host = strings.TrimSpace(h)
		}
		if m, ok := strings.CutPrefix(l, "m=audio "); ok {
			fmt.Sscanf(m, "%d", &port)
		}
	}
	return &net.UDPAddr{IP: net.ParseIP(host), Port: port}
}

// sendRTP sends n PCMU packets (RFC 3550 §5.1 header) to addr.
func (p *testPhone) sendRTP(addr *net.UDPAddr, n int, ssrc uint32) {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	for i := 0; i < n; i++ {
		seq, ts := uint16(i+1), uint32(160*i)
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		pkt[8], pkt[9], pkt[10], pkt[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
		_, _ = p.rtp.WriteToUDP(pkt, addr)
		time.Sleep(20 * time.Millisecond)
	}
}

// recvRTP counts the RTP packets with ssrc that reach the phone's media
// socket within d.
func (p *testPhone) recvRTP(ssrc uint32, d time.Duration) int {
	buf := make([]byte, 2048)
	n := 0
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_ = p.rtp.SetReadDeadline(deadline)
		k, err := p.rtp.Read(buf)
		if err != nil {
			break
		}
		if k >= 12 && uint32(buf[8])<<24|uint32(buf[9])<<16|uint32(buf[10])<<8|uint32(buf[11]) == ssrc {
			n++
		}
	}
	return n
}

// reply answers req (RFC 3261 §8.2.6.2: its Via, From, To with our tag,
// Call-ID, CSeq).
func (p *testPhone) reply(req *phoneMsg, code int, reason, body string) {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.hdr["via"] {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	to := req.get("To")
	if !strings.Contains(to, "tag=") {
		to += ";tag=" + p.tag
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", req.get("From"), to, req.get("Call-ID"), req.get("CSeq"))
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", p.user, p.local())
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	p.send(b.String())
}

func (p *testPhone) send(msg string) {
	if _, err := p.conn.WriteToUDP([]byte(msg), p.gw); err != nil {
		p.t.Logf("phone %s: send: %v", p.user, err)
	}
}

// request builds a request outside or inside a dialog.
func (p *testPhone) request(method, ruri, cid, branch, to string, seq int, body string, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n", method, ruri, p.local(), branch)
	fmt.Fprintf(&b, "From: <sip:%s@example.com>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", p.user, p.tag, to, cid, seq, method)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", p.user, p.local())
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// do sends a request outside a dialog and returns its final response.
func (p *testPhone) do(cid, method, ruri string, seq int, body string, extra []string) *phoneMsg {
	p.t.Helper()
	ch := p.expect(cid)
	to := "<sip:" + p.user + "@example.com>"
	if method == "INVITE" {
		to = "<" + ruri + ">"
	}
	p.send(p.request(method, ruri, cid, randHex(6), to, seq, body, extra))
	return p.final(ch, method)
}

func (p *testPhone) expect(cid string) chan *phoneMsg {
	ch := make(chan *phoneMsg, 16)
	p.mu.Lock()
	p.resps[cid] = ch
	p.mu.Unlock()
	return ch
}

func (p *testPhone) final(ch chan *phoneMsg, method string) *phoneMsg {
	p.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m := <-ch:
			if m.status >= 200 && strings.HasSuffix(m.get("CSeq"), method) {
				return m
			}
		case <-deadline:
			p.t.Fatalf("phone %s: no final response to %s", p.user, method)
			return nil
		}
	}
}

// phoneCall is a call the phone placed.
type phoneCall struct {
	cid, toHdr, target string
	seq                int
}

// call dials number with digest proxy authentication and returns once
// the call is answered (ACKed); the final status otherwise.
func (p *testPhone) call(number string) (*phoneCall, int) {
	p.t.Helper()
	cid := randHex(8)
	ruri := "sip:" + number + "@example.com"
	ch := p.expect(cid)
	branch := randHex(6)
	p.send(p.request("INVITE", ruri, cid, branch, "<"+ruri+">", 1, p.sdp("sendrecv"), nil))
	res := p.final(ch, "INVITE")
	if res.status == 407 {
		p.send(p.request("ACK", ruri, cid, branch, res.get("To"), 1, "", nil)) // RFC 3261 §17.1.1.3
		auth := digestMD5(md5Challenge(res, "Proxy-Authenticate"), "INVITE", ruri, p.user, "secret")
		p.send(p.request("INVITE", ruri, cid, randHex(6), "<"+ruri+">", 2, p.sdp("sendrecv"), []string{"Proxy-Authorization: " + auth}))
		res = p.final(ch, "INVITE")
	}
	if res.status != 200 {
		if res.status >= 300 {
			p.send(p.request("ACK", ruri, cid, branch, res.get("To"), 2, "", nil))
		}
		return nil, res.status
	}
	target := strings.Trim(strings.TrimSpace(res.get("Contact")), "<>")
	c := &phoneCall{cid: cid, toHdr: res.get("To"), target: target, seq: 2}
	p.send(p.request("ACK", target, cid, randHex(6), c.toHdr, 2, "", nil))
	return c, 200
}

// seen reports whether the phone got a message ok accepts.
func (p *testPhone) seen(ok func(*phoneMsg) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs {
		if ok(m) {
			return true
		}
	}
	return false
}

// wait returns the first message ok accepts, failing after 10 s.
func (p *testPhone) wait(what string, ok func(*phoneMsg) bool) *phoneMsg {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, m := range p.msgs {
			if ok(m) {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("phone %s: %s not seen", p.user, what)
	return nil
}

func isReq(method string) func(*phoneMsg) bool {
	return func(m *phoneMsg) bool { return m.method == method }
}

// digestMD5 answers an MD5 digest challenge (RFC 2617 qop=auth, RFC 3261
// §22.4).
func digestMD5(challenge, method, uri, user, password string) string {
	p := map[string]string{}
	_, rest, _ := strings.Cut(challenge, " ")
	for _, part := range splitParams(rest) {
		k, v, _ := strings.Cut(part, "=")
		p[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	ha1 := md5hex(user + ":" + p["realm"] + ":" + password)
	ha2 := md5hex(method + ":" + uri)
	cnonce, nc := randHex(4), "00000001"
	resp := md5hex(ha1 + ":" + p["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	h := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s"`,
		user, p["realm"], p["nonce"], uri, resp, nc, cnonce)
	if op, ok := p["opaque"]; ok {
		h += fmt.Sprintf(`, opaque="%s"`, op)
	}
	return h
}

// splitParams splits a comma list, commas inside quotes kept.
func splitParams(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// md5Challenge is the MD5 challenge among m's name headers.
func md5Challenge(m *phoneMsg, name string) string {
	for _, v := range m.hdr[strings.ToLower(name)] {
		if strings.Contains(v, "MD5") || !strings.Contains(v, "algorithm") {
			return v
		}
	}
	return m.get(name)
}

// all returns the messages ok accepts.
func (p *testPhone) all(ok func(*phoneMsg) bool) []*phoneMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*phoneMsg
	for _, m := range p.msgs {
		if ok(m) {
			out = append(out, m)
		}
	}
	return out
}
