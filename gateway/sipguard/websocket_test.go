package sipguard

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

func wsGateway(t *testing.T, o Options) (*Guard, *sipServer, string) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	g := New(o)
	s := newSIPServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := g.WebSocketListener(ln)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.ServeWS(wl)
	}()
	t.Cleanup(func() {
		_ = wl.Close()
		<-done
	})
	return g, s, ln.Addr().String()
}

type wsClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

const wsUpgradeReq = "GET %PATH% HTTP/1.1\r\nHost: gw.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%PROTO%\r\n"

// dialWS sends an upgrade request and returns the client and the HTTP
// status line.
func dialWS(t *testing.T, addr, path, protoHeader string) (*wsClient, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := strings.Replace(strings.Replace(wsUpgradeReq, "%PATH%", path, 1), "%PROTO%", protoHeader, 1)
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	w := &wsClient{t: t, c: c, br: bufio.NewReader(c)}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	status, err := w.br.ReadString('\n')
	if err != nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	for {
		l, err := w.br.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
	}
	return w, strings.TrimSpace(status)
}

func upgradedWS(t *testing.T, addr string) *wsClient {
	t.Helper()
	w, status := dialWS(t, addr, "/ws", "Sec-WebSocket-Protocol: sip\r\n")
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		t.Fatalf("upgrade: %q", status)
	}
	return w
}

// frame writes one client frame.
func (w *wsClient) frame(op byte, fin, masked bool, p []byte) {
	w.t.Helper()
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var hdr []byte
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch {
	case len(p) < 126:
		hdr = []byte{b0, m | byte(len(p))}
	case len(p) <= 0xffff:
		hdr = []byte{b0, m | 126, byte(len(p) >> 8), byte(len(p))}
	default:
		hdr = append([]byte{b0, m | 127}, binary.BigEndian.AppendUint64(nil, uint64(len(p)))...)
	}
	body := append([]byte(nil), p...)
	if masked {
		var key [4]byte
		_, _ = rand.Read(key[:])
		hdr = append(hdr, key[:]...)
		for i := range body {
			body[i] ^= key[i&3]
		}
	}
	if _, err := w.c.Write(append(hdr, body...)); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next server frame's opcode and payload.
func (w *wsClient) read() (byte, []byte) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		w.t.Fatalf("read frame: %v", err)
	}
	if h[1]&0x80 != 0 {
		w.t.Fatal("server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		_, _ = io.ReadFull(w.br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, _ = io.ReadFull(w.br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.br, p); err != nil {
		w.t.Fatal(err)
	}
	return h[0] & 0x0f, p
}

func (w *wsClient) expectSIP(first string) {
	w.t.Helper()
	op, p := w.read()
	if op != opText || firstLine(string(p)) != first {
		w.t.Fatalf("got op %d %q, want %q", op, firstLine(string(p)), first)
	}
}

func (w *wsClient) expectClose(code int) {
	w.t.Helper()
	op, p := w.read()
	if op != opClose || len(p) < 2 || int(binary.BigEndian.Uint16(p)) != code {
		w.t.Fatalf("got op %d %v, want close %d", op, p, code)
	}
	_ = w.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.Copy(io.Discard, w.br); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		w.t.Fatalf("not closed after close frame: %v", err)
	}
}

