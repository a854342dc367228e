package e2e

import (
	"bufio"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sipConn is a minimal SIP client over UDP, TCP or TLS: it writes raw
// requests and reads whole responses, so tests can send what no real
// stack would.
type sipConn struct {
	t         *testing.T
	transport string // UDP, TCP, TLS
	conn      net.Conn
	br        *bufio.Reader // streams only
	callID    string
	cseq      int
	tag       string
}

// dialSIP connects from local IP laddr (127.0.0.x; "" = any) to the
// gateway address raddr over transport udp, tcp or tls.
func dialSIP(t *testing.T, transport, laddr, raddr string) *sipConn {
	t.Helper()
	c, err := dialSIPErr(transport, laddr, raddr)
	if err != nil {
		t.Fatalf("dial %s %s: %v", transport, raddr, err)
	}
	c.t = t
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func dialSIPErr(transport, laddr, raddr string) (*sipConn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	network := "tcp"
	if transport == "udp" {
		network = "udp"
	}
	if laddr != "" {
		if network == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(laddr)}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(laddr)}
		}
	}
	var conn net.Conn
	var err error
	if transport == "tls" {
		conn, err = tls.DialWithDialer(&d, "tcp", raddr, &tls.Config{InsecureSkipVerify: true}) // self-signed
	} else {
		conn, err = d.Dial(network, raddr)
	}
	if err != nil {
		return nil, err
	}
	c := &sipConn{transport: strings.ToUpper(transport), conn: conn, callID: randHex(8), tag: randHex(4)}
	if network == "tcp" {
		c.br = bufio.NewReader(conn)
	}
	return c, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// request builds a request from this connection: Via with a new branch,
// From/To for user@example.com, this connection's Call-ID and the next
// CSeq. extra lines are added before Content-Length.
func (c *sipConn) request(method, ruri, user string, extra ...string) string {
	c.cseq++
	return buildRequest(c.transport, c.conn.LocalAddr().String(), method, ruri, user, c.callID, c.tag, c.cseq, extra)
}

