package sipserver

import (
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// workerIdle is how long a handler goroutine waits for the next request
// before it ends.
const workerIdle = 10 * time.Second

// workers runs the request handlers on goroutines kept from one request to
// the next. sipgo starts a fresh goroutine for every request, with the
// runtime's small starting stack; the B2BUA's INVITE handler (digest,
// routing, the B-leg, SDP, CTI events) needs several times that, and
// growing a stack copies it each time it doubles: that copying was 6-8 %
// of the gateway's CPU under the bench-calls load. A kept goroutine's stack
// has already grown, so a handler pays for it once per goroutine instead
// of once per request. sipgo's goroutine waits while the handler runs, so
// the handler still runs in order with what sipgo does around it.
type workers struct {
	jobs chan *job // idle workers receive here
	pool sync.Pool // *job

	mu     sync.Mutex // guards closed and wg.Add against stop
	closed bool
	stopc  chan struct{}
	wg     sync.WaitGroup
}

type job struct {
	h    sipgo.RequestHandler
	req  *sip.Request
	tx   sip.ServerTransaction
	done chan struct{} // one slot: the worker's signal that h returned
}

func newWorkers() *workers {
	return &workers{jobs: make(chan *job), stopc: make(chan struct{}),
		pool: sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}}
}

// run calls h(req, tx) on a kept goroutine (a new one if none is idle) and
// waits for it to return. A panic in h is h's own to recover (guarded
// does): one that escapes ends the process, as it would in sipgo's
// goroutine. After stop, h runs on the caller's goroutine.
func (w *workers) run(h sipgo.RequestHandler, req *sip.Request, tx sip.ServerTransaction) {
	j := w.pool.Get().(*job)
	j.h, j.req, j.tx = h, req, tx
	select {
	case w.jobs <- j:
	default:
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			j.h, j.req, j.tx = nil, nil, nil
			w.pool.Put(j)
			h(req, tx)
			return
		}
		w.wg.Add(1)
		w.mu.Unlock()
		go w.loop(j)
	}
	<-j.done
	j.h, j.req, j.tx = nil, nil, nil
	w.pool.Put(j)
}

func (w *workers) loop(j *job) {
	defer w.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		j.h(j.req, j.tx)
		j.done <- struct{}{}
		idle.Reset(workerIdle)
		select {
		case <-w.stopc:
			return
		default:
		}
		select {
		case j = <-w.jobs:
		case <-idle.C:
			return
		case <-w.stopc:
			return
		}
	}
}

// stop ends the idle workers and waits for the busy ones to finish their
// request; later requests run on sipgo's goroutine.
func (w *workers) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stopc)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
