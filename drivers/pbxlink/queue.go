package pbxlink

import (
	"context"
	"sync"
)

// Queue is an unbounded FIFO between a link's reading goroutine, which
// pushes and never waits (so a slow processor never stalls the link), and
// one processor, which applies the items in the order pushed. The zero
// value is not usable; call [NewQueue].
type Queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{}
}

// NewQueue returns an empty queue.
func NewQueue[T any]() *Queue[T] { return &Queue[T]{ready: make(chan struct{}, 1)} }

// Push appends it. It never blocks.
func (q *Queue[T]) Push(it T) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// popAll takes every queued item.
func (q *Queue[T]) popAll() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

// Process calls apply on each item, in order, until ctx ends; items still
// queued then are dropped. One processor at a time.
func (q *Queue[T]) Process(ctx context.Context, apply func(T)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.ready:
		}
		for _, it := range q.popAll() {
			apply(it)
		}
	}
}
