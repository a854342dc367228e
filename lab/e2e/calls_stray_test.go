package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// rawPBX is a trunk peer on a bare UDP socket, for answers no SIP stack
// would send: a 200 OK long after the caller was told the trunk is down.
type rawPBX struct {
	t    *testing.T
	conn net.PacketConn
}

func newRawPBX(t *testing.T, host string) *rawPBX {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawPBX{t: t, conn: c}
}

func (p *rawPBX) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// next reads the next request whose method is one of methods, skipping
// others (INVITE retransmissions); "" after timeout.
func (p *rawPBX) next(timeout time.Duration, methods ...string) (string, net.Addr) {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65535)
	for {
		_ = p.conn.SetReadDeadline(deadline)
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return "", nil
		}
		msg := string(buf[:n])
		for _, m := range methods {
			if strings.HasPrefix(msg, m+" ") {
				return msg, from
			}
		}
	}
}

func (p *rawPBX) send(msg string, to net.Addr) {
	if _, err := p.conn.WriteTo([]byte(msg), to); err != nil {
		p.t.Fatal(err)
	}
}

// headers returns the values of header name in msg (full name only).
func headers(msg, name string) []string { return parseSIP(msg).all(name) }

func header(msg, name string) string { return parseSIP(msg).get(name) }

// response builds a response to req with the To tag given.
func response(req string, code int, reason, toTag, contact, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range headers(req, "Via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	fmt.Fprintf(&b, "From: %s\r\n", header(req, "From"))
	to := header(req, "To")
	if toTag != "" && !strings.Contains(to, "tag=") {
		to += ";tag=" + toTag
	}
	fmt.Fprintf(&b, "To: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", to, header(req, "Call-ID"), header(req, "CSeq"))
	if contact != "" {
		fmt.Fprintf(&b, "Contact: <%s>\r\n", contact)
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// TestLate2xxIsHungUp: the trunk answers 200 after the gateway gave up on
// it and told the caller 503. The gateway must ACK that 2xx and BYE it
// (RFC 3261 §13.2.2.4), and ACK its retransmission without a second BYE.
func TestLate2xxIsHungUp(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:%d", failover_timeout: 300ms, timeout: 2s, probe: {interval: 0s}, match: ["2000"]}
`, pbx.port()))
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	// The INVITE reaches the trunk once the caller answered the 407.
	answered := make(chan int, 1)
	go func() { answered <- responseCode(s.WaitAnswer(ctx, answerOpts())) }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the trunk got no INVITE")
	}
	if code := <-answered; code != 503 {
		t.Fatalf("caller got %d, want 503 once the trunk timed out", code)
	}

	contact := fmt.Sprintf("sip:2000@127.0.0.2:%d", pbx.port())
	ok200 := response(inv, 200, "OK", "late1", contact, pbxSDP)
	pbx.send(ok200, from)
	ack, _ := pbx.next(3*time.Second, "ACK")
	if ack == "" {
		t.Fatal("no ACK for the late 200")
	}
	if got, want := header(ack, "CSeq"), strings.Replace(header(inv, "CSeq"), "INVITE", "ACK", 1); got != want {
		t.Errorf("ACK CSeq %q, want %q", got, want)
	}
	bye, byeFrom := pbx.next(3*time.Second, "BYE")
	if bye == "" {
		t.Fatal("no BYE for the late 200")
	}
	if !strings.Contains(header(bye, "To"), "tag=late1") || header(bye, "Call-ID") != header(inv, "Call-ID") {
		t.Errorf("BYE is not in the late 2xx's dialog:\n%s", bye)
	}
	pbx.send(response(bye, 200, "OK", "", "", ""), byeFrom)

	// A retransmitted 200 gets its ACK again, and no second BYE.
	pbx.send(ok200, from)
	if ack, _ := pbx.next(3*time.Second, "ACK"); ack == "" {
		t.Fatal("no ACK for the retransmitted late 200")
	}
	if again, _ := pbx.next(time.Second, "BYE"); again != "" {
		t.Errorf("second BYE for one stray dialog:\n%s", again)
	}
}
