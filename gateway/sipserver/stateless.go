package sipserver

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/sipguard"
)

// Responder answers a request without a sipgo transaction: it returns the
// final response to send, or nil to send none.
type Responder func(ctx context.Context, req *sip.Request) *sip.Response

// timerJ is how long a non-INVITE server transaction absorbs retransmissions
// over UDP (RFC 3261 §17.2.2: 64*T1).
const timerJ = 32 * time.Second

// stateless serves chosen methods over UDP straight from the socket reader,
// without sipgo's transaction layer: the registrar's REGISTER is the hot path
// of a gateway that thousands of phones re-register with, and a full
// transaction (goroutine, state machine, timers) per REGISTER costs more
// than the registration itself.
//
// It still behaves as a server transaction towards the client (RFC 3261
// §17.2.2): a retransmission that arrives while its request is being handled
// is absorbed, and one that arrives after the answer gets the same answer
// again, for Timer J. Only answers that changed state (2xx and failures after
// authentication) need remembering; a retransmitted request that was
// challenged is simply challenged again, which is what a stateless server
// does (RFC 3261 §8.2.7).
type stateless struct {
	handlers map[string]Responder
	log      *slog.Logger
	cache    *answerCache
	wg       sync.WaitGroup
	ctx      context.Context
	jobs     chan func() // to idle workers
}

func newStateless(ctx context.Context, log *slog.Logger) *stateless {
	return &stateless{handlers: map[string]Responder{}, log: log, cache: newAnswerCache(timerJ), ctx: ctx, jobs: make(chan func())}
}

// intercept is the sipguard UDPIntercept hook.
func (s *stateless) intercept(conn net.PacketConn, msg []byte, h sipguard.Head, from net.Addr) bool {
	handler := s.handlers[h.Method]
	if handler == nil {
		return false
	}
	parsed, err := sip.ParseMessage(msg)
	if err != nil {
		return false // sipgo will see it, fail too, and log it
	}
	req, ok := parsed.(*sip.Request)
	if !ok {
		return false
	}
	via := req.Via()
	if via == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	if !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) {
		return false // RFC 2543 peers: leave matching to sipgo
	}
	req.SetSource(from.String())
	req.SetTransport("UDP")
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		// The flow (RFC 5626 §3.1): which of our sockets the phone talks to.
		req.Laddr = sip.Addr{IP: la.IP, Port: la.Port}
	}
	dest := responseAddr(via, from)
	// RFC 3261 §17.2.3: the branch, sent-by and method identify the
	// transaction.
	key := branch + "|" + via.Host + ":" + strconv.Itoa(via.Port) + "|" + h.Method
	switch answer, state := s.cache.begin(key); state {
	case inFlight:
		return true
	case answered:
		_, _ = conn.WriteTo(answer, dest)
		return true
	}
	serve := func() {
		res := handler(s.ctx, req)
		if res == nil {
			s.cache.forget(key)
			return
		}
		var buf bytes.Buffer
		res.StringWrite(&buf)
		out := buf.Bytes()
		if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
			s.cache.forget(key) // a fresh challenge does as well as the old one
		} else {
			s.cache.finish(key, out)
		}
		if _, err := conn.WriteTo(out, dest); err != nil {
			s.log.Debug("udp write", "to", dest, "error", err)
		}
	}
	// The handler may wait for the store (group commit), so it runs on its
	// own goroutine and the reader goes back to the socket.
	s.run(serve)
	return true
}

// workerIdle is how long an idle worker waits for the next request.
const workerIdle = 10 * time.Second

// run hands job to an idle worker, or starts one. Workers outlive their
// first job, so their stacks (grown once by the store and digest code) are
// reused instead of being grown again for every request.
func (s *stateless) run(job func()) {
	select {
	case s.jobs <- job:
		return
	default:
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		idle := time.NewTimer(workerIdle)
		defer idle.Stop()
		for {
			job()
			idle.Reset(workerIdle)
			select {
			case job = <-s.jobs:
			case <-idle.C:
				return
			case <-s.ctx.Done():
				return
			}
		}
	}()
}

// wait waits for handlers in flight.
func (s *stateless) wait() { s.wg.Wait() }

// responseAddr is where a UDP response goes: the source port when the client
// asked for rport (RFC 3581 §4), else the Via port at the source address
// (RFC 3261 §18.2.2 with "received").
func responseAddr(via *sip.ViaHeader, from net.Addr) net.Addr {
	ua, ok := from.(*net.UDPAddr)
	if !ok {
		return from
	}
	if via.Params.Has("rport") {
		return ua
	}
	port := via.Port
	if port == 0 {
		port = 5060
	}
	return &net.UDPAddr{IP: ua.IP, Port: port, Zone: ua.Zone}
}

// answerCache remembers answers per transaction key for at least ttl, in
// two generations swapped every ttl (so nothing needs a timer per entry).
type answerCache struct {
	mu       sync.Mutex
	ttl      time.Duration
	swapped  time.Time
	cur, old map[string][]byte // nil value: in flight
	now      func() time.Time
}

type cacheState int

const (
	fresh cacheState = iota
	inFlight
	answered
)

func newAnswerCache(ttl time.Duration) *answerCache {
	return &answerCache{ttl: ttl, cur: map[string][]byte{}, old: map[string][]byte{}, now: time.Now, swapped: time.Now()}
}

// begin looks key up; when it is unknown it is marked in flight.
func (c *answerCache) begin(key string) ([]byte, cacheState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.swapped) >= c.ttl {
		c.old, c.cur, c.swapped = c.cur, make(map[string][]byte, len(c.cur)), now
	}
	v, ok := c.cur[key]
	if !ok {
		v, ok = c.old[key]
	}
	switch {
	case !ok:
		c.cur[key] = nil
		return nil, fresh
	case v == nil:
		return nil, inFlight
	}
	return v, answered
}

func (c *answerCache) finish(key string, answer []byte) {
	c.mu.Lock()
	c.cur[key] = answer
	delete(c.old, key)
	c.mu.Unlock()
}

func (c *answerCache) forget(key string) {
	c.mu.Lock()
	delete(c.cur, key)
	delete(c.old, key)
	c.mu.Unlock()
}
