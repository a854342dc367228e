package sipguard

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handshake limits for the client's HTTP upgrade request.
const (
	wsMaxRequest       = 8 << 10
	wsHandshakeTimeout = 10 * time.Second
)

// WebSocketListener wraps a listener for sipgo's ServeWS or ServeWSS (wrap
// the tls.Listener) and implements the checks RFC 6455 and RFC 7118 need
// and sipgo lacks.
//
// Each new connection's upgrade request is read off sipgo's accept loop
// (at most 8 KiB within 10 s) and must be a GET of WSPath with
// "Upgrade: websocket" and "sip" among its Sec-WebSocket-Protocol values;
// otherwise it gets an HTTP 400, 404 or 426 and is closed. Accept returns
// only connections that passed, with the request bytes still unread so
// sipgo's own upgrader answers 101.
//
// After the upgrade the wrapper parses client frames itself: unmasked
// frames close with 1002; pings get a pong with the same payload (RFC 6455
// §5.5.2, §5.5.3); pongs count as liveness; a close is answered and sipgo
// sees EOF; text and binary messages, fragmented or not, are reassembled
// (over MaxMessageSize: close 1009), checked (failures get a 400 in a text
// frame) and handed to sipgo as one masked text frame with a zero key.
// sipgo's writes are buffered until a whole frame is there and then written
// at once, so the guard's control frames never land inside one. With
// WSPingInterval set, an idle connection is pinged and closed if nothing
// arrives within another interval. Closing the listener ends its
// goroutines and closes connections still in the handshake.
func (g *Guard) WebSocketListener(l net.Listener) net.Listener {
	return &wsListener{
		Listener: l,
		g:        g,
		ready:    make(chan *wsConn),
		done:     make(chan struct{}),
		pending:  make(map[*wsConn]struct{}),
	}
}

type wsListener struct {
	net.Listener
	g *Guard

	start   sync.Once
	ready   chan *wsConn
	done    chan struct{}
	stop    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	pending map[*wsConn]struct{}
}

// Accept implements net.Listener.
func (l *wsListener) Accept() (net.Conn, error) {
	l.start.Do(func() {
		l.wg.Add(1)
		go l.acceptLoop()
	})
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return nil, err
	}
}

// Close implements net.Listener: it stops the accept loop, closes
// connections still in their handshake and waits for the goroutines.
func (l *wsListener) Close() error {
	err := l.Listener.Close()
	l.shutdown(net.ErrClosed)
	l.mu.Lock()
	for c := range l.pending {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

func (l *wsListener) shutdown(err error) {
	l.stop.Do(func() {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		close(l.done)
	})
}

func (l *wsListener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.shutdown(err)
			return
		}
		wc := &wsConn{baseConn: newBaseConn(l.g, c)}
		if !wc.register(wc) {
			continue
		}
		l.mu.Lock()
		select {
		case <-l.done:
			l.mu.Unlock()
			_ = wc.Close()
			return
		default:
		}
		l.pending[wc] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.handshake(wc)
	}
}

