package sipguard

import (
	"bytes"
	"io"
	"time"
)

// Read implements net.Conn for sipgo: first the upgrade request, then one
// re-encoded text frame per SIP message.
func (c *wsConn) Read(b []byte) (int, error) {
	if c.phase == wsRequest {
		n := copy(b, c.req)
		c.req = c.req[n:]
		if len(c.req) == 0 {
			c.phase = wsUpgraded
		}
		return n, nil
	}
	for len(c.out) == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n, nil
}

// next parses client frames until a message is ready in c.out.
func (c *wsConn) next() error {
	g := c.g
	for {
		data := c.rbuf[c.roff:]
		h, ok, valid := parseFrameHeader(data)
		if !valid {
			return c.fail(closeProtocolError)
		}
		if !ok {
			if err := c.fill(); err != nil {
				return err
			}
			continue
		}
		// RFC 6455 §5.1: a server MUST close on an unmasked client frame;
		// §5.2: no extension is negotiated, so RSV bits MUST be 0.
		if !h.masked || h.rsv != 0 {
			return c.fail(closeProtocolError)
		}
		control := h.op&0x8 != 0
		if control && (!h.fin || h.length > 125) { // RFC 6455 §5.5
			return c.fail(closeProtocolError)
		}
		if !control && uint64(len(c.msg))+h.length > uint64(g.o.MaxMessageSize) {
			g.c.oversize.Add(1)
			return c.fail(closeTooBig)
		}
		if c.msgStart.IsZero() {
			c.msgStart = time.Now()
		}
		total := h.size + int(h.length)
		if len(data) < total {
			if err := c.fill(); err != nil {
				return err
			}
			continue
		}
		payload := data[h.size:total]
		unmask(payload, h.mask)
		c.roff += total
		if !c.inMsg {
			c.msgStart = time.Time{}
		}
		switch h.op {
		case opPing:
			g.c.wsPings.Add(1)
			if err := c.writeOwn(appendFrame(nil, opPong, false, payload)); err != nil {
				return err
			}
		case opPong:
			g.c.wsPongs.Add(1)
		case opClose:
			// RFC 6455 §5.5.1: echo the status code, then close.
			reply := []byte(nil)
			if len(payload) >= 2 {
				reply = payload[:2]
			}
			_ = c.writeOwn(appendFrame(nil, opClose, false, reply))
			_ = c.Close()
			return io.EOF
		case opText, opBinary:
			if c.inMsg {
				return c.fail(closeProtocolError)
			}
			c.msg = append(c.msg[:0], payload...)
			c.inMsg = !h.fin
			if c.inMsg {
				c.msgStart = time.Now()
			} else if c.deliver() {
				return nil
			}
		case opContinuation:
			if !c.inMsg {
				return c.fail(closeProtocolError)
			}
			c.msg = append(c.msg, payload...)
			if h.fin {
				c.inMsg = false
				c.msgStart = time.Time{}
				if c.deliver() {
					return nil
				}
			}
		default:
			return c.fail(closeProtocolError)
		}
	}
}

// deliver checks the reassembled message in c.msg. It reports whether a
// frame for sipgo is ready in c.out.
func (c *wsConn) deliver() bool {
	g := c.g
	msg := c.msg
	if len(bytes.Trim(msg, "\r\n")) == 0 {
		// RFC 5626 §3.5.1 CRLF keepalive inside a WebSocket message.
		g.c.keepalives.Add(1)
		if string(msg) == "\r\n\r\n" && c.writeOwn(serverTextFrame([]byte("\r\n"))) == nil {
			g.c.keepalivePongs.Add(1)
		}
		return false
	}
	if !g.admit(c.ip) {
		return false
	}
	msg, h, err := CheckCanonical(msg)
	if err != nil {
		g.c.malformed.Add(1)
		code, phrase := rejection(err)
		c.replyTo(msg, code, phrase, serverTextFrame)
		return false
	}
	if h.IsRequest && !g.screenAgent(msg[:h.HeaderLen], c.ip, true) {
		return false
	}
	g.c.accepted.Add(1)
	c.delivered()
	c.out = appendFrame(c.out[:0], opText, true, msg[:h.Len()])
	return true
}