// buildRequest is a request with Via (a new branch), From/To for
// user@example.com, Call-ID, CSeq and extra header lines, without a body.
func buildRequest(transport, via, method, ruri, user, callID, tag string, cseq int, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport\r\n", transport, via, randHex(8))
	fmt.Fprintf(&b, "Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@example.com>;tag=%s\r\n", user, tag)
	fmt.Fprintf(&b, "To: <sip:%s@example.com>\r\n", user)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// send writes raw bytes.
func (c *sipConn) send(msg string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(msg)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// sipResponse is a parsed response.
type sipResponse struct {
	Status  int
	Reason  string
	Headers map[string][]string // lower-case names
	Raw     string
}

func (r *sipResponse) get(name string) string {
	if v := r.Headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// read returns the next response within timeout; errTimeout when none.
func (c *sipConn) read(timeout time.Duration) (*sipResponse, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	var raw string
	if c.br == nil {
		buf := make([]byte, 65536)
		for {
			n, err := c.conn.Read(buf)
			if err != nil {
				return nil, err
			}
			raw = string(buf[:n])
			if strings.Trim(raw, "\r\n") != "" {
				break // skip keepalive pongs
			}
		}
	} else {
		var head strings.Builder
		for {
			line, err := c.br.ReadString('\n')
			if err != nil {
				return nil, err
			}
			if head.Len() == 0 && (line == "\r\n" || line == "\n") {
				continue // CRLF pong
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		raw = head.String()
		if n := contentLength(raw); n > 0 {
			body := make([]byte, n)
			if _, err := io.ReadFull(c.br, body); err != nil {
				return nil, err
			}
			raw += string(body)
		}
	}
	return parseResponse(raw)
}

func contentLength(head string) int {
	for _, l := range strings.Split(head, "\r\n") {
		name, v, ok := strings.Cut(l, ":")
		if ok && (strings.EqualFold(strings.TrimSpace(name), "content-length") || strings.TrimSpace(name) == "l") {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func parseResponse(raw string) (*sipResponse, error) {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return nil, fmt.Errorf("not a SIP response: %q", lines[0])
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return nil, fmt.Errorf("bad status line %q", lines[0])
	}
	r := &sipResponse{Status: code, Headers: map[string][]string{}, Raw: raw}
	if len(f) == 3 {
		r.Reason = f[2]
	}
	for _, l := range lines[1:] {
		name, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(name))
		r.Headers[k] = append(r.Headers[k], strings.TrimSpace(v))
	}
	return r, nil
}

// roundTrip sends msg and returns the response, failing the test when none
// comes within 5 s.
func (c *sipConn) roundTrip(msg string) *sipResponse {
	c.t.Helper()
	c.send(msg)
	res, err := c.read(5 * time.Second)
	if err != nil {
		c.t.Fatalf("no response to %s: %v", firstLine(msg), err)
	}
	return res
}

// expectNoResponse fails when anything answers msg within wait.
func (c *sipConn) expectNoResponse(msg string, wait time.Duration) {
	c.t.Helper()
	c.send(msg)
	if res, err := c.read(wait); err == nil {
		c.t.Fatalf("%s: want no answer, got %d %s", firstLine(msg), res.Status, res.Reason)
	}
}

func firstLine(msg string) string {
	l, _, _ := strings.Cut(msg, "\r\n")
	if len(l) > 60 {
		l = l[:60] + "..."
	}
	return l
}

// contact is the Contact header value for this connection.
func (c *sipConn) contact(user string) string {
	return fmt.Sprintf("Contact: <sip:%s@%s;transport=%s>", user, c.conn.LocalAddr().String(), strings.ToLower(c.transport))
}

// register runs REGISTER → 401 → REGISTER with MD5 digest credentials and
// returns the final response. extra lines go into both requests.
func (c *sipConn) register(user, password string, extra ...string) *sipResponse {
	c.t.Helper()
	hdrs := append([]string{c.contact(user)}, extra...)
	res := c.roundTrip(c.request("REGISTER", "sip:example.com", user, hdrs...))
	if res.Status != 401 {
		return res
	}
	auth, err := digestAuthorization(res.Headers["www-authenticate"], "REGISTER", "sip:example.com", user, password)
	if err != nil {
		c.t.Fatalf("401 challenge: %v\n%s", err, res.Raw)
	}
	return c.roundTrip(c.request("REGISTER", "sip:example.com", user, append(hdrs, "Authorization: "+auth)...))
}

// digestAuthorization answers the MD5 challenge among challenges (RFC
// 2617 with qop=auth) and returns the Authorization header value.
func digestAuthorization(challenges []string, method, uri, user, password string) (string, error) {
	for _, ch := range challenges {
		p := parseDigest(ch)
		if p == nil || !strings.EqualFold(p["algorithm"], "MD5") && p["algorithm"] != "" {
			continue
		}
		realm, nonce := p["realm"], p["nonce"]
		ha1 := md5hex(user + ":" + realm + ":" + password)
		ha2 := md5hex(method + ":" + uri)
		cnonce, nc := randHex(8), "00000001"
		if !strings.Contains(p["qop"], "auth") {
			resp := md5hex(ha1 + ":" + nonce + ":" + ha2)
			return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5`,
				user, realm, nonce, uri, resp), nil
		}
		resp := md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
		h := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="%s"`,
			user, realm, nonce, uri, resp, nc, cnonce)
		if op, ok := p["opaque"]; ok {
			h += fmt.Sprintf(`, opaque="%s"`, op)
		}
		return h, nil
	}
	return "", fmt.Errorf("no MD5 digest challenge in %q", challenges)
}

// parseDigest splits a Digest challenge into its parameters.
func parseDigest(h string) map[string]string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return nil
	}
	p := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				break
			}
			p[k] = v[1 : 1+end]
			rest = strings.TrimPrefix(strings.TrimSpace(v[2+end:]), ",")
		} else {
			val, r, _ := strings.Cut(v, ",")
			p[k] = strings.TrimSpace(val)
			rest = r
		}
		rest = strings.TrimSpace(rest)
	}
	return p
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