func TestWebSocket(t *testing.T) {
	checkLeaks(t)
	g, s, addr := wsGateway(t, Options{ServerName: "switchboard-test"})

	t.Run("text", func(t *testing.T) {
		w := upgradedWS(t, addr)
		w.frame(opText, true, true, []byte(sipReq("OPTIONS", "WS", "", "")))
		w.expectSIP("SIP/2.0 200 OK")
		w.frame(opText, true, true, []byte(sipReq("REGISTER", "WS", "", "")))
		w.expectSIP("SIP/2.0 200 OK")
	})
	t.Run("binary", func(t *testing.T) {
		w := upgradedWS(t, addr)
		w.frame(opBinary, true, true, []byte(sipReq("OPTIONS", "WS", "", "")))
		w.expectSIP("SIP/2.0 200 OK")
	})
	t.Run("fragmented with ping between", func(t *testing.T) {
		w := upgradedWS(t, addr)
		msg := []byte(sipReq("OPTIONS", "WS", "X-Pad: "+strings.Repeat("p", 300)+"\r\n", ""))
		w.frame(opText, false, true, msg[:100])
		w.frame(opPing, true, true, []byte("mid"))
		w.frame(opContinuation, false, true, msg[100:200])
		w.frame(opContinuation, true, true, msg[200:])
		op, p := w.read()
		if op != opPong || string(p) != "mid" {
			t.Fatalf("got op %d %q", op, p)
		}
		w.expectSIP("SIP/2.0 200 OK")
	})
	t.Run("ping pong payload", func(t *testing.T) {
		w := upgradedWS(t, addr)
		w.frame(opPing, true, true, []byte("hello-ping"))
		op, p := w.read()
		if op != opPong || string(p) != "hello-ping" {
			t.Fatalf("got op %d %q", op, p)
		}
		w.frame(opPong, true, true, []byte("unsolicited"))
		w.frame(opText, true, true, []byte(sipReq("OPTIONS", "WS", "", "")))
		w.expectSIP("SIP/2.0 200 OK")
	})
	t.Run("malformed gets 400", func(t *testing.T) {
		w := upgradedWS(t, addr)
		bad := strings.Replace(sipReq("OPTIONS", "WS", "", ""), "Call-ID", "X-Call-ID", 1)
		w.frame(opText, true, true, []byte(bad))
		w.expectSIP("SIP/2.0 400 Bad Request (missing Call-ID)")
		w.frame(opText, true, true, []byte("\r\n\r\n"))
		op, p := w.read()
		if op != opText || string(p) != "\r\n" {
			t.Fatalf("keepalive pong: %d %q", op, p)
		}
		w.frame(opText, true, true, []byte(sipReq("OPTIONS", "WS", "", "")))
		w.expectSIP("SIP/2.0 200 OK")
	})
	t.Run("unmasked closes 1002", func(t *testing.T) {
		w := upgradedWS(t, addr)
		w.frame(opText, true, false, []byte(sipReq("OPTIONS", "WS", "", "")))
		w.expectClose(closeProtocolError)
	})
	t.Run("oversize closes 1009", func(t *testing.T) {
		w := upgradedWS(t, addr)
		w.frame(opText, false, true, make([]byte, 40000))
		w.frame(opContinuation, true, true, make([]byte, 40000))
		w.expectClose(closeTooBig)
	})
	t.Run("close is answered", func(t *testing.T) {
		w := upgradedWS(t, addr)
		w.frame(opClose, true, true, closePayload(closeNormal))
		w.expectClose(closeNormal)
	})
	t.Run("wrong path 404", func(t *testing.T) {
		_, status := dialWS(t, addr, "/other", "Sec-WebSocket-Protocol: sip\r\n")
		if status != "HTTP/1.1 404 Not Found" {
			t.Fatalf("got %q", status)
		}
	})
	t.Run("no sip protocol", func(t *testing.T) {
		_, status := dialWS(t, addr, "/ws", "Sec-WebSocket-Protocol: chat\r\n")
		if status != "HTTP/1.1 400 Bad Request" {
			t.Fatalf("got %q", status)
		}
	})
	t.Run("no upgrade 426", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = c.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: sip\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.TrimSpace(line) != "HTTP/1.1 426 Upgrade Required" {
			t.Fatalf("got %q", line)
		}
	})
	st := g.Stats()
	if st.WSPings != 2 || st.WSPongs != 1 || st.WSRejected != 3 || s.reqs.Load() < 6 {
		t.Errorf("stats %+v, sipgo requests %d", st, s.reqs.Load())
	}
}

func TestWebSocketServerPingAndDeadFlow(t *testing.T) {
	checkLeaks(t)
	g, _, addr := wsGateway(t, Options{WSPingInterval: 200 * time.Millisecond})
	// A live client answers pings and stays.
	live := upgradedWS(t, addr)
	for range 3 {
		op, p := live.read()
		if op != opPing {
			t.Fatalf("expected ping, got %d", op)
		}
		live.frame(opPong, true, true, p)
	}
	live.frame(opText, true, true, []byte(sipReq("OPTIONS", "WS", "", "")))
	live.expectSIP("SIP/2.0 200 OK")

	// A dead one does not and is closed.
	dead := upgradedWS(t, addr)
	start := time.Now()
	if op, _ := dead.read(); op != opPing {
		t.Fatalf("expected ping, got %d", op)
	}
	dead.expectClose(closeNormal)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("dead flow closed after %v", el)
	}
	if g.Stats().WSServerPings < 4 || g.Stats().WSPongs < 3 {
		t.Errorf("stats %+v", g.Stats())
	}
}

func TestWebSocketHandshakeTimeout(t *testing.T) {
	checkLeaks(t)
	_, _, addr := wsGateway(t, Options{PartialTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET /ws HTTP/1.1\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("slow handshake not closed: %v", err)
	}
	// Meanwhile other clients are served (sipgo's accept loop is not blocked).
	w := upgradedWS(t, addr)
	w.frame(opText, true, true, []byte(sipReq("OPTIONS", "WS", "", "")))
	w.expectSIP("SIP/2.0 200 OK")
}

// With WSOrigins set, browsers of other origins are refused 403 at the
// upgrade (RFC 6455 §10.2); requests without Origin (phones) pass.
func TestWebSocketOrigins(t *testing.T) {
	checkLeaks(t)
	_, _, addr := wsGateway(t, Options{WSOrigins: []string{"https://console.example.com", "https://ops.example.com:8443/"}})
	for _, tt := range []struct {
		name, origin, want string
	}{
		{"allowed", "Origin: https://console.example.com\r\n", "HTTP/1.1 101 Switching Protocols"},
		{"allowed, other case, trailing slash", "Origin: HTTPS://Ops.Example.com:8443/\r\n", "HTTP/1.1 101 Switching Protocols"},
		{"no origin (a phone)", "", "HTTP/1.1 101 Switching Protocols"},
		{"other site", "Origin: https://evil.example.net\r\n", "HTTP/1.1 403 Forbidden"},
		{"other port", "Origin: https://console.example.com:444\r\n", "HTTP/1.1 403 Forbidden"},
		{"null origin", "Origin: null\r\n", "HTTP/1.1 403 Forbidden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, status := dialWS(t, addr, "/ws", "Sec-WebSocket-Protocol: sip\r\n"+tt.origin)
			if status != tt.want {
				t.Fatalf("got %q, want %q", status, tt.want)
			}
		})
	}
}
