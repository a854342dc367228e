package sdk

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// DefaultEventBuffer is how many events an [Events] holds while the host is
// not reading.
const DefaultEventBuffer = 65536

// Events numbers and queues a driver's events; its Serve method is the
// driver's Events method. Emit never blocks: when the queue is full the
// event is dropped, its sequence number is skipped, and the host sees the
// gap and re-snapshots. The zero value is not usable; call [NewEvents].
type Events struct {
	mu      sync.Mutex
	seq     uint64
	owed    bool          // events were lost since the last RESYNC
	kick    chan struct{} // tells Serve a RESYNC is owed
	ch      chan plugins.Event
	dropped atomic.Uint64
	now     func() time.Time
}

// NewEvents returns an Events that queues up to buffer events
// (DefaultEventBuffer if buffer <= 0).
func NewEvents(buffer int) *Events {
	if buffer <= 0 {
		buffer = DefaultEventBuffer
	}
	return &Events{ch: make(chan plugins.Event, buffer), now: time.Now, kick: make(chan struct{}, 1)}
}

// Emit numbers ev, stamps ev.Time (when zero) with the driver's clock and
// queues it. Set ev.PBXTime to the PBX's own timestamp when it has one.
// Emit returns the sequence number given to ev.
func (e *Events) Emit(ev plugins.Event) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	ev.Seq = e.seq
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	select {
	case e.ch <- ev:
	default:
		e.dropped.Add(1)
		e.oweLocked()
	}
	return ev.Seq
}

// Lost tells the host that n events were lost before they reached Emit (a
// bounded queue of the driver's own overflowed, the PBX said messages were
// lost): their sequence numbers are skipped, so the host sees a gap, and
// an EventResync for every device follows once the queue has room; the
// host answers with fresh snapshots. Refresh the driver's own state first.
func (e *Events) Lost(n uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq += n
	e.dropped.Add(n)
	e.oweLocked()
}

func (e *Events) oweLocked() {
	e.owed = true
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// resyncIfOwed emits the owed EventResync when the queue has room.
func (e *Events) resyncIfOwed() {
	e.mu.Lock()
	owed := e.owed && len(e.ch) < cap(e.ch)
	if owed {
		e.owed = false
	}
	e.mu.Unlock()
	if owed {
		e.Emit(plugins.Event{Type: plugins.EventResync})
	}
}

// Seq returns the sequence number of the last event emitted; put it in
// DeviceSnapshot.Seq.
func (e *Events) Seq() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seq
}

// Dropped returns how many events were dropped because nobody read them.
func (e *Events) Dropped() uint64 { return e.dropped.Load() }

// Serve sends queued events, in order, until ctx ends or send fails. It
// has the signature of Driver.Events, so a driver can embed *Events or
// forward to it. One reader at a time.
func (e *Events) Serve(ctx context.Context, send func(plugins.Event) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
			e.resyncIfOwed()
		case ev := <-e.ch:
			if err := send(ev); err != nil {
				return err
			}
			if len(e.ch) == 0 {
				e.resyncIfOwed()
			}
		}
	}
}
