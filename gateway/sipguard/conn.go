package sipguard

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ownWriteTimeout bounds the guard's own writes (pongs, 400s, pings) so a
// peer that stops reading cannot stall the reading goroutine.
const ownWriteTimeout = 10 * time.Second

// baseConn is what the stream and WebSocket wrappers share: the caller's
// deadlines combined with the guard's timers (no extra goroutines), a write
// lock that serializes sipgo's writes with the guard's, and tracking.
type baseConn struct {
	net.Conn
	g       *Guard
	ip      netip.Addr
	trusted bool

	wmu       sync.Mutex // serializes writes to Conn
	dmu       sync.Mutex
	userRead  time.Time // read deadline set by sipgo
	userWrite time.Time // write deadline set by sipgo

	closeOnce sync.Once
	untrack   bool

	// proven is set once the gateway answered a REGISTER or INVITE on this
	// connection with a 2xx: from then on the long idle limit applies.
	proven  atomic.Bool
	lastMsg atomic.Int64 // unix nanoseconds of the last message handed to sipgo (or the accept)
}

func newBaseConn(g *Guard, c net.Conn) *baseConn {
	ip := addrIP(c.RemoteAddr())
	b := &baseConn{Conn: c, g: g, ip: ip, trusted: g.Trusted(ip)}
	b.lastMsg.Store(time.Now().UnixNano())
	return b
}

// delivered notes that a checked message was handed to sipgo.
func (c *baseConn) delivered() { c.lastMsg.Store(time.Now().UnixNano()) }

// idleLimit is when the connection is closed for idleness, given when it
// last received a byte. A flow that has not proven itself (no 2xx to a
// REGISTER or INVITE on it, not trusted) must keep sending SIP messages:
// bytes alone (CRLF keepalives, WebSocket pongs) do not keep it open past
// UnprovenIdleTimeout. A proven flow keeps StreamIdleTimeout, which RFC
// 5626 keepalives renew.
func (c *baseConn) idleLimit(lastByte time.Time) time.Time {
	limit := lastByte.Add(c.g.o.StreamIdleTimeout)
	if c.trusted || c.proven.Load() {
		return limit
	}
	if t := time.Unix(0, c.lastMsg.Load()).Add(c.g.o.UnprovenIdleTimeout); t.Before(limit) {
		return t
	}
	return limit
}

// sawWrite looks at what sipgo writes (a whole message, possibly behind a
// WebSocket frame header of up to 14 bytes) for a 2xx to REGISTER or
// INVITE, which proves the flow.
func (c *baseConn) sawWrite(b []byte) {
	if c.proven.Load() {
		return
	}
	head := b[:min(len(b), 14+len(sip2xx))]
	i := bytes.Index(head, sip2xx)
	if i < 0 {
		return
	}
	msg := b[i:]
	if end := bytes.Index(msg, []byte("\r\n\r\n")); end >= 0 {
		msg = msg[:end+2]
	}
	j := bytes.Index(msg, []byte("\r\nCSeq:"))
	if j < 0 {
		return
	}
	line := msg[j+7:]
	if k := bytes.IndexByte(line, '\r'); k >= 0 {
		line = line[:k]
	}
	line = bytes.TrimSpace(line)
	if bytes.HasSuffix(line, []byte(" REGISTER")) || bytes.HasSuffix(line, []byte(" INVITE")) {
		c.proven.Store(true)
	}
}

var sip2xx = []byte("SIP/2.0 2")

// register counts the connection against its IP unless an AcceptListener
// below already did; on refusal the connection is closed.
func (c *baseConn) register(self interface{ Close() error }) bool {
	if tracked(c.Conn) {
		return true
	}
	if err := c.g.track(c.ip, self); err != nil {
		_ = c.Conn.Close()
		return false
	}
	c.untrack = true
	return true
}

func (c *baseConn) closeWith(self interface{ Close() error }) error {
	var err error = net.ErrClosed
	c.closeOnce.Do(func() {
		if c.untrack {
			c.g.untrack(c.ip, self)
		}
		err = c.Conn.Close()
	})
	return err
}

// SetDeadline implements net.Conn.
func (c *baseConn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	c.userRead, c.userWrite = t, t
	c.dmu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

// SetReadDeadline implements net.Conn; the deadline is applied, together
// with the guard's timers, whenever the wrapper reads.
func (c *baseConn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.userRead = t
	c.dmu.Unlock()
	return nil
}

// SetWriteDeadline implements net.Conn.
func (c *baseConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.userWrite = t
	c.dmu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

// readRaw reads with the earlier of the caller's deadline and limit. ours
// reports a timeout caused by limit (the guard's timer), not the caller.
func (c *baseConn) readRaw(p []byte, limit time.Time) (n int, ours bool, err error) {
	c.dmu.Lock()
	user := c.userRead
	c.dmu.Unlock()
	d := limit
	if !user.IsZero() && (d.IsZero() || user.Before(d)) {
		d = user
	}
	if err := c.Conn.SetReadDeadline(d); err != nil {
		return 0, false, err
	}
	n, err = c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if user.IsZero() || time.Now().Before(user) {
			return n, true, err
		}
	}
	return n, false, err
}

// writeOwn writes the guard's own bytes atomically, bounded in time.
func (c *baseConn) writeOwn(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeOwnLocked(b)
}

func (c *baseConn) writeOwnLocked(b []byte) error {
	c.dmu.Lock()
	user := c.userWrite
	c.dmu.Unlock()
	d := time.Now().Add(ownWriteTimeout)
	if !user.IsZero() && user.Before(d) {
		d = user
	}
	_ = c.Conn.SetWriteDeadline(d)
	_, err := c.Conn.Write(b)
	_ = c.Conn.SetWriteDeadline(user)
	return err
}

// replyTo answers a bad message on the connection; frame wraps the bytes
// for the transport (nil for plain streams).
func (c *baseConn) replyTo(msg []byte, code int, phrase string, frame func([]byte) []byte) {
	resp := buildReply(msg, code, phrase, c.g.o.ServerName)
	if resp == nil {
		c.g.c.unanswerable.Add(1)
		return
	}
	if frame != nil {
		resp = frame(resp)
	}
	if c.writeOwn(resp) == nil {
		if code == statusTooLarge {
			c.g.c.answered513.Add(1)
		} else {
			c.g.c.answered400.Add(1)
		}
	}
}
