package turn

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"
)

// relayGen makes the relay sockets of allocations (RFC 8656 §7.2: "the
// server ... allocates a relayed transport address"). UDP relays are
// wrapped in a relayConn that counts and caps what passes; TCP relays
// (RFC 6062) are pion's own sockets.
type relayGen struct {
	s     *Server
	inner turn.RelayAddressGenerator
}

func newRelayGen(s *Server, relayIP net.IP, bind string, minPort, maxPort int) *relayGen {
	var inner turn.RelayAddressGenerator
	if minPort == 0 {
		inner = &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: bind}
	} else {
		inner = &turn.RelayAddressGeneratorPortRange{RelayAddress: relayIP, Address: bind,
			MinPort: uint16(minPort), MaxPort: uint16(maxPort), MaxRetries: 32} //nolint:gosec // validated 1024-65535
	}
	return &relayGen{s: s, inner: inner}
}

func (g *relayGen) Validate() error { return g.inner.Validate() }

func (g *relayGen) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	pc, addr, err := g.inner.AllocatePacketConn(c)
	if err != nil {
		g.s.stats.relayFailures.Add(1)
		return nil, nil, err
	}
	setSocketBuffers(pc, relaySocketBuffer)
	rc := newRelayConn(pc, g.s, g.s.opts.MaxBitrate)
	g.s.allocs.attachConn(addr.String(), rc)
	return rc, addr, nil
}

func (g *relayGen) AllocateListener(c turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	ln, addr, err := g.inner.AllocateListener(c)
	if err != nil {
		g.s.stats.relayFailures.Add(1)
	}
	return ln, addr, err
}

func (g *relayGen) AllocateConn(c turn.AllocateConnConfig) (net.Conn, error) {
	if a, ok := c.RemoteAddr.(*net.TCPAddr); ok && !g.s.peers.allowedIP(a.IP) {
		g.s.stats.deniedPeers.Add(1)
		return nil, errPeerDenied
	}
	return g.inner.AllocateConn(c)
}

// relayConn is one UDP allocation's relay socket: WriteTo carries the
// client's data to a peer, ReadFrom the peers' data to the client. It counts
// both ways and drops what exceeds the allocation's bandwidth cap.
type relayConn struct {
	net.PacketConn
	s           *Server
	out, in     bucket // client → peer, peer → client
	bytesOut    atomic.Uint64
	bytesIn     atomic.Uint64
	packetsOut  atomic.Uint64
	packetsIn   atomic.Uint64
	droppedRate atomic.Uint64
}

func newRelayConn(pc net.PacketConn, s *Server, bitsPerSecond int64) *relayConn {
	rc := &relayConn{PacketConn: pc, s: s}
	rc.out.init(bitsPerSecond)
	rc.in.init(bitsPerSecond)
	return rc
}

// WriteTo sends a client's packet to peer. A packet over the cap, or to a
// peer the filter denies (pion checked the permission already; this is the
// last gate), is dropped and reported as sent: UDP gives no such signal.
func (c *relayConn) WriteTo(p []byte, peer net.Addr) (int, error) {
	if a, ok := peer.(*net.UDPAddr); ok && !c.s.peers.allowedIP(a.IP) {
		c.s.stats.deniedPeers.Add(1)
		return len(p), nil
	}
	if !c.out.take(len(p), time.Now()) {
		c.droppedRate.Add(1)
		c.s.stats.droppedRate.Add(1)
		return len(p), nil
	}
	n, err := c.PacketConn.WriteTo(p, peer)
	if err == nil {
		c.bytesOut.Add(uint64(n))
		c.packetsOut.Add(1)
		c.s.stats.bytesOut.Add(uint64(n))
		c.s.stats.packetsOut.Add(1)
	}
	return n, err
}

// ReadFrom returns the next packet from a peer that fits the cap.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		if !c.in.take(n, time.Now()) {
			c.droppedRate.Add(1)
			c.s.stats.droppedRate.Add(1)
			continue
		}
		c.bytesIn.Add(uint64(n))
		c.packetsIn.Add(1)
		c.s.stats.bytesIn.Add(uint64(n))
		c.s.stats.packetsIn.Add(1)
		return n, addr, nil
	}
}

// bucket is a token bucket of bytes: rate bytes a second, one second's
// worth of burst (at least two full-size packets). rate 0 lets all through.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  float64
	tokens float64
	last   time.Time
}

func (b *bucket) init(bitsPerSecond int64) {
	if bitsPerSecond <= 0 {
		return
	}
	b.rate = float64(bitsPerSecond) / 8
	b.burst = max(b.rate, 2*1600)
	b.tokens = b.burst
}

// take spends n bytes if the bucket holds them.
func (b *bucket) take(n int, now time.Time) bool {
	if b.rate == 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// Close closes the relay socket.
func (c *relayConn) Close() error {
	c.s.allocs.dropPending(c)
	return c.PacketConn.Close()
}
