package relay

import (
	"math/rand/v2"
	"sync"
)

// portPool hands out the even RTP port of each even/odd pair in a range
// (RFC 3550 §11: RTP on an even port, RTCP on the next odd one).
//
// Free pairs are a FIFO: a released pair goes to the back, so a port is
// reused late and stray packets of an ended call rarely reach a new one. The
// pair handed out is a random one of the older half of the FIFO, not its
// head: ports come in no order an attacker could follow from the SDP of one
// call to guess the next call's (math/rand/v2's generator is ChaCha8, seeded
// by the runtime from the system's entropy).
type portPool struct {
	mu   sync.Mutex
	free []int // ring buffer of free even ports
	head int   // index of the next port to hand out
	n    int   // number of free ports in the ring
	used map[int]bool
}

func newPortPool(minPort, maxPort int) *portPool {
	first := minPort + minPort%2
	p := &portPool{used: make(map[int]bool)}
	for port := first; port+1 <= maxPort; port += 2 {
		p.free = append(p.free, port)
	}
	p.n = len(p.free)
	return p
}

// get takes the next free pair; ok is false when none is left.
func (p *portPool) get() (port int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return 0, false
	}
	k := (p.head + rand.IntN((p.n+1)/2)) % len(p.free)
	p.free[p.head], p.free[k] = p.free[k], p.free[p.head]
	port = p.free[p.head]
	p.head = (p.head + 1) % len(p.free)
	p.n--
	p.used[port] = true
	return port, true
}

// put gives a pair back. Ports that were not handed out are ignored.
func (p *portPool) put(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.used[port] {
		return
	}
	delete(p.used, port)
	p.free[(p.head+p.n)%len(p.free)] = port
	p.n++
}

// size is the number of pairs in the range.
func (p *portPool) size() int { return len(p.free) }
