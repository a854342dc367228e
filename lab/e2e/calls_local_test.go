package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Local calls: a registered user calls another; the gateway forks to every
// device the callee registered (IP Office "simultaneous" ringing).

// sipMsg is a parsed request or response.
type sipMsg struct {
	Method string // requests
	Status int    // responses
	Head   []string
	Body   string
	Raw    string
}

func (m *sipMsg) get(name string) string {
	for _, l := range m.Head {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (m *sipMsg) all(name string) []string {
	var out []string
	for _, l := range m.Head {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

func parseSIP(raw string) *sipMsg {
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	m := &sipMsg{Head: lines[1:], Body: body, Raw: raw}
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) >= 2 && f[0] == "SIP/2.0" {
		fmt.Sscan(f[1], &m.Status)
	} else {
		m.Method = f[0]
	}
	return m
}

// phoneMode is how a raw phone answers an INVITE.
type phoneMode struct {
	busy         bool          // 486 at once
	answer       time.Duration // 200 after this long (ringing first); 0 = rings forever
	ignoreCancel bool          // answers 200 to the INVITE even after CANCEL (a late 2xx)
	reliable     bool          // 180 with Require: 100rel and RSeq
}

// rawPhone is a device registered over UDP from its own socket: it
// answers INVITEs as its mode says and records what reaches it.
type rawPhone struct {
	t    *testing.T
	c    *sipConn
	user string
	tag  string
	mode phoneMode

	mu   sync.Mutex
	msgs []*sipMsg
	seen chan *sipMsg
}

// newRawPhone registers user from a new UDP socket on 127.0.0.1 and
// starts answering.
func newRawPhone(t *testing.T, g *gateway, user string, mode phoneMode) *rawPhone {
	t.Helper()
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := c.register(user, "secret"); res.Status != 200 {
		t.Fatalf("register %s: %d %s", user, res.Status, res.Reason)
	}
	p := &rawPhone{t: t, c: c, user: user, tag: randHex(4), mode: mode, seen: make(chan *sipMsg, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			p.mu.Lock()
			for _, m := range p.msgs {
				t.Logf("phone %s got:\n%s", c.conn.LocalAddr(), m.Raw)
			}
			p.mu.Unlock()
		}
	})
	return p
}

func (p *rawPhone) serve(ctx context.Context) {
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		_ = p.c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := p.c.conn.Read(buf)
		if err != nil {
			continue
		}
		raw := string(buf[:n])
		if strings.Trim(raw, "\r\n") == "" {
			continue
		}
		m := parseSIP(raw)
		p.mu.Lock()
		p.msgs = append(p.msgs, m)
		p.mu.Unlock()
		select {
		case p.seen <- m:
		default:
		}
		switch m.Method {
		case "INVITE":
			go p.onInvite(ctx, m)
		case "CANCEL":
			p.reply(m, 200, "OK", "")
			if !p.mode.ignoreCancel {
				p.cancelled(m)
			}
		case "BYE", "PRACK", "OPTIONS":
			p.reply(m, 200, "OK", "")
		}
	}
}

// invites remembers the INVITEs by Call-ID, for the 487 after a CANCEL.
var phoneInvites sync.Map

func (p *rawPhone) onInvite(ctx context.Context, inv *sipMsg) {
	phoneInvites.Store(p.tag+inv.get("Call-ID"), inv)
	if p.mode.busy {
		p.reply(inv, 486, "Busy Here", "")
		return
	}
	if p.mode.reliable {
		p.reply(inv, 180, "Ringing", "", "Require: 100rel", "RSeq: 1")
	} else {
		p.reply(inv, 180, "Ringing", "")
	}
	if p.mode.answer == 0 {
		return
	}
	select {
	case <-time.After(p.mode.answer):
	case <-ctx.Done():
		return
	}
	if _, gone := phoneInvites.Load(p.tag + inv.get("Call-ID") + "/cancelled"); gone && !p.mode.ignoreCancel {
		return
	}
	p.reply(inv, 200, "OK", phoneAnswerSDP)
}

func (p *rawPhone) cancelled(cancel *sipMsg) {
	v, ok := phoneInvites.Load(p.tag + cancel.get("Call-ID"))
	if !ok {
		return
	}
	phoneInvites.Store(p.tag+cancel.get("Call-ID")+"/cancelled", true)
	p.reply(v.(*sipMsg), 487, "Request Terminated", "")
}

const phoneAnswerSDP = "v=0\r\no=dev 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 30010 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// reply answers req with its Via, From, To (with our tag), Call-ID and
// CSeq (RFC 3261 §8.2.6.2).
func (p *rawPhone) reply(req *sipMsg, code int, reason, body string, extra ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.all("Via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	fmt.Fprintf(&b, "From: %s\r\n", req.get("From"))
	to := req.get("To")
	if !strings.Contains(to, "tag=") && code > 100 {
		to += ";tag=" + p.tag
	}
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %s\r\n", req.get("Call-ID"), req.get("CSeq"))
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", p.user, p.c.conn.LocalAddr())
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	_, _ = p.c.conn.Write([]byte(b.String()))
}

// wait returns the first message that ok accepts within timeout.
func (p *rawPhone) wait(timeout time.Duration, what string, ok func(*sipMsg) bool) *sipMsg {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		for _, m := range p.msgs {
			if ok(m) {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			p.t.Fatalf("phone %s: %s not seen within %v", p.c.conn.LocalAddr(), what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *rawPhone) has(ok func(*sipMsg) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.msgs {
		if ok(m) {
			return true
		}
	}
	return false
}

func isMethod(method string) func(*sipMsg) bool {
	return func(m *sipMsg) bool { return m.Method == method }
}

const localUsers = `registrar: {algorithms: [MD5, SHA-256]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
  - {username: u1002, password: secret, extension: "1002"}
`

// placeCall calls number from u1000 (a sipgo phone) and returns the final
// status the caller got (200 once answered; the call is then hung up by
// the caller after hold).
func placeCall(t *testing.T, g *gateway, number string, hold time.Duration) int {
	t.Helper()
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, number, phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		if code := responseCode(err); code != 0 {
			return code
		}
		t.Fatalf("call %s: %v", number, err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(hold)
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	return 200
}

// TestLocalForkAnswerOne: three devices of u1001 ring; the second answers;
// the other two get CANCEL with Reason "Call completed elsewhere"
// (RFC 3326), the answering one gets the caller's BYE.
func TestLocalForkAnswerOne(t *testing.T) {
	g := startGateway(t, localUsers)
	a := newRawPhone(t, g, "u1001", phoneMode{})
	b := newRawPhone(t, g, "u1001", phoneMode{answer: 400 * time.Millisecond})
	c := newRawPhone(t, g, "u1001", phoneMode{})
	if code := placeCall(t, g, "1001", 300*time.Millisecond); code != 200 {
		t.Fatalf("caller got %d, want 200\n%s", code, g.log.String())
	}
	for _, p := range []*rawPhone{a, c} {
		m := p.wait(5*time.Second, "CANCEL", isMethod("CANCEL"))
		if r := m.get("Reason"); !strings.Contains(r, "cause=200") || !strings.Contains(r, "Call completed elsewhere") {
			t.Errorf("CANCEL Reason %q, want cause=200 Call completed elsewhere", r)
		}
	}
	b.wait(5*time.Second, "ACK", isMethod("ACK"))
	b.wait(5*time.Second, "BYE", isMethod("BYE"))
	if b.has(isMethod("CANCEL")) {
		t.Error("the answering device got a CANCEL")
	}
	// Max-Forwards went down by one across the gateway (RFC 3261 §16.6).
	inv := b.wait(time.Second, "INVITE", isMethod("INVITE"))
	if mf := inv.get("Max-Forwards"); mf != "69" {
		t.Errorf("B-leg Max-Forwards %q, want 69", mf)
	}
	g.waitLog(`msg="call ended"`, 5*time.Second)
}

// TestLocalForkBusy: all devices busy → 486; one busy and one answering →
// 200 (a busy device does not stop the others ringing).
func TestLocalForkBusy(t *testing.T) {
	t.Run("all busy", func(t *testing.T) {
		g := startGateway(t, localUsers)
		for range 3 {
			newRawPhone(t, g, "u1001", phoneMode{busy: true})
		}
		if code := placeCall(t, g, "1001", 0); code != 486 {
			t.Fatalf("caller got %d, want 486", code)
		}
	})
	t.Run("one busy one answers", func(t *testing.T) {
		g := startGateway(t, localUsers)
		newRawPhone(t, g, "u1001", phoneMode{busy: true})
		b := newRawPhone(t, g, "u1001", phoneMode{answer: 500 * time.Millisecond})
		c := newRawPhone(t, g, "u1001", phoneMode{})
		if code := placeCall(t, g, "u1001", 100*time.Millisecond); code != 200 {
			t.Fatalf("caller got %d, want 200", code)
		}
		c.wait(5*time.Second, "CANCEL", isMethod("CANCEL"))
		b.wait(5*time.Second, "BYE", isMethod("BYE"))
	})
}

// TestLocalForkLate2xx: a device answers after its CANCEL (the 2xx
// crossed it): the gateway ACKs and BYEs that answer.
func TestLocalForkLate2xx(t *testing.T) {
	g := startGateway(t, localUsers)
	newRawPhone(t, g, "u1001", phoneMode{answer: 200 * time.Millisecond})
	late := newRawPhone(t, g, "u1001", phoneMode{answer: 900 * time.Millisecond, ignoreCancel: true})
	if code := placeCall(t, g, "1001", 1500*time.Millisecond); code != 200 {
		t.Fatalf("caller got %d, want 200", code)
	}
	late.wait(5*time.Second, "CANCEL", isMethod("CANCEL"))
	late.wait(5*time.Second, "ACK for the late 2xx", isMethod("ACK"))
	late.wait(5*time.Second, "BYE for the late 2xx", isMethod("BYE"))
}

// TestLocalNotReachable: a user without devices → 480; a number that is
// neither a user nor a trunk → 404; our own Max-Forwards 0 → 483.
func TestLocalNotReachable(t *testing.T) {
	g := startGateway(t, localUsers)
	if code := placeCall(t, g, "1002", 0); code != 480 {
		t.Errorf("unregistered user: %d, want 480", code)
	}
	if code := placeCall(t, g, "7777", 0); code != 404 {
		t.Errorf("unknown number: %d, want 404", code)
	}
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	req := c.request("INVITE", "sip:1001@example.com", "u1000", "Contact: <sip:u1000@127.0.0.1>")
	req = strings.Replace(req, "Max-Forwards: 70", "Max-Forwards: 0", 1)
	if res := c.roundTrip(req); res.Status != 483 {
		t.Errorf("Max-Forwards 0: %d %s, want 483", res.Status, res.Reason)
	}
}

// TestLocalCallOverTCP: the callee registered over TCP gets its INVITE on
// the connection it registered from.
func TestLocalCallOverTCP(t *testing.T) {
	g := startGateway(t, localUsers)
	c := dialSIP(t, "tcp", "127.0.0.1", g.TCP)
	if res := c.register("u1001", "secret"); res.Status != 200 {
		t.Fatalf("register: %d", res.Status)
	}
	got := make(chan string, 1)
	go func() {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			line, err := c.br.ReadString('\n')
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			if strings.HasPrefix(line, "INVITE ") {
				got <- line
				return
			}
		}
	}()
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "1001", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.WaitAnswer(ctx, answerOpts()) }()
	select {
	case l := <-got:
		if !strings.HasPrefix(l, "INVITE sip:u1001@") {
			t.Fatalf("on the TCP connection: %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no INVITE on the registered TCP connection")
	}
}

// TestLoopDetected: a trunk that leads back to the gateway itself. The
// INVITE comes back with our own Call-ID and Via branch: 482 (RFC 3261
// §16.3 step 4), which the caller gets; nothing rings forever.
func TestLoopDetected(t *testing.T) {
	port := freeUDPPort(t, "127.0.0.1")
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
trunks:
  - {name: self, target: "sip:127.0.0.1:%d", probe: {interval: 0s}, match: ["5000"]}
`, port))
	g.requireCleanStop()
	cfg, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "udp://127.0.0.1:0", fmt.Sprintf("udp://127.0.0.1:%d", port), 1))
	if err := os.WriteFile(g.cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	g.restart()
	if code := placeCall(t, g, "5000", 0); code != 482 {
		t.Fatalf("caller got %d, want 482\n%s", code, g.log.String())
	}
	g.waitLog("Loop Detected", 2*time.Second)
}

// TestLocalCallOverWS: a browser-like device registered over WebSocket
// with an unreachable Contact host (x.invalid, RFC 7118 §5) gets its INVITE
// on its WebSocket connection.
func TestLocalCallOverWS(t *testing.T) {
	g := startGateway(t, localUsers)
	c := dialWS(t, "ws", g.WS, g.WSPath)
	if res := c.register("u1001", "secret"); res.Status != 200 {
		t.Fatalf("register: %d %s", res.Status, res.Reason)
	}
	got := make(chan string, 1)
	go func() {
		for {
			f, err := c.readFrame(10 * time.Second)
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			if p := string(f.Payload); strings.HasPrefix(p, "INVITE ") {
				got <- p
				return
			}
		}
	}()
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "1001", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.WaitAnswer(ctx, answerOpts()) }()
	select {
	case p := <-got:
		if !strings.HasPrefix(p, "INVITE sip:u1001@"+c.host) || !strings.Contains(p, "SIP/2.0/WS") {
			t.Fatalf("on the WebSocket: %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no INVITE on the registered WebSocket")
	}
}
