package sipserver

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Defaults for zero Limits fields.
const (
	DefaultWorkers         = 256
	DefaultQueue           = 4096
	DefaultMaxHandlers     = 8192
	DefaultRetryAfter      = 5 * time.Second
	DefaultMaxTransactions = 10000
)

// Limits bound the work the server takes on, so that a flood costs bounded
// memory and goroutines and is refused with 503 (RFC 3261 §21.5.4) instead
// of queued. Zero fields take the defaults.
type Limits struct {
	// Workers is the fixed pool running the stateless handlers (REGISTER
	// over UDP). Default 256.
	Workers int
	// Queue is how many stateless requests may wait for a worker; further
	// ones get 503 with Retry-After at once. Default 4096.
	Queue int
	// MaxHandlers bounds the sipgo handlers running at once for requests
	// outside a dialog; further ones get 503 with Retry-After (ACK, CANCEL
	// and in-dialog requests are never refused, so calls can always end).
	// A call's INVITE handler runs for the call's life, so this also caps
	// calls in progress. Default 8192.
	MaxHandlers int
	// MaxTransactions is how many sipgo server transactions may live at
	// once before the server stops keeping refused requests (final
	// response 300 or above) for their retransmission timers: past it,
	// such a transaction ends as soon as its answer is sent, instead of
	// absorbing retransmissions for 32 s (RFC 3261 §17.2.1 Timer H,
	// §17.2.2 Timer J). A retransmission is then refused anew, as a
	// stateless server would (RFC 3261 §8.2.7). Default 10000.
	MaxTransactions int
	// CacheEntries and CacheBytes bound the stateless answer cache.
	// Defaults DefaultCacheEntries and DefaultCacheBytes.
	CacheEntries int
	CacheBytes   int
	// RetryAfter is the Retry-After of those 503s, in whole seconds
	// (RFC 3261 §20.33). Default 5s.
	RetryAfter time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.Workers <= 0 {
		l.Workers = DefaultWorkers
	}
	if l.Queue <= 0 {
		l.Queue = DefaultQueue
	}
	if l.MaxHandlers <= 0 {
		l.MaxHandlers = DefaultMaxHandlers
	}
	if l.MaxTransactions <= 0 {
		l.MaxTransactions = DefaultMaxTransactions
	}
	if l.CacheEntries <= 0 {
		l.CacheEntries = DefaultCacheEntries
	}
	if l.CacheBytes <= 0 {
		l.CacheBytes = DefaultCacheBytes
	}
	if l.RetryAfter < time.Second {
		l.RetryAfter = DefaultRetryAfter
	}
	return l
}

// Stats are the server's counters and gauges.
type Stats struct {
	Panics       uint64 // handler panics recovered
	Overloaded   uint64 // requests answered 503 because a pool was full
	Handlers     int64  // sipgo handlers running now
	Transactions int64  // sipgo server transactions alive now
	Shed         uint64 // refused requests whose transaction ended at once (MaxTransactions)
	Workers      int64  // stateless workers busy now
	Queued       int    // stateless requests waiting for a worker
	CacheEntries int64  // answers and in-flight marks in the stateless cache
	CacheBytes   int64  // their size, as the cache bounds it
	CacheSkipped uint64 // entries not remembered because the cache was full
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := s.stateless
	return Stats{
		Panics:       s.panics.Load(),
		Overloaded:   s.overloaded.Load() + st.overloaded.Load(),
		Handlers:     s.running.Load(),
		Transactions: s.liveTx.Load(),
		Shed:         s.shed.Load(),
		Workers:      st.busy.Load(),
		Queued:       len(st.jobs),
		CacheEntries: st.cache.entries.Load(),
		CacheBytes:   st.cache.bytes.Load(),
		CacheSkipped: st.cache.skipped.Load(),
	}
}

// recovered logs a handler panic with its stack and counts it.
func (s *Server) recovered(where string, v any) {
	s.panics.Add(1)
	s.log.Error("handler panicked; its transaction ends, the process goes on",
		"method", where, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// guarded wraps a sipgo handler at the handler boundary: past MaxHandlers
// running handlers the request gets 503 with Retry-After; a panic ends the
// handler's transaction with 500 when no final response went out yet
// (RFC 3261 §21.5.1) and is logged and counted. A goroutine the handler
// started is not covered: it must recover on its own.
func (s *Server) guarded(method sip.RequestMethod, h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.settleKept(req) // trying.go
		if bad := unsupportedRequire(method, req); len(bad) > 0 {
			if tx != nil {
				_ = tx.Respond(s.badExtension(req, bad))
			}
			return
		}
		if gated(req) {
			if s.running.Add(1) > int64(s.limits.MaxHandlers) {
				s.running.Add(-1)
				s.overloaded.Add(1)
				res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable", nil)
				res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(int(s.limits.RetryAfter/time.Second))))
				res.AppendHeader(sip.NewHeader("Server", s.o.ServerName))
				if tx != nil {
					_ = tx.Respond(res)
				}
				return
			}
			defer s.running.Add(-1)
		}
		var ft *finalTracker
		if tx != nil {
			ft = &finalTracker{ServerTransaction: tx, s: s, req: req}
			if req.IsInvite() {
				ft.armTrying() // RFC 3261 §17.2.1 (trying.go)
			}
			tx = ft
			s.liveTx.Add(1)
			if !ft.OnTerminate(func(string, error) { s.liveTx.Add(-1) }) {
				s.liveTx.Add(-1)
			}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			s.recovered(string(method), v)
			if ft != nil && !ft.final.Load() {
				res := sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil)
				res.AppendHeader(sip.NewHeader("Server", s.o.ServerName))
				_ = ft.ServerTransaction.Respond(res)
			}
		}()
		h(req, tx)
		if ft != nil && ft.code.Load() >= 300 && s.liveTx.Load() > int64(s.limits.MaxTransactions) {
			select {
			case <-ft.Done(): // the handler ended it already
			default:
				s.shed.Add(1)
				ft.ServerTransaction.Terminate()
			}
		}
	}
}

// gated reports whether req counts against MaxHandlers: requests that may
// start something (a dialog, a registration, a subscription). ACK, CANCEL
// and in-dialog requests (a To tag) are never refused, so that calls can
// always be answered, cancelled and hung up when the limit is reached
// (often by the calls themselves); they end quickly, with 481 when they
// match nothing.
func gated(req *sip.Request) bool {
	switch req.Method {
	case sip.ACK, sip.CANCEL:
		return false
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		return false
	}
	return true
}
