//go:build linux && !relaygoroutines

package relay

import (
	"math/rand/v2"
	"net/netip"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Socket reuse (Linux engine). A call opens four sockets and closes them
// when it ends: socket, two setsockopt, bind and getsockname each, then
// close — some twenty system calls a call, a tenth of the gateway's work per
// call in the calls benchmark. So a session's sockets are not closed when it
// ends: the pair stays bound, out of epoll, in a FIFO of idle pairs, and the
// next session takes a random idle pair of those that rested reuseAfter,
// draining whatever datagrams reached it meanwhile. The wait keeps the
// reason the port pool is a FIFO (portPool): the far ends of an ended call
// stop sending within a round trip of its BYE, long before reuseAfter, so
// their last packets are drained, not latched by the next call.
//
// At most maxIdlePairs pairs rest; the oldest beyond that is closed and its
// port pair goes back to the port pool. Relay.Close closes them all.

// reuseAfter is how long a pair rests before another session may take it.
var reuseAfter = 250 * time.Millisecond

// maxIdlePairs bounds the resting pairs (two file descriptors each): at
// 2,500 calls/s, 5,000 pairs retire a second, 1,250 of them resting at any
// time. It is lowered to a quarter of the file descriptor limit.
var maxIdlePairs = func() int {
	n := 4096
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur/4 < uint64(n) {
		n = int(rl.Cur / 4)
	}
	return n
}()

// idlePair is a resting port pair of an ended session.
type idlePair struct {
	port      int
	rtp, rtcp *sock
	since     time.Time
}

// idlePairs holds the resting pairs of a Relay, one FIFO per bound address
// (a pair bound on the LAN address serves only a side on the LAN address).
type idlePairs struct {
	mu     sync.Mutex
	q      map[netip.Addr][]idlePair // oldest first
	n      int                       // pairs resting, every address
	closed bool                      // Relay.Close has run: nothing rests any more
}

// reuse takes a random one of the pairs bound on ip that have rested long
// enough, or the oldest whatever its rest when force is set (the port range
// has no other pair left). Random, so that the ports of the next call
// cannot be guessed from the order calls ended (an attacker's own call
// among them). The sockets come back as the bare sock values retire made
// (a worker may still hold the old ones from a stale epoll event; they keep
// pointing at the ended session).
func (r *Relay) reuse(ip netip.Addr, force bool) (port int, rtp, rtcp *sock, ok bool) {
	p := &r.io.idle
	p.mu.Lock()
	q := p.q[ip]
	// Rested pairs are a prefix of q: q is in the order pairs retired, and a
	// pick only moves the oldest pair into the prefix.
	now := time.Now()
	rested := sort.Search(len(q), func(i int) bool { return now.Sub(q[i].since) < reuseAfter })
	if len(q) == 0 || (!force && rested == 0) {
		p.mu.Unlock()
		return 0, nil, nil, false
	}
	if rested > 1 {
		k := rand.IntN(rested)
		q[0], q[k] = q[k], q[0]
	}
	ip0 := q[0]
	q[0] = idlePair{}
	p.set(ip, q[1:])
	p.n--
	p.mu.Unlock()
	drain(ip0.rtp.fd)
	drain(ip0.rtcp.fd)
	return ip0.port, ip0.rtp, ip0.rtcp, true
}

// bare is a copy of k without its side: the socket alone, for a pair that
// rests (a worker may still hold k from a stale epoll event; k keeps
// pointing at the ended session, the copy does not).
func (k *sock) bare() *sock {
	return &sock{fd: k.fd, port: k.port, v6: k.v6, bind: k.bind, local: k.local}
}

// set stores q as the FIFO of ip. Called with p.mu held.
func (p *idlePairs) set(ip netip.Addr, q []idlePair) {
	if len(q) == 0 {
		delete(p.q, ip)
		return
	}
	p.q[ip] = q
}

// evictIdle closes the oldest resting pair of any address and returns its
// port, still handed out, for a side on another address: the range has no
// free pair left and none rests on that side's address.
func (r *Relay) evictIdle() (port int, ok bool) {
	p := &r.io.idle
	p.mu.Lock()
	var oldest netip.Addr
	for ip, q := range p.q {
		if !oldest.IsValid() || q[0].since.Before(p.q[oldest][0].since) {
			oldest = ip
		}
	}
	if !oldest.IsValid() {
		p.mu.Unlock()
		return 0, false
	}
	q := p.q[oldest]
	e := q[0]
	q[0] = idlePair{}
	p.set(oldest, q[1:])
	p.n--
	p.mu.Unlock()
	_ = e.rtp.close()
	_ = e.rtcp.close()
	return e.port, true
}

// retire gives the ports of an ended session's side back: its sockets rest
// for reuse, or, when too many rest or the Relay is closed, are closed and
// the pair goes back to the port pool. The sockets are out of epoll and no
// worker handles them (stopIO).
func (r *Relay) retire(side *Side) {
	p := &r.io.idle
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		r.closePair(side.port, side.rtpSock, side.rtcp)
		return
	}
	if p.q == nil {
		p.q = make(map[netip.Addr][]idlePair)
	}
	ip := side.rtpSock.bind
	// The pair rests as bare sockets: the side's own sock values point at
	// the ended session, and through its callbacks at the call that owned
	// it; kept here they held up to maxIdlePairs ended calls in memory.
	q := append(p.q[ip], idlePair{port: side.port, rtp: side.rtpSock.bare(), rtcp: side.rtcp.bare(), since: time.Now()})
	p.n++
	var evict []idlePair
	if n := min(p.n-maxIdlePairs, len(q)); n > 0 {
		evict = append(evict, q[:n]...)
		clear(q[:n])
		q = q[n:]
		p.n -= n
	}
	p.set(ip, q)
	p.mu.Unlock()
	for _, e := range evict {
		r.closePair(e.port, e.rtp, e.rtcp)
	}
}

// dropIdle closes every resting pair; later retired pairs are closed at
// once.
func (r *Relay) dropIdle() {
	p := &r.io.idle
	p.mu.Lock()
	all := p.q
	p.q, p.n, p.closed = nil, 0, true
	p.mu.Unlock()
	for _, q := range all {
		for _, e := range q {
			r.closePair(e.port, e.rtp, e.rtcp)
		}
	}
}

// idleLen is the number of resting pairs (tests).
func (r *Relay) idleLen() int {
	r.io.idle.mu.Lock()
	defer r.io.idle.mu.Unlock()
	return r.io.idle.n
}

func (r *Relay) closePair(port int, rtp, rtcp *sock) {
	_ = rtp.close()
	_ = rtcp.close()
	r.ports.put(port)
}

// drain discards the datagrams queued on a resting socket: a zero-length
// read with MSG_TRUNC drops a whole datagram each time.
func drain(fd int) {
	var b [1]byte
	for range 1 << 12 {
		if _, _, err := unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT|unix.MSG_TRUNC); err != nil {
			return
		}
	}
}
