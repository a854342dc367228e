package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Default WriterOptions values.
const (
	DefaultMaxBatch = 1000
	DefaultMaxDelay = 2 * time.Millisecond
)

// A held batch is checked for growth holdSteps times per MaxDelay, but no
// more often than every minHoldStep.
const (
	holdSteps   = 16
	minHoldStep = 50 * time.Microsecond
)

// WriterOptions tune a Writer. The zero value takes the defaults.
type WriterOptions struct {
	// MaxBatch is the most changes one commit carries. Default 1000. The
	// changes of one Apply call are never split, so a call with more than
	// MaxBatch changes commits on its own.
	MaxBatch int
	// MaxDelay bounds how long the writer holds a batch back to let it
	// grow towards MaxBatch, measured from the arrival of its oldest
	// change. Default 2ms; negative means never hold.
	//
	// A change that arrives while the writer is idle (no commit in flight
	// and none ended within the last MaxDelay/16) is committed at once. A
	// batch that queued up during or just after a commit is held while it
	// keeps growing, checked every MaxDelay/16 (in practice the timer
	// granularity, often about 1ms), and no longer than MaxDelay. At a
	// steady 10,000 changes/s this halves the CPU spent per change, for up
	// to MaxDelay more latency; callers that want the lowest latency and
	// have CPU to spare set it negative.
	MaxDelay time.Duration
}

// Writer batches binding changes from many goroutines into few ApplyBindings
// transactions (group commit). While one commit runs, new changes queue; when
// it finishes, what has queued goes into the next commit. Apply returns only
// once its changes are committed, so a caller may answer 200 OK as soon as it
// returns nil.
//
// One goroutine commits, so batches commit in the order they were formed and
// changes from one goroutine commit in the order it applied them.
type Writer struct {
	s        Store
	maxBatch int
	maxDelay time.Duration
	step     time.Duration // hold step, see hold
	timer    *time.Timer   // hold timer; used by run's goroutine only

	mu     sync.Mutex
	queue  []*request
	queued int  // changes in queue
	closed bool // no more Apply calls are accepted

	wake chan struct{} // capacity 1: queue became non-empty or full, or Close
	done chan struct{} // closed when run returns
}

type request struct {
	changes []BindingChange
	at      time.Time
	taken   bool       // in a batch; guarded by Writer.mu
	result  chan error // capacity 1
}

// NewWriter starts a Writer that commits to s. Close it to stop its
// goroutine; closing the Writer does not close s.
func NewWriter(s Store, opts WriterOptions) *Writer {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	w := &Writer{
		s:        s,
		maxBatch: opts.MaxBatch,
		maxDelay: opts.MaxDelay,
		step:     max(opts.MaxDelay/holdSteps, minHoldStep),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// Apply queues changes and waits until they are committed, in one
// transaction with whatever else shares the batch, and returns the commit's
// error. Invalid changes are rejected at once with an error wrapping
// ErrInvalid, and a Writer that is closed returns an error wrapping
// ErrClosed.
//
// If ctx ends first, Apply returns the context's error. When the changes had
// not yet left the queue they are withdrawn and will not be committed;
// otherwise they may or may not be, and the error says so.
func (w *Writer) Apply(ctx context.Context, changes ...BindingChange) error {
	if len(changes) == 0 {
		return nil
	}
	for _, c := range changes {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{changes: cloneChanges(changes), at: time.Now(), result: make(chan error, 1)}

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return fmt.Errorf("binding writer: %w", ErrClosed)
	}
	w.queue = append(w.queue, r)
	before := w.queued
	w.queued += len(changes)
	// The committer needs a nudge only when it may be idle (first in the
	// queue) or when it may be holding a batch that has just filled up.
	signal := len(w.queue) == 1 || (before < w.maxBatch && w.queued >= w.maxBatch)
	w.mu.Unlock()
	if signal {
		w.poke()
	}

	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
	}
	w.mu.Lock()
	if !r.taken {
		if i := slices.Index(w.queue, r); i >= 0 {
			w.queue = slices.Delete(w.queue, i, i+1)
			w.queued -= len(r.changes)
		}
		w.mu.Unlock()
		return ctx.Err()
	}
	w.mu.Unlock()
	select {
	case err := <-r.result: // finished meanwhile: report the real outcome
		return err
	default:
		return fmt.Errorf("binding writer: commit in flight, outcome unknown: %w", ctx.Err())
	}
}

// Close stops accepting changes, commits everything already queued, and
// returns once the committing goroutine has ended. It is safe to call more
// than once and from several goroutines.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.poke()
	<-w.done
	return nil
}

