package turn

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/logging"
	"github.com/pion/stun/v4"
)

// TURN over DTLS (RFC 7350 §4.1: turns: on port 5349 over UDP, beside TLS
// on TCP 5349). pion/dtls terminates DTLS; the DTLS connections reach
// pion/turn as one packet conn (dtlsPacketConn), so pion serves them as it
// serves UDP: a datagram in, a datagram out, the client known by its UDP
// address. (pion's listener path reads every connection through its stream
// framing, which waits for the padding that ChannelData over DTLS need not
// carry, RFC 8656 §12.5, and for 9 bytes before it frames anything.)
//
//   - one DTLS record is one message: a STUN message whose length fills the
//     record, or ChannelData whose length fits in it (RFC 8656 §12.4);
//     anything else is dropped and counted;
//   - the handshake runs with a deadline (pion/dtls's own has none), the
//     guardedListener caps connections per source and in all and closes
//     idle ones;
//   - STUN requests count against the source's rate: over it, the
//     connection is closed, as on TCP and TLS.

// dtlsConfig is the DTLS server's configuration from the TLS one: its
// certificate(s), extended master secret required (RFC 7627), pion's log
// to ours (at debug: a client's bad record is not the operator's error).
func dtlsConfig(tc *tls.Config, log logging.LoggerFactory) *dtls.Config {
	c := &dtls.Config{
		Certificates:         tc.Certificates,
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		LoggerFactory:        log,
	}
	if tc.GetCertificate != nil {
		get := tc.GetCertificate
		c.GetCertificate = func(h *dtls.ClientHelloInfo) (*tls.Certificate, error) {
			return get(&tls.ClientHelloInfo{ServerName: h.ServerName})
		}
	}
	return c
}

// listenDTLS opens a DTLS listener on addr (UDP).
func listenDTLS(addr string, tc *tls.Config, log logging.LoggerFactory) (net.Listener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	return dtls.Listen("udp", ua, dtlsConfig(tc, log)) //nolint:staticcheck // the Config form: the certificate comes as a tls.Config
}

// maxDatagram is the largest DTLS record payload read (RFC 6347 §4.1:
// 2^14 bytes of plaintext).
const maxDatagram = 1 << 14

// dtlsQueue is how many messages from all DTLS clients wait for pion's
// reader; past it a connection's reader waits (the client's records then
// queue in its socket, which drops them when full, as UDP does).
const dtlsQueue = 1024

// errDTLSClosed is ReadFrom's error once the packet conn is closed.
var errDTLSClosed = errors.New("turn: dtls listener closed")

// dtlsMsg is one message from a DTLS client.
type dtlsMsg struct {
	b    []byte
	from net.Addr
}

// dtlsPacketConn serves every DTLS connection of a listener as one
// net.PacketConn: ReadFrom gives the next message of any connection with
// the connection's remote address, WriteTo sends on the connection of
// that address.
type dtlsPacketConn struct {
	ln          net.Listener // the guardedListener over the DTLS listener
	handshake   time.Duration
	lim         *sourceLimiter
	rateLimited *atomic.Uint64
	dropped     *atomic.Uint64

	in     chan dtlsMsg
	done   chan struct{}
	closed sync.Once
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[string]net.Conn // by remote address
}

func newDTLSPacketConn(ln net.Listener, handshake time.Duration, lim *sourceLimiter, rateLimited, dropped *atomic.Uint64) *dtlsPacketConn {
	c := &dtlsPacketConn{ln: ln, handshake: handshake, lim: lim, rateLimited: rateLimited, dropped: dropped,
		in: make(chan dtlsMsg, dtlsQueue), done: make(chan struct{}), conns: map[string]net.Conn{}}
	c.wg.Add(1)
	go c.accept()
	return c
}

func (c *dtlsPacketConn) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			select {
			case <-c.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // one client's failed accept ends nothing
		}
		c.wg.Add(1)
		go c.serve(conn)
	}
}