// fail sends a close frame with code and ends the connection.
func (c *wsConn) fail(code int) error {
	_ = c.writeOwn(appendFrame(nil, opClose, false, closePayload(code)))
	_ = c.Close()
	return io.EOF
}

// fill reads more bytes under the guard's timers: idle pings, dead-flow
// detection, PartialTimeout for a started frame or message, and
// StreamIdleTimeout.
func (c *wsConn) fill() error {
	g := c.g
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
	if c.lastRecv.IsZero() {
		c.lastRecv = time.Now()
	}
	for {
		limit := c.idleLimit(c.lastRecv)
		why := "idle"
		iv := g.o.WSPingInterval
		if iv > 0 {
			t := c.lastRecv.Add(iv)
			if !c.pingAt.IsZero() {
				t = c.pingAt.Add(iv)
			}
			if t.Before(limit) {
				limit, why = t, "ping"
			}
		}
		partial := len(c.rbuf) > 0 || c.inMsg
		if partial {
			if c.msgStart.IsZero() {
				c.msgStart = time.Now()
			}
			if t := c.msgStart.Add(g.o.PartialTimeout); t.Before(limit) {
				limit, why = t, "incomplete message (slow-loris)"
			}
		}
		n, ours, err := c.readRaw(c.rbuf[len(c.rbuf):cap(c.rbuf)], limit)
		if n > 0 {
			c.rbuf = c.rbuf[:len(c.rbuf)+n]
			c.lastRecv = time.Now()
			c.pingAt = time.Time{}
			return nil
		}
		if err == nil {
			continue
		}
		if !ours {
			return err
		}
		if why == "ping" && c.pingAt.IsZero() {
			// Idle for an interval: ping (RFC 6455 §5.5.2).
			c.pingAt = time.Now()
			if err := c.writeOwn(appendFrame(nil, opPing, false, []byte("sipguard"))); err != nil {
				return err
			}
			g.c.wsServerPings.Add(1)
			continue
		}
		if why == "idle" && !partial && time.Now().Before(c.idleLimit(c.lastRecv)) {
			continue // proven while this read waited under the unproven limit
		}
		if why == "ping" {
			why = "no answer to ping (dead flow)"
		}
		g.c.timedOut.Add(1)
		g.log.Warn("closing websocket connection", "ip", c.ip, "reason", why)
		_ = c.writeOwn(appendFrame(nil, opClose, false, closePayload(closeNormal)))
		_ = c.Close()
		return io.EOF
	}
}

// Write implements net.Conn for sipgo: its HTTP response passes through;
// after it, frames are buffered until whole and written at once.
func (c *wsConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.sawWrite(b)
	if err := c.write(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *wsConn) write(b []byte) error {
	if c.wmode == 0 {
		c.whttp = append(c.whttp, b...)
		i := bytes.Index(c.whttp, []byte("\r\n\r\n"))
		if i < 0 {
			if len(c.whttp) > wsMaxRequest {
				return io.ErrShortWrite
			}
			return nil
		}
		resp := c.whttp[:i+4]
		rest := append([]byte(nil), c.whttp[i+4:]...)
		c.whttp = nil
		c.wmode = 1
		if _, err := c.Conn.Write(resp); err != nil {
			return err
		}
		if len(rest) == 0 {
			return nil
		}
		b = rest
	}
	c.wbuf = append(c.wbuf, b...)
	for {
		h, ok, valid := parseFrameHeader(c.wbuf)
		if !valid {
			return io.ErrShortWrite
		}
		if !ok || uint64(len(c.wbuf)) < uint64(h.size)+h.length {
			return nil
		}
		total := h.size + int(h.length)
		if _, err := c.Conn.Write(c.wbuf[:total]); err != nil {
			return err
		}
		n := copy(c.wbuf, c.wbuf[total:])
		c.wbuf = c.wbuf[:n]
	}
}
