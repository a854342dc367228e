package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// wsClient is a SIP-over-WebSocket client (RFC 7118) that reads and
// writes single frames, so tests can see pongs and keepalive answers.
type wsClient struct {
	t      *testing.T
	scheme string // ws or wss
	conn   net.Conn
	br     *bufio.Reader
	callID string
	tag    string
	cseq   int
	host   string // the made-up host in Via and Contact
}

func dialWS(t *testing.T, scheme, addr, path string) *wsClient {
	t.Helper()
	d := ws.Dialer{
		Protocols: []string{"sip"},
		TLSConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed
		Timeout:   5 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, hs, err := d.Dial(ctx, scheme+"://"+addr+path)
	if err != nil {
		t.Fatalf("websocket dial %s://%s%s: %v", scheme, addr, path, err)
	}
	t.Cleanup(func() { conn.Close() })
	if hs.Protocol != "sip" {
		t.Fatalf("subprotocol %q, want sip", hs.Protocol)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &wsClient{t: t, scheme: scheme, conn: conn, br: br, callID: randHex(8), tag: randHex(4), host: randHex(6) + ".invalid"}
}

func (c *wsClient) request(method, user string, extra ...string) string {
	c.cseq++
	return buildRequest(strings.ToUpper(c.scheme), c.host, method, "sip:example.com", user, c.callID, c.tag, c.cseq, extra)
}

// write sends one masked client frame.
func (c *wsClient) write(f ws.Frame) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(f)); err != nil {
		c.t.Fatalf("websocket write: %v", err)
	}
}

// readFrame returns the next frame from the server, unmasked.
func (c *wsClient) readFrame(timeout time.Duration) (ws.Frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	f, err := ws.ReadFrame(c.br)
	if err != nil {
		return f, err
	}
	if f.Header.Masked {
		f = ws.UnmaskFrameInPlace(f)
	}
	return f, nil
}

// readSIP returns the next SIP response, skipping server pings (answered)
// and pongs.
func (c *wsClient) readSIP() *sipResponse {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := c.readFrame(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("websocket read: %v", err)
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			c.write(ws.NewPongFrame(f.Payload))
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.Payload)
			c.t.Fatalf("server closed the websocket: %d %s", code, reason)
		}
		res, err := parseResponse(string(f.Payload))
		if err != nil {
			c.t.Fatalf("websocket message: %v\n%q", err, f.Payload)
		}
		return res
	}
}

func (c *wsClient) roundTrip(msg string, op ws.OpCode) *sipResponse {
	c.t.Helper()
	c.write(ws.NewFrame(op, true, []byte(msg)))
	return c.readSIP()
}

// register runs REGISTER → 401 → REGISTER with MD5 credentials.
func (c *wsClient) register(user, password string) *sipResponse {
	c.t.Helper()
	contact := "Contact: <sip:" + user + "@" + c.host + ";transport=ws>;expires=600"
	res := c.roundTrip(c.request("REGISTER", user, contact), ws.OpText)
	if res.Status != 401 {
		return res
	}
	auth, err := digestAuthorization(res.Headers["www-authenticate"], "REGISTER", "sip:example.com", user, password)
	if err != nil {
		c.t.Fatalf("%v\n%s", err, res.Raw)
	}
	return c.roundTrip(c.request("REGISTER", user, contact, "Authorization: "+auth), ws.OpText)
}

// TestWebSocketRegister: a browser-like client registers over WSS and WS
// with digest authentication (the default SHA-256 + MD5 challenges; the
// client answers MD5), gets a pong with its ping's payload, is answered
// when it sends SIP in a binary frame, and gets CRLF back for a CRLFCRLF
// keepalive (RFC 5626 §3.5.1).
func TestWebSocketRegister(t *testing.T) {
	t.Parallel()
	g := startGateway(t, `users:
  - {username: u1000, password: secret}
  - {username: u1001, password: secret}
`)
	cases := []struct {
		scheme, addr, user string
	}{
		{"wss", g.WSS, "u1000"},
		{"ws", g.WS, "u1001"},
	}
	for _, tc := range cases {
		t.Run(tc.scheme, func(t *testing.T) {
			c := dialWS(t, tc.scheme, tc.addr, g.WSPath)

			res := c.register(tc.user, "secret")
			if res.Status != 200 {
				t.Fatalf("REGISTER: %d %s\n%s", res.Status, res.Reason, res.Raw)
			}
			if !strings.Contains(res.get("Contact"), c.host) {
				t.Errorf("200 OK does not list the binding: Contact %q", res.get("Contact"))
			}

			// RFC 6455 §5.5.3: a pong echoes the ping's payload.
			payload := []byte("e2e-" + randHex(4))
			c.write(ws.NewPingFrame(payload))
			for {
				f, err := c.readFrame(5 * time.Second)
				if err != nil {
					t.Fatalf("waiting for pong: %v", err)
				}
				if f.Header.OpCode == ws.OpPong {
					if string(f.Payload) != string(payload) {
						t.Errorf("pong payload %q, want %q", f.Payload, payload)
					}
					break
				}
				if f.Header.OpCode != ws.OpPing {
					t.Fatalf("want pong, got opcode %d %q", f.Header.OpCode, f.Payload)
				}
			}

			// SIP in a binary frame is answered too (RFC 7118 §5.2).
			res = c.roundTrip(c.request("REGISTER", tc.user, "Contact: <sip:"+tc.user+"@"+c.host+";transport=ws>"), ws.OpBinary)
			if res.Status != 401 {
				t.Errorf("REGISTER in a binary frame: %d %s, want 401", res.Status, res.Reason)
			}

			// CRLFCRLF keepalive → CRLF pong.
			c.write(ws.NewTextFrame([]byte("\r\n\r\n")))
			f, err := c.readFrame(5 * time.Second)
			if err != nil {
				t.Fatalf("no answer to the CRLFCRLF keepalive: %v", err)
			}
			if f.Header.OpCode != ws.OpText || string(f.Payload) != "\r\n" {
				t.Errorf("keepalive answer: opcode %d %q, want a text frame with CRLF", f.Header.OpCode, f.Payload)
			}

			rs := g.waitRegistrations(5*time.Second, tc.user+" over "+tc.scheme, func(rs []registration) bool {
				r, ok := byAOR(rs)[tc.user+"@example.com"]
				return ok && r.Transport == tc.scheme
			})
			r := byAOR(rs)[tc.user+"@example.com"]
			if !strings.Contains(r.Contact, c.host) {
				t.Errorf("binding contact %q, want host %s", r.Contact, c.host)
			}
		})
	}
	g.requireAlive()
}
