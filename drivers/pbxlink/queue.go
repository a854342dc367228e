package pbxlink

import (
	"context"
	"sync"
	"sync/atomic"
)

// DefaultQueueLimit is [Bound.Limit] when zero: as many events as the
// SDK's own event buffer holds (sdk.DefaultEventBuffer).
const DefaultQueueLimit = 65536

// Bound says how a [Queue] is bounded and what it does when full.
type Bound[T any] struct {
	// Limit is how many droppable items may wait at once (default
	// DefaultQueueLimit). Items that may not be dropped (link up/down,
	// snapshots: at most a few per monitored device) do not count and
	// are always queued.
	Limit int
	// Droppable reports whether an item may be dropped when the queue is
	// full: the PBX's events, which a fresh snapshot replaces. Nil: every
	// item may be.
	Droppable func(T) bool
	// Gap is called by Process, in order, where items were dropped, with
	// how many: the driver's view of its devices is wrong from there on,
	// so it takes fresh snapshots from the PBX and then tells the host
	// (RESYNC). Nil: drops are only counted.
	Gap func(lost uint64)
}

// entry is a queued item, a closure to run in order, or a gap.
type entry[T any] struct {
	it   T
	do   func()
	lost uint64 // > 0: a gap of that many dropped items
	drop bool   // it counts against the limit
}

// Queue is a bounded FIFO between a link's reading goroutine, which
// pushes and never waits (so a slow processor never stalls the link), and
// one processor, which applies the items in the order pushed. When
// Bound.Limit droppable items are waiting, a further one is dropped and
// counted, and the processor is told of the gap at its place in the
// order. The zero value is not usable; call [NewQueue].
type Queue[T any] struct {
	b       Bound[T]
	mu      sync.Mutex
	items   []entry[T]
	waiting int // droppable items in items
	ready   chan struct{}
	dropped atomic.Uint64
}

// NewQueue returns an empty queue bounded by b.
func NewQueue[T any](b Bound[T]) *Queue[T] {
	if b.Limit <= 0 {
		b.Limit = DefaultQueueLimit
	}
	return &Queue[T]{b: b, ready: make(chan struct{}, 1)}
}

// Push appends it, or drops it when it is droppable and the queue holds
// Bound.Limit droppable items already; it reports whether it was queued.
// It never blocks.
func (q *Queue[T]) Push(it T) bool {
	drop := q.b.Droppable == nil || q.b.Droppable(it)
	q.mu.Lock()
	if drop && q.waiting >= q.b.Limit {
		if n := len(q.items); n > 0 && q.items[n-1].lost > 0 {
			q.items[n-1].lost++
		} else {
			q.items = append(q.items, entry[T]{lost: 1})
		}
		q.mu.Unlock()
		q.dropped.Add(1)
		return false
	}
	if drop {
		q.waiting++
	}
	q.items = append(q.items, entry[T]{it: it, drop: drop})
	q.mu.Unlock()
	q.wake()
	return true
}

// Do queues f, which Process runs in order between the items (never
// dropped): what must happen after everything pushed so far was applied,
// such as telling the host that fresh snapshots are in.
func (q *Queue[T]) Do(f func()) {
	q.mu.Lock()
	q.items = append(q.items, entry[T]{do: f})
	q.mu.Unlock()
	q.wake()
}

func (q *Queue[T]) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Dropped returns how many items were dropped because the queue was full.
func (q *Queue[T]) Dropped() uint64 { return q.dropped.Load() }

// popAll takes every queued entry.
func (q *Queue[T]) popAll() []entry[T] {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

// applied counts a droppable item out of the limit once it was applied,
// so the limit bounds what is held, taken or not.
func (q *Queue[T]) applied() {
	q.mu.Lock()
	q.waiting--
	q.mu.Unlock()
}

// Process calls apply on each item, in order, runs the closures queued
// with Do and calls Bound.Gap where items were dropped, until ctx ends;
// what is still queued then is dropped. One processor at a time.
func (q *Queue[T]) Process(ctx context.Context, apply func(T)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.ready:
		}
		for _, e := range q.popAll() {
			switch {
			case e.lost > 0:
				if q.b.Gap != nil {
					q.b.Gap(e.lost)
				}
			case e.do != nil:
				e.do()
			default:
				apply(e.it)
				if e.drop {
					q.applied()
				}
			}
		}
	}
}