// serve runs one DTLS connection: the handshake within its deadline, then
// its records into c.in until it ends.
func (c *dtlsPacketConn) serve(conn net.Conn) {
	defer c.wg.Done()
	defer conn.Close()
	if err := handshakeDTLS(conn, c.handshake); err != nil {
		return
	}
	key := conn.RemoteAddr().String()
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return
	default:
	}
	if old := c.conns[key]; old != nil {
		_ = old.Close() // the same address again: the newer session wins
	}
	c.conns[key] = conn
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.conns[key] == conn {
			delete(c.conns, key)
		}
		c.mu.Unlock()
	}()
	ip := remoteIP(conn)
	buf := make([]byte, maxDatagram)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		msg, ok := frameDatagram(buf[:n])
		if !ok {
			c.dropped.Add(1)
			continue
		}
		if isRequestOrJunk(msg) && !c.lim.allow(ip, time.Now()) {
			c.rateLimited.Add(1)
			return
		}
		select {
		case c.in <- dtlsMsg{b: append([]byte(nil), msg...), from: conn.RemoteAddr()}:
		case <-c.done:
			return
		}
	}
}

// handshakeDTLS completes the DTLS handshake of conn (under its guard)
// within d.
func handshakeDTLS(conn net.Conn, d time.Duration) error {
	inner := conn
	if g, ok := inner.(*guardedConn); ok {
		inner = g.Conn
	}
	h, ok := inner.(interface {
		HandshakeContext(ctx context.Context) error
	})
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := h.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("turn: dtls handshake: %w", err)
	}
	return nil
}

// ReadFrom implements net.PacketConn: the next message of any client.
func (c *dtlsPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case m := <-c.in:
		if len(m.b) > len(p) {
			c.dropped.Add(1)
			return 0, m.from, nil // pion skips an empty read
		}
		return copy(p, m.b), m.from, nil
	case <-c.done:
		return 0, nil, errDTLSClosed
	}
}

// WriteTo implements net.PacketConn: to the DTLS connection of addr.
func (c *dtlsPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	conn := c.conns[addr.String()]
	c.mu.Unlock()
	if conn == nil {
		return 0, fmt.Errorf("turn: no dtls connection from %s: %w", addr, net.ErrClosed)
	}
	return conn.Write(p)
}

// Close ends the listener, every connection and the goroutines.
func (c *dtlsPacketConn) Close() error {
	var err error
	c.closed.Do(func() {
		close(c.done)
		err = c.ln.Close()
		if gl, ok := c.ln.(*guardedListener); ok {
			gl.closeAll()
		}
		c.mu.Lock()
		for _, conn := range c.conns {
			_ = conn.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return err
}

// LocalAddr implements net.PacketConn.
func (c *dtlsPacketConn) LocalAddr() net.Addr { return c.ln.Addr() }

// SetDeadline and its kin implement net.PacketConn; pion sets none on a
// listener's conn, and a deadline on the mux would stall every client.
func (c *dtlsPacketConn) SetDeadline(time.Time) error      { return nil }
func (c *dtlsPacketConn) SetReadDeadline(time.Time) error  { return nil }
func (c *dtlsPacketConn) SetWriteDeadline(time.Time) error { return nil }

// frameDatagram is the TURN message a DTLS record holds: a STUN message
// whose header length + 20 is the record's size (RFC 8489 §5), or
// ChannelData (RFC 8656 §12.4) whose data fits in the record, padding
// optional (§12.5): the bytes past its data are cut. ok is false for
// anything else. Channels are 0x4000-0x7FFF, as pion binds them: RFC 8656
// §12 narrowed the range to 0x4FFF, but RFC 5766 clients (coturn's
// turnutils_uclient) pick from the whole of it; with 0x4FFF their data
// was dropped here while their ChannelBind succeeded.
func frameDatagram(b []byte) (msg []byte, ok bool) {
	switch {
	case len(b) >= 20 && b[0]&0xC0 == 0 && stun.IsMessage(b): // the two top bits zero (RFC 8489 §5)
		if int(binary.BigEndian.Uint16(b[2:4]))+20 != len(b) {
			return nil, false
		}
		return b, true
	case len(b) >= 4 && b[0]&0xC0 == 0x40: // 0x4000-0x7FFF
		n := 4 + int(binary.BigEndian.Uint16(b[2:4]))
		if n > len(b) || len(b)-n > 3 {
			return nil, false // truncated, or more than padding after it
		}
		return b[:n], true
	}
	return nil, false
}
