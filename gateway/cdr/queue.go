package cdr

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Default QueueOptions values.
const (
	DefaultQueueSize = 10000
	DefaultMaxBatch  = 500
	// DefaultLinger is how long the writer waits for more records after
	// the first one of a batch: at a thousand calls a second, one
	// transaction per 100 records instead of one per call (a commit
	// rewrites the index pages every record shares).
	DefaultLinger = 100 * time.Millisecond
	// defaultWriteTimeout bounds one batch write.
	defaultWriteTimeout = 30 * time.Second
)

// Sink stores records; store.Store is one. AddRecords must be idempotent
// per Record.ID.
type Sink interface {
	AddRecords(ctx context.Context, records []Record) error
}

// QueueOptions tune a Queue. The zero value takes the defaults.
type QueueOptions struct {
	// Size is how many records may wait to be written; when full, new
	// records are dropped (and counted), never waited for. Default 10000.
	Size int
	// MaxBatch is the most records one write carries. Default 500.
	MaxBatch int
	// Linger is how long a batch waits for more records once its first
	// one arrived (group commit with a commit delay, as PostgreSQL's
	// commit_delay): a record is stored at most Linger plus one write
	// later, and Close writes what waits at once. Default 100ms; negative
	// writes each record as soon as the previous write ended.
	Linger time.Duration
	// OnDrop, if set, is called (on the caller's goroutine, so it must
	// be quick) for each record dropped because the queue is full.
	OnDrop func(Record)
	// OnError, if set, is called from the writing goroutine when a batch
	// could not be stored; its records are lost and counted as failed.
	OnError func(err error, n int)
}

// QueueStats are a Queue's counters since it started.
type QueueStats struct {
	Written uint64 // records stored
	Dropped uint64 // records refused because the queue was full or closed
	Failed  uint64 // records lost to a failed write
	Queued  int    // records waiting now
}

// Queue is a Recorder that writes records to a Sink from one goroutine,
// in batches (group commit: whatever queued while one write ran goes
// into the next one). Record never blocks: when Size records are waiting,
// further ones are dropped and counted.
type Queue struct {
	sink     Sink
	opts     QueueOptions
	ch       chan Record
	mu       sync.RWMutex // guards closed against Record sending on ch
	closed   bool
	done     chan struct{}
	written  atomic.Uint64
	dropped  atomic.Uint64
	failed   atomic.Uint64
	closeOne sync.Once
}

var _ Recorder = (*Queue)(nil)

// NewQueue starts a Queue writing to sink. Close it to flush and stop.
func NewQueue(sink Sink, opts QueueOptions) *Queue {
	if opts.Size <= 0 {
		opts.Size = DefaultQueueSize
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	q := &Queue{sink: sink, opts: opts, ch: make(chan Record, opts.Size), done: make(chan struct{})}
	go q.run()
	return q
}

// Record queues r without blocking; see Queue.
func (q *Queue) Record(r Record) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if !q.closed {
		select {
		case q.ch <- r:
			return
		default:
		}
	}
	q.dropped.Add(1)
	if q.opts.OnDrop != nil {
		q.opts.OnDrop(r)
	}
}

// Stats returns the counters.
func (q *Queue) Stats() QueueStats {
	return QueueStats{
		Written: q.written.Load(),
		Dropped: q.dropped.Load(),
		Failed:  q.failed.Load(),
		Queued:  len(q.ch),
	}
}

// Close stops accepting records, writes those queued, and returns when
// the writing goroutine has ended. Safe to call more than once.
func (q *Queue) Close() error {
	q.closeOne.Do(func() {
		q.mu.Lock()
		q.closed = true
		close(q.ch)
		q.mu.Unlock()
	})
	<-q.done
	return nil
}

func (q *Queue) run() {
	defer close(q.done)
	batch := make([]Record, 0, q.opts.MaxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for r := range q.ch {
		batch = append(batch[:0], r)
		open := q.take(&batch)
		if open && q.opts.Linger > 0 && len(batch) < q.opts.MaxBatch {
			linger.Reset(q.opts.Linger)
			q.wait(&batch, linger.C)
			linger.Stop()
		}
		q.write(batch)
	}
}

// take appends the records already queued to batch, up to MaxBatch,
// without waiting; false when the queue is closed.
func (q *Queue) take(batch *[]Record) bool {
	for len(*batch) < q.opts.MaxBatch {
		select {
		case r, ok := <-q.ch:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		default:
			return true
		}
	}
	return true
}

// wait appends records to batch until it holds MaxBatch, the queue
// closes or until fires.
func (q *Queue) wait(batch *[]Record, until <-chan time.Time) {
	for len(*batch) < q.opts.MaxBatch {
		select {
		case r, ok := <-q.ch:
			if !ok {
				return
			}
			*batch = append(*batch, r)
		case <-until:
			return
		}
	}
}

func (q *Queue) write(batch []Record) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultWriteTimeout)
	defer cancel()
	if err := q.sink.AddRecords(ctx, batch); err != nil {
		q.failed.Add(uint64(len(batch)))
		if q.opts.OnError != nil {
			q.opts.OnError(err, len(batch))
		}
		return
	}
	q.written.Add(uint64(len(batch)))
}