func (l *wsListener) handshake(c *wsConn) {
	defer l.wg.Done()
	ok := c.readUpgrade()
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
	if !ok {
		_ = c.Close()
		return
	}
	select {
	case l.ready <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// wsConn phases
const (
	wsRequest  = iota // handing sipgo the upgrade request
	wsUpgraded        // request handed over; sipgo's 101 may still be in flight
)

type wsConn struct {
	*baseConn

	// reading (sipgo's reader goroutine only)
	phase    int
	req      []byte // upgrade request not yet read by sipgo
	rbuf     []byte
	roff     int
	out      []byte // re-encoded frame being handed to sipgo
	msg      []byte // fragments reassembled so far
	inMsg    bool
	msgStart time.Time
	lastRecv time.Time
	pingAt   time.Time // when the guard's unanswered ping was sent
	closing  bool

	// writing (under wmu)
	wmode int    // 0: HTTP response passes through; 1: frames
	whttp []byte // start of sipgo's HTTP response
	wbuf  []byte // partial frame from sipgo
}

// Close implements net.Conn.
func (c *wsConn) Close() error { return c.closeWith(c) }

// readUpgrade reads and vets the HTTP upgrade request (RFC 6455 §4.2.1,
// RFC 7118 §4).
func (c *wsConn) readUpgrade() bool {
	g := c.g
	limit := time.Now().Add(min(wsHandshakeTimeout, g.o.PartialTimeout))
	buf := make([]byte, 0, 2048)
	end := -1
	for end < 0 {
		if len(buf) >= wsMaxRequest {
			return c.reject(400, "Bad Request")
		}
		if cap(buf)-len(buf) < 512 {
			nb := make([]byte, len(buf), min(2*cap(buf), wsMaxRequest+512))
			copy(nb, buf)
			buf = nb
		}
		n, _, err := c.readRaw(buf[len(buf):min(cap(buf), wsMaxRequest)], limit)
		buf = buf[:len(buf)+n]
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			end = i + 4
			break
		}
		if err != nil {
			if errors.Is(err, io.EOF) || n == 0 {
				g.c.wsRejected.Add(1)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					g.c.timedOut.Add(1)
				}
				return false
			}
		}
	}
	head := buf[:end]
	c.req = head
	c.rbuf = append([]byte(nil), buf[end:]...) // frames sent early, if any
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	parts := bytes.Split(line, []byte(" "))
	if len(parts) != 3 || !bytes.HasPrefix(parts[2], []byte("HTTP/1.")) {
		return c.reject(400, "Bad Request")
	}
	if string(parts[0]) != "GET" {
		return c.reject(405, "Method Not Allowed")
	}
	path, _, _ := bytes.Cut(parts[1], []byte("?"))
	if string(path) != g.o.WSPath {
		return c.reject(404, "Not Found")
	}
	var upgrade, sipProto bool
	var origin []byte
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		name = trimWSP(name)
		switch {
		case eqFold(name, "upgrade"):
			upgrade = upgrade || hasToken(value, "websocket")
		case eqFold(name, "sec-websocket-protocol"):
			sipProto = sipProto || hasToken(value, "sip")
		case eqFold(name, "origin"):
			origin = trimWSP(value)
		}
	}
	if origin != nil && !g.originAllowed(origin) {
		// RFC 6455 §4.2.2: a server that does not accept the origin
		// answers 403 Forbidden.
		return c.reject(403, "Forbidden")
	}
	if !upgrade {
		return c.reject(426, "Upgrade Required")
	}
	if !sipProto {
		// RFC 7118 §4: the "sip" subprotocol is mandatory.
		return c.reject(400, "Bad Request")
	}
	c.lastRecv = time.Now()
	return true
}

// hasToken reports whether the comma-separated list v holds tok
// (case-insensitive).
func hasToken(v []byte, tok string) bool {
	for _, t := range bytes.Split(v, []byte(",")) {
		if eqFold(trimWSP(t), tok) {
			return true
		}
	}
	return false
}

func (c *wsConn) reject(code int, reason string) bool {
	c.g.c.wsRejected.Add(1)
	resp := "HTTP/1.1 " + strconv.Itoa(code) + " " + reason + "\r\n"
	if code == 426 {
		resp += "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	}
	resp += "Connection: close\r\nContent-Length: 0\r\n\r\n"
	_ = c.writeOwn([]byte(resp))
	return false
}

// originAllowed reports whether a browser page of origin may open a SIP
// WebSocket (Options.WSOrigins; empty allows all).
func (g *Guard) originAllowed(origin []byte) bool {
	if len(g.o.WSOrigins) == 0 {
		return true
	}
	o := bytes.TrimSuffix(origin, []byte("/"))
	for _, allowed := range g.o.WSOrigins {
		if eqFold(o, strings.TrimSuffix(allowed, "/")) {
			return true
		}
	}
	return false
}
