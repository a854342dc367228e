package sipguard

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
)

// AcceptListener filters raw TCP accepts: connections from banned IPs and
// beyond MaxConnsPerIP are closed at once. Put it under tls.NewListener so
// no TLS handshake is spent on them:
//
//	g.StreamListener(tls.NewListener(g.AcceptListener(ln), conf))
//
// Connections it accepts are closed when their IP gets banned.
func (g *Guard) AcceptListener(l net.Listener) net.Listener {
	return &acceptListener{Listener: l, g: g}
}

type acceptListener struct {
	net.Listener
	g *Guard
}

// Accept implements net.Listener.
func (l *acceptListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc, ok := l.g.trackConn(c); ok {
			return tc, nil
		}
	}
}

// trackedConn is a connection counted against its IP's limit.
type trackedConn struct {
	net.Conn
	g    *Guard
	ip   netip.Addr
	once sync.Once
}

// trackConn registers c, or closes it and reports false.
func (g *Guard) trackConn(c net.Conn) (*trackedConn, bool) {
	tc := &trackedConn{Conn: c, g: g, ip: addrIP(c.RemoteAddr())}
	if err := g.track(tc.ip, tc); err != nil {
		_ = c.Close()
		return nil, false
	}
	return tc, true
}

// Close implements net.Conn.
func (c *trackedConn) Close() error {
	c.once.Do(func() { c.g.untrack(c.ip, c) })
	return c.Conn.Close()
}

// tracked reports whether c (possibly a *tls.Conn over an AcceptListener
// connection) is already counted.
func tracked(c net.Conn) bool {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	_, ok := c.(*trackedConn)
	return ok
}
