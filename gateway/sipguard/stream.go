package sipguard

import (
	"bytes"
	"io"
	"net"
	"time"
)

// StreamListener wraps a listener for sipgo's ServeTCP or ServeTLS (wrap
// the tls.Listener). Its connections frame the byte stream into whole
// messages themselves (RFC 3261 §18.3): leading CRLFs are skipped, a
// CRLFCRLF between messages is answered with a CRLF pong (RFC 5626
// §3.5.1), Content-Length is required (missing: 400, taken as 0), a header
// section or Content-Length beyond MaxMessageSize gets 513 and a close, and
// only complete messages that passed Check are handed to sipgo, one per
// Read. Bans and MaxConnsPerIP are enforced at Accept (unless an
// AcceptListener below did it already). A started message must complete
// within PartialTimeout (this includes the first message and the TLS
// handshake of a new connection), and a connection silent for
// StreamIdleTimeout is closed. No goroutines are started.
func (g *Guard) StreamListener(l net.Listener) net.Listener {
	return &streamListener{Listener: l, g: g}
}

type streamListener struct {
	net.Listener
	g *Guard
}

// Accept implements net.Listener.
func (l *streamListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		sc := &streamConn{baseConn: newBaseConn(l.g, c)}
		sc.msgStart = time.Now()
		if sc.register(sc) {
			return sc, nil
		}
	}
}

// readChunk is how much the stream wrapper asks the socket for at a time.
const readChunk = 4096

type streamConn struct {
	*baseConn

	rbuf      []byte // received bytes; rbuf[roff:] not yet consumed
	roff      int
	out       []byte // checked message being handed to sipgo
	crlfs     int    // consecutive CRLFs seen between messages
	msgStart  time.Time
	firstDone bool
	lastByte  time.Time
}

// Close implements net.Conn.
func (c *streamConn) Close() error { return c.closeWith(c) }

// Write implements net.Conn; writes are serialized with the guard's own.
func (c *streamConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.sawWrite(b)
	return c.Conn.Write(b)
}

// Read implements net.Conn. It returns one whole checked message per call
// when b is large enough.
func (c *streamConn) Read(b []byte) (int, error) {
	for len(c.out) == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n, nil
}

// next frames the buffered bytes until one message is ready in c.out,
// reading more from the socket as needed.
func (c *streamConn) next() error {
	g := c.g
	max := g.o.MaxMessageSize
	for {
		data := c.rbuf[c.roff:]
		// RFC 3261 §7.5: CRLFs before a start line are ignored; two in a
		// row are an RFC 5626 §3.5.1 ping.
		for len(data) >= 2 && data[0] == '\r' && data[1] == '\n' {
			data = data[2:]
			c.roff += 2
			c.crlfs++
			if c.crlfs == 2 {
				c.crlfs = 0
				g.c.keepalives.Add(1)
				if err := c.writeOwn([]byte("\r\n")); err != nil {
					return err
				}
				g.c.keepalivePongs.Add(1)
			}
		}
		if len(data) > 0 && !(len(data) == 1 && data[0] == '\r') {
			if c.crlfs > 0 {
				g.c.keepalives.Add(1) // a lone CRLF: a pong or keepalive
			}
			c.crlfs = 0
			if c.msgStart.IsZero() {
				c.msgStart = time.Now()
			}
			done, err := c.frame(data, max)
			if err != nil || done {
				return err
			}
			continue
		}
		if err := c.fill(); err != nil {
			return err
		}
	}
}