func (w *Writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run is the committing goroutine.
func (w *Writer) run() {
	defer close(w.done)
	var lastCommit time.Time // when the last commit ended
	for {
		w.mu.Lock()
		// Busy: the queue filled while a commit was in flight, or soon
		// after one.
		busy := time.Since(lastCommit) < w.step
		for len(w.queue) == 0 {
			if w.closed {
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			<-w.wake
			// A change that arrives within a hold step of the last
			// commit is part of the same burst: treat it as queued
			// during that commit, so a steady stream of changes that
			// each commit quicker than the next arrives still shares
			// transactions.
			busy = time.Since(lastCommit) < w.step
			w.mu.Lock()
		}
		if busy && w.maxDelay > 0 {
			w.hold()
			if len(w.queue) == 0 { // every waiter gave up
				w.mu.Unlock()
				continue
			}
		}
		batch := w.take()
		w.mu.Unlock()
		w.commit(batch)
		lastCommit = time.Now()
	}
}

// hold keeps the queued batch back while it is still growing: it waits in
// steps of w.step and stops at the first step that brought no new changes,
// when the batch is full, when the oldest change has waited w.maxDelay, or at
// Close. A steady stream of REGISTERs thus shares transactions, while a
// fixed set of waiting callers (which stop growing the queue once all of them
// have queued) is not held for nothing. w.mu must be held; it is held again
// on return.
func (w *Writer) hold() {
	for !w.closed && w.queued < w.maxBatch && len(w.queue) > 0 {
		wait := time.Until(w.queue[0].at.Add(w.maxDelay))
		if wait <= 0 {
			return
		}
		wait = min(wait, w.step)
		before := w.queued
		w.mu.Unlock()
		if w.timer == nil {
			w.timer = time.NewTimer(wait)
		} else {
			w.timer.Reset(wait)
		}
		w.waitStep(w.timer.C)
		w.mu.Lock()
		if w.queued <= before {
			return
		}
	}
}

// waitStep waits for the hold step's timer, or less if the batch fills up or
// the Writer closes. A wake-up for any other reason (a stale one, sent when
// the queue became non-empty during the last commit) does not end the step.
func (w *Writer) waitStep(tick <-chan time.Time) {
	for {
		select {
		case <-tick:
			return
		case <-w.wake:
			w.mu.Lock()
			stop := w.closed || w.queued >= w.maxBatch
			w.mu.Unlock()
			if stop {
				return
			}
		}
	}
}

// take removes the next batch from the queue: whole requests, at least one,
// up to maxBatch changes. w.mu must be held.
func (w *Writer) take() []*request {
	n, changes := 0, 0
	for n < len(w.queue) {
		c := len(w.queue[n].changes)
		if n > 0 && changes+c > w.maxBatch {
			break
		}
		changes += c
		n++
	}
	batch := slices.Clone(w.queue[:n])
	for _, r := range batch {
		r.taken = true
	}
	clear(w.queue[:n])
	w.queue = w.queue[n:]
	if len(w.queue) == 0 {
		w.queue = w.queue[:0:0] // let the backing array go
	}
	w.queued -= changes
	return batch
}

// commit writes one batch and reports the outcome to every request in it. If
// a shared commit fails, each request is retried alone so that one bad
// request cannot fail the others.
func (w *Writer) commit(batch []*request) {
	ctx := context.Background()
	if len(batch) == 1 {
		batch[0].result <- w.s.ApplyBindings(ctx, batch[0].changes)
		return
	}
	n := 0
	for _, r := range batch {
		n += len(r.changes)
	}
	all := make([]BindingChange, 0, n)
	for _, r := range batch {
		all = append(all, r.changes...)
	}
	if err := w.s.ApplyBindings(ctx, all); err == nil {
		for _, r := range batch {
			r.result <- nil
		}
		return
	}
	for _, r := range batch {
		r.result <- w.s.ApplyBindings(ctx, r.changes)
	}
}

// cloneChanges copies changes deep enough that the caller may reuse its
// values once Apply returns, whatever the outcome.
func cloneChanges(changes []BindingChange) []BindingChange {
	out := make([]BindingChange, len(changes))
	for i, c := range changes {
		if c.Put != nil {
			b := *c.Put
			b.Path = slices.Clone(b.Path)
			out[i].Put = &b
		}
		if c.Delete != nil {
			k := *c.Delete
			out[i].Delete = &k
		}
	}
	return out
}
