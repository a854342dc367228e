package turn

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// errRateLimited ends a TCP/TLS connection whose source sent requests over
// its rate.
var errRateLimited = errors.New("turn: source over its request rate")

// maxSources bounds the per-source tables: past it they start afresh, so a
// flood of spoofed sources costs memory once, not without end.
const maxSources = 65536

// sourceLimiter is a token bucket of STUN requests per source IP address.
type sourceLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	sources map[netip.Addr]*srcBucket
}

type srcBucket struct {
	tokens float64
	last   time.Time
}

func newSourceLimiter(perSecond, burst int) *sourceLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &sourceLimiter{rate: float64(perSecond), burst: float64(max(burst, 1)), sources: map[netip.Addr]*srcBucket{}}
}

func (l *sourceLimiter) allow(ip netip.Addr, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.sources[ip]
	if !ok {
		if len(l.sources) >= maxSources {
			clear(l.sources)
		}
		b = &srcBucket{tokens: l.burst, last: now}
		l.sources[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// isRequestOrJunk reports whether a datagram counts against the source's
// request rate: anything but ChannelData (first two bits 01, RFC 8656 §12.4)
// and STUN indications (Send, the data path of RFC 8656 §11).
func isRequestOrJunk(p []byte) bool {
	if len(p) < 4 {
		return true
	}
	if p[0]&0xC0 == 0x40 {
		return false // ChannelData
	}
	t := uint16(p[0])<<8 | uint16(p[1])
	class := (t>>4)&1 | (t>>7)&2 // RFC 8489 §5: C0 is bit 4, C1 bit 8
	return class != 1
}

// guardedPacketConn is a UDP listener that drops, before pion parses them,
// STUN requests from sources over their rate.
type guardedPacketConn struct {
	net.PacketConn
	lim     *sourceLimiter
	dropped *atomic.Uint64
}

func (c *guardedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || c.lim == nil || !isRequestOrJunk(p[:n]) {
			return n, addr, err
		}
		if ua, ok := addr.(*net.UDPAddr); ok {
			ip, _ := netip.AddrFromSlice(ua.IP)
			if !c.lim.allow(ip.Unmap(), time.Now()) {
				c.dropped.Add(1)
				continue
			}
		}
		return n, addr, nil
	}
}

// guardedListener caps TCP (and TLS) connections per source IP address and
// in all, and closes connections idle for too long: nothing in the first
// firstByte, nothing for idle after that.
type guardedListener struct {
	net.Listener
	perIP, total    int
	firstByte, idle time.Duration
	refused         *atomic.Uint64

	mu    sync.Mutex
	conns map[netip.Addr]int
	live  map[*guardedConn]struct{}
	open  int
	shut  bool
}

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		if (l.total > 0 && l.open >= l.total) || (l.perIP > 0 && l.conns[ip] >= l.perIP) {
			l.mu.Unlock()
			l.refused.Add(1)
			_ = c.Close()
			continue
		}
		if l.shut {
			l.mu.Unlock()
			_ = c.Close()
			return nil, net.ErrClosed
		}
		l.open++
		l.conns[ip]++
		gc := &guardedConn{Conn: c, l: l, ip: ip}
		l.live[gc] = struct{}{}
		l.mu.Unlock()
		_ = c.SetReadDeadline(time.Now().Add(l.firstByte))
		return gc, nil
	}
}

func (l *guardedListener) release(c *guardedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ip := c.ip
	delete(l.live, c)
	l.open--
	if l.conns[ip]--; l.conns[ip] <= 0 {
		delete(l.conns, ip)
	}
}

func remoteIP(c net.Conn) netip.Addr {
	switch a := c.RemoteAddr().(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr: // DTLS (dtls.go)
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// guardedConn moves its read deadline on with each read.
type guardedConn struct {
	net.Conn
	l      *guardedListener
	ip     netip.Addr
	closed sync.Once
}

func (c *guardedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.l.idle))
	}
	return n, err
}

// meteredListener wraps each connection of a TCP listener, or a TLS
// listener above the handshake, in a meteredConn.
type meteredListener struct {
	net.Listener
	lim         *sourceLimiter
	rateLimited *atomic.Uint64
}

func (l *meteredListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &meteredConn{Conn: c, ip: remoteIP(c), lim: l.lim, rateLimited: l.rateLimited}, nil
}

// meteredConn ends a connection whose bytes cannot be framed as STUN and
// ChannelData, or whose source sends STUN requests over its rate (the
// same per-source budget as on UDP). It reads plaintext: over TLS it sits
// above the handshake (so pion does not see a *tls.Conn and hands no TLS
// state to the auth handler, which does not use it).
type meteredConn struct {
	net.Conn
	ip          netip.Addr
	lim         *sourceLimiter
	rateLimited *atomic.Uint64
	meter       streamMeter
}

func (c *meteredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		reqs, ferr := c.meter.feed(p[:n])
		if ferr != nil {
			_ = c.Close()
			return 0, ferr
		}
		for range reqs {
			if !c.lim.allow(c.ip, time.Now()) {
				c.rateLimited.Add(1)
				_ = c.Close()
				return 0, errRateLimited
			}
		}
	}
	return n, err
}

func (c *guardedConn) Close() error {
	c.closed.Do(func() { c.l.release(c) })
	return c.Conn.Close()
}

// closeAll closes the listener's connections and refuses new ones.
func (l *guardedListener) closeAll() {
	l.mu.Lock()
	l.shut = true
	live := make([]*guardedConn, 0, len(l.live))
	for c := range l.live {
		live = append(live, c)
	}
	l.mu.Unlock()
	for _, c := range live {
		_ = c.Close()
	}
}