// frame looks for one message at the start of data. done means c.out is
// set; (false, nil) means a message was consumed (answered or dropped).
func (c *streamConn) frame(data []byte, max int) (bool, error) {
	g := c.g
	search := data
	if len(search) > max+4 {
		search = search[:max+4]
	}
	idx := bytes.Index(search, []byte("\r\n\r\n"))
	if idx < 0 {
		if len(data) >= max {
			return false, c.fatal(data, statusTooLarge, tooLargePhrase)
		}
		return false, c.fill()
	}
	hl := idx + 4
	cl, present, ok := scanContentLength(data[:hl])
	if !ok {
		g.c.malformed.Add(1)
		return false, c.fatal(data[:hl], statusBadRequest, badRequestPhrase(errContentLength))
	}
	if hl > max || (present && hl+cl > max) {
		return false, c.fatal(data[:hl], statusTooLarge, tooLargePhrase)
	}
	if !present {
		// RFC 3261 §18.3: Content-Length is mandatory on streams; answer
		// and take the body as empty.
		c.consume(hl)
		if g.admit(c.ip) {
			g.c.malformed.Add(1)
			c.replyTo(data[:hl], statusBadRequest, badRequestPhrase(errMissingCL), nil)
		}
		return false, nil
	}
	if len(data) < hl+cl {
		return false, c.fill()
	}
	msg := data[:hl+cl]
	c.consume(hl + cl)
	if !g.admit(c.ip) {
		return false, nil
	}
	msg, h, err := CheckCanonical(msg)
	if err != nil {
		g.c.malformed.Add(1)
		code, phrase := rejection(err)
		c.replyTo(msg, code, phrase, nil)
		return false, nil
	}
	if h.IsRequest && !g.screenAgent(msg[:h.HeaderLen], c.ip, true) {
		return false, nil
	}
	g.c.accepted.Add(1)
	c.delivered()
	c.out = msg // stays valid: rbuf is not touched until out is drained
	return true, nil
}

// consume marks n bytes (one message) as done.
func (c *streamConn) consume(n int) {
	c.roff += n
	c.msgStart = time.Time{}
	c.firstDone = true
}

// fatal answers (513 or 400) and closes: there is no message boundary left
// to resynchronize on.
func (c *streamConn) fatal(msg []byte, code int, phrase string) error {
	if code == statusTooLarge {
		c.g.c.oversize.Add(1)
	}
	if c.g.admit(c.ip) {
		c.replyTo(msg, code, phrase, nil)
	}
	_ = c.Close()
	return io.EOF
}

// fill reads more bytes, enforcing PartialTimeout, StreamIdleTimeout and
// UnprovenIdleTimeout.
func (c *streamConn) fill() error {
	if c.roff > 0 {
		n := copy(c.rbuf, c.rbuf[c.roff:])
		c.rbuf = c.rbuf[:n]
		c.roff = 0
	}
	if cap(c.rbuf)-len(c.rbuf) < readChunk {
		nb := make([]byte, len(c.rbuf), len(c.rbuf)+readChunk*2)
		copy(nb, c.rbuf)
		c.rbuf = nb
	}
	var limit time.Time
	partial := !c.firstDone || len(c.rbuf) > 0
	if partial {
		if c.msgStart.IsZero() {
			c.msgStart = time.Now()
		}
		limit = c.msgStart.Add(c.g.o.PartialTimeout)
	} else {
		if c.lastByte.IsZero() {
			c.lastByte = time.Now()
		}
		limit = c.idleLimit(c.lastByte)
	}
	n, ours, err := c.readRaw(c.rbuf[len(c.rbuf):cap(c.rbuf)], limit)
	for n == 0 && ours && !partial && time.Now().Before(c.idleLimit(c.lastByte)) {
		// The flow was proven (a 2xx to its REGISTER or INVITE was
		// written) while this read waited under the unproven limit: read
		// on under the long one.
		n, ours, err = c.readRaw(c.rbuf[len(c.rbuf):cap(c.rbuf)], c.idleLimit(c.lastByte))
	}
	if n > 0 {
		c.rbuf = c.rbuf[:len(c.rbuf)+n]
		c.lastByte = time.Now()
	}
	if err != nil {
		if ours {
			c.g.c.timedOut.Add(1)
			what := "idle"
			if partial {
				what = "incomplete message (slow-loris)"
			}
			c.g.log.Warn("closing stream connection", "ip", c.ip, "reason", what)
			_ = c.Close()
			return io.EOF
		}
		if n > 0 && err == io.EOF {
			return nil
		}
		return err
	}
	return nil
}

// scanContentLength finds Content-Length (or "l") in a header section.
// present is false when there is none; ok is false when it is not a number.
func scanContentLength(hdr []byte) (cl int, present, ok bool) {
	for len(hdr) > 0 {
		i := bytes.IndexByte(hdr, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimRight(hdr[:i], "\r")
		hdr = hdr[i+1:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := trimRightWSP(line[:colon])
		if eqFold(name, "content-length") || eqFold(name, "l") {
			n, ok := parseDigits(trimWSP(line[colon+1:]), 9)
			return n, true, ok
		}
	}
	return 0, false, true
}
