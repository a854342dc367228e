package sipguard

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

func tcpGateway(t *testing.T, o Options) (*Guard, *sipServer, string) {
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
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.ServeTCP(g.StreamListener(ln))
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return g, s, ln.Addr().String()
}

type tcpClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialTCP(t *testing.T, addr string) *tcpClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &tcpClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *tcpClient) write(s string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *tcpClient) expect(first string) string {
	c.t.Helper()
	msg := readSIP(c.t, c.c, c.br)
	if got := firstLine(msg); got != first {
		c.t.Fatalf("got %q, want %q\n%s", got, first, msg)
	}
	return msg
}

// expectClosed waits for the server to close the connection.
func (c *tcpClient) expectClosed(within time.Duration) {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c.br)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Fatalf("connection not closed: %v", err)
	}
}

func TestTCPFraming(t *testing.T) {
	checkLeaks(t)
	g, s, addr := tcpGateway(t, Options{ServerName: "switchboard-test"})

	t.Run("valid", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
	})
	t.Run("two messages in one write", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write(sipReq("OPTIONS", "TCP", "", "") + sipReq("REGISTER", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
		c.expect("SIP/2.0 200 OK")
	})
	t.Run("byte by byte", func(t *testing.T) {
		c := dialTCP(t, addr)
		msg := sipReq("OPTIONS", "TCP", "", "")
		for i := range len(msg) {
			c.write(msg[i : i+1])
		}
		c.expect("SIP/2.0 200 OK")
	})
	t.Run("body and leading CRLF", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write("\r\n" + sipReq("OPTIONS", "TCP", "Content-Type: text/plain\r\n", "hello body"))
		c.expect("SIP/2.0 200 OK")
	})
	t.Run("CRLFCRLF ping", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
		before := g.Stats().KeepalivePongs
		c.write("\r\n\r\n")
		buf := make([]byte, 2)
		_ = c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(c.br, buf); err != nil || string(buf) != "\r\n" {
			t.Fatalf("pong %q %v", buf, err)
		}
		// counted once written: the client may read it a moment before
		for deadline := time.Now().Add(5 * time.Second); g.Stats().KeepalivePongs != before+1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if g.Stats().KeepalivePongs != before+1 {
			t.Error("pong not counted")
		}
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
	})
	t.Run("missing Content-Length", func(t *testing.T) {
		c := dialTCP(t, addr)
		msg := sipReq("OPTIONS", "TCP", "", "")
		msg = strings.Replace(msg, "Content-Length: 0\r\n", "", 1)
		c.write(msg)
		resp := c.expect("SIP/2.0 400 Bad Request (missing Content-Length)")
		if !strings.Contains(resp, "Server: switchboard-test") {
			t.Errorf("no Server header:\n%s", resp)
		}
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
	})
	t.Run("malformed then valid", func(t *testing.T) {
		c := dialTCP(t, addr)
		bad := strings.Replace(sipReq("OPTIONS", "TCP", "", ""), "CSeq: ", "CSeq: x", 1)
		c.write(bad + sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 400 Bad Request (bad CSeq)")
		c.expect("SIP/2.0 200 OK")
	})
	t.Run("garbage closes without crash", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write("\x16\x03\x01\x00\xff garbage\r\n\r\n")
		c.write("GET / HTTP/1.1\r\nContent-Length: zz\r\n\r\n")
		c.expectClosed(2 * time.Second)
	})
	t.Run("oversize Content-Length", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write(strings.Replace(sipReq("OPTIONS", "TCP", "", ""), "Content-Length: 0", "Content-Length: 70000", 1))
		c.expect("SIP/2.0 513 Message Too Large")
		c.expectClosed(2 * time.Second)
	})
	t.Run("endless header", func(t *testing.T) {
		c := dialTCP(t, addr)
		msg := sipReq("OPTIONS", "TCP", "", "")
		c.write(msg[:strings.Index(msg, "Max-Forwards")])
		line := "X-Junk: " + strings.Repeat("j", 1000) + "\r\n"
		for range 70 {
			if _, err := c.c.Write([]byte(line)); err != nil {
				break
			}
		}
		c.expect("SIP/2.0 513 Message Too Large")
		c.expectClosed(2 * time.Second)
	})
	if s.reqs.Load() == 0 {
		t.Error("sipgo saw nothing")
	}
}

func TestTCPSlowLorisAndIdle(t *testing.T) {
	checkLeaks(t)
	// The idle limit is long beside the keepalive spacing (2 s against
	// 100 ms): a loaded machine delays a keepalive by far less than that,
	// and 3 s of keepalives still outlast the limit.
	g, _, addr := tcpGateway(t, Options{PartialTimeout: 300 * time.Millisecond, StreamIdleTimeout: 2 * time.Second})
	t.Run("partial", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
		msg := sipReq("OPTIONS", "TCP", "", "")
		start := time.Now()
		c.write(msg[:40])
		go func() {
			// keep dribbling: bytes must not extend the partial deadline
			for i := 40; i < 60; i++ {
				time.Sleep(50 * time.Millisecond)
				if _, err := c.c.Write([]byte{msg[i]}); err != nil {
					return
				}
			}
		}()
		c.expectClosed(3 * time.Second)
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("closed after %v", el)
		}
	})
	t.Run("silent new connection", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.expectClosed(3 * time.Second)
	})
	t.Run("idle", func(t *testing.T) {
		c := dialTCP(t, addr)
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
		// keepalives keep it open past the idle timeout
		start := time.Now()
		n := 0
		for ; time.Since(start) < 3*time.Second; n++ {
			time.Sleep(100 * time.Millisecond)
			c.write("\r\n\r\n")
		}
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		buf := make([]byte, 2)
		for range n {
			_ = c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := io.ReadFull(c.br, buf); err != nil {
				t.Fatal(err)
			}
		}
		c.expect("SIP/2.0 200 OK")
		c.expectClosed(10 * time.Second)
	})
	if g.Stats().TimedOut < 3 {
		t.Errorf("TimedOut %d", g.Stats().TimedOut)
	}
}

func TestTCPConnLimitAndBan(t *testing.T) {
	checkLeaks(t)
	g, _, addr := tcpGateway(t, Options{MaxConnsPerIP: 2})
	a := dialTCP(t, addr)
	b := dialTCP(t, addr)
	a.write(sipReq("OPTIONS", "TCP", "", ""))
	a.expect("SIP/2.0 200 OK")
	b.write(sipReq("OPTIONS", "TCP", "", ""))
	b.expect("SIP/2.0 200 OK")
	c := dialTCP(t, addr)
	c.expectClosed(2 * time.Second)
	if g.Stats().ConnsRefused != 1 || g.Stats().Conns != 2 {
		t.Errorf("stats %+v", g.Stats())
	}
	g.Ban(netip.MustParseAddr("127.0.0.1"), time.Hour, "test")
	a.expectClosed(2 * time.Second)
	b.expectClosed(2 * time.Second)
	d := dialTCP(t, addr)
	d.expectClosed(2 * time.Second)
	waitFor(t, "conns released", func() bool { return g.Stats().Conns == 0 })
	g.Unban(netip.MustParseAddr("127.0.0.1"))
	e := dialTCP(t, addr)
	e.write(sipReq("OPTIONS", "TCP", "", ""))
	e.expect("SIP/2.0 200 OK")
}
