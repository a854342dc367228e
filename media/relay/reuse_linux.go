//go:build linux && !relaygoroutines

package relay

import (
	"math/rand/v2"
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

// idlePairs is the FIFO of resting pairs of a Relay.
type idlePairs struct {
	mu     sync.Mutex
	q      []idlePair // oldest first
	closed bool       // Relay.Close has run: nothing rests any more
}

// reuse takes a random one of the pairs that have rested long enough, or
// the oldest whatever its rest when force is set (the port range has no
// other pair left). Random, so that the ports of the next call cannot be
// guessed from the order calls ended (an attacker's own call among them).
// The sockets come back as new sock values (a worker may still hold the old
// ones from a stale epoll event; they keep pointing at the ended session).
func (r *Relay) reuse(force bool) (port int, rtp, rtcp *sock, ok bool) {
	p := &r.io.idle
	p.mu.Lock()
	// Rested pairs are a prefix of q: q is in the order pairs retired, and a
	// pick only moves the oldest pair into the prefix.
	now := time.Now()
	rested := sort.Search(len(p.q), func(i int) bool { return now.Sub(p.q[i].since) < reuseAfter })
	if len(p.q) == 0 || (!force && rested == 0) {
		p.mu.Unlock()
		return 0, nil, nil, false
	}
	if rested > 1 {
		k := rand.IntN(rested)
		p.q[0], p.q[k] = p.q[k], p.q[0]
	}
	ip := p.q[0]
	p.q[0] = idlePair{}
	p.q = p.q[1:]
	p.mu.Unlock()
	drain(ip.rtp.fd)
	drain(ip.rtcp.fd)
	fresh := func(k *sock) *sock { return &sock{fd: k.fd, port: k.port, v6: k.v6, local: k.local} }
	return ip.port, fresh(ip.rtp), fresh(ip.rtcp), true
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
	p.q = append(p.q, idlePair{port: side.port, rtp: side.rtpSock, rtcp: side.rtcp, since: time.Now()})
	var evict []idlePair
	if n := len(p.q) - maxIdlePairs; n > 0 {
		evict = append(evict, p.q[:n]...)
		p.q = p.q[n:]
	}
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
	q := p.q
	p.q, p.closed = nil, true
	p.mu.Unlock()
	for _, e := range q {
		r.closePair(e.port, e.rtp, e.rtcp)
	}
}

// idleLen is the number of resting pairs (tests).
func (r *Relay) idleLen() int {
	r.io.idle.mu.Lock()
	defer r.io.idle.mu.Unlock()
	return len(r.io.idle.q)
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
