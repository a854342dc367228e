package sipserver

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/capture"
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
	jobs     chan func() // bounded queue in front of the workers
	busy     atomic.Int64

	retryAfter string
	serverName string
	onPanic    func(where string, v any)
	overloaded atomic.Uint64
	tap        *capture.Tap // sees the datagrams handled here; may be nil
}

func newStateless(ctx context.Context, log *slog.Logger, l Limits, serverName string, onPanic func(string, any)) *stateless {
	s := &stateless{
		handlers: map[string]Responder{}, log: log, ctx: ctx,
		cache:      newAnswerCache(timerJ, l.CacheEntries, l.CacheBytes),
		jobs:       make(chan func(), l.Queue),
		retryAfter: strconv.Itoa(int(l.RetryAfter / time.Second)),
		serverName: serverName,
		onPanic:    onPanic,
	}
	// A fixed pool: a flood queues (and then gets 503), it does not start
	// goroutines. Workers outlive their jobs, so their stacks (grown once
	// by the store and digest code) are reused.
	for range l.Workers {
		s.wg.Add(1)
		go s.work()
	}
	return s
}

func (s *stateless) work() {
	defer s.wg.Done()
	for {
		select {
		case job := <-s.jobs:
			s.busy.Add(1)
			job()
			s.busy.Add(-1)
		case <-s.ctx.Done():
			return
		}
	}
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
	if s.tap != nil {
		s.tap.Datagram(capture.In, conn.LocalAddr(), from, msg)
	}
	// RFC 3261 §17.2.3: the branch, sent-by and method identify the
	// transaction.
	key := branch + "|" + via.Host + ":" + strconv.Itoa(via.Port) + "|" + h.Method
	switch answer, state := s.cache.begin(key); state {
	case inFlight:
		return true
	case answered:
		if _, err := conn.WriteTo(answer, dest); err == nil && s.tap != nil {
			s.tap.Datagram(capture.Out, conn.LocalAddr(), dest, answer)
		}
		return true
	}
	encode := func(res *sip.Response) []byte {
		var buf bytes.Buffer
		res.StringWrite(&buf)
		return buf.Bytes()
	}
	write := func(out []byte) {
		if _, err := conn.WriteTo(out, dest); err != nil {
			s.log.Debug("udp write", "to", dest, "error", err)
		} else if s.tap != nil {
			s.tap.Datagram(capture.Out, conn.LocalAddr(), dest, out)
		}
	}
	serve := func() {
		defer func() {
			if v := recover(); v != nil {
				// The transaction ends with 500 (RFC 3261 §21.5.1); the
				// process and the other transactions go on.
				s.onPanic(h.Method, v)
				s.cache.forget(key)
				write(encode(s.reply(req, sip.StatusInternalServerError, "Server Internal Error")))
			}
		}()
		res := handler(s.ctx, req)
		if res == nil {
			s.cache.forget(key)
			return
		}
		// The cache is settled before the answer leaves, so that what the
		// client sees next (a retransmission's answer, the counters) is
		// consistent with it.
		out := encode(res)
		if mustRemember(req, res) {
			s.cache.finish(key, out)
		} else {
			s.cache.forget(key)
		}
		write(out)
	}
	// The handler may wait for the store (group commit), so it runs on a
	// worker and the reader goes back to the socket. With every worker
	// busy and the queue full the request is refused at once (RFC 3261
	// §21.5.4): the client retries after Retry-After instead of the
	// gateway queueing without bound.
	select {
	case s.jobs <- serve:
	default:
		s.overloaded.Add(1)
		s.cache.forget(key)
		write(encode(s.unavailable(req)))
	}
	return true
}

// mustRemember reports whether res must be replayed to a retransmission of
// req rather than recomputed: a 2xx changed state (a second run would see
// its own binding), and any other answer to a request with credentials
// (other than the refusals of the credentials themselves) consumed a nonce
// count. Challenges and refusals made before authentication are answered
// alike the second time, so a flood of bad requests leaves nothing behind.
func mustRemember(req *sip.Request, res *sip.Response) bool {
	if res.IsSuccess() {
		return true
	}
	switch res.StatusCode {
	case sip.StatusUnauthorized, sip.StatusProxyAuthRequired, sip.StatusForbidden, sip.StatusNotFound,
		sip.StatusServiceUnavailable, sip.StatusInternalServerError:
		return false
	}
	return req.GetHeader("Authorization") != nil || req.GetHeader("Proxy-Authorization") != nil
}

// reply builds a response of the server itself.
func (s *stateless) reply(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader("Server", s.serverName))
	return res
}

// unavailable is the 503 of a full pool (RFC 3261 §21.5.4, §20.33).
func (s *stateless) unavailable(req *sip.Request) *sip.Response {
	res := s.reply(req, sip.StatusServiceUnavailable, "Service Unavailable")
	res.AppendHeader(sip.NewHeader("Retry-After", s.retryAfter))
	return res
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
