package pbxlink

import (
	"sync"
	"time"
)

// MaxResnaps is the re-snapshot of a device (its snapshot overtaken by
// the device's events each time) from which a driver takes the snapshot
// even so: a device with events every few milliseconds would otherwise
// never get its calls; the events after the snapshot correct what it
// lacks.
const MaxResnaps = 5

// ResnapDelay is the wait before re-snapshot attempt n (1, 2, ...) of a
// device whose snapshot failed (no answer from the PBX) or was overtaken
// by events: 50 ms doubled each time, at most 2 s. Until one is taken,
// the device's calls are only what events since said (after a link drop,
// a call up before it is missing), so a driver asks again for as long as
// the link lasts: a PBX that does not answer at all is found by the
// link's keepalive, and the new link snapshots every device.
func ResnapDelay(n int) time.Duration {
	d := 50 * time.Millisecond
	for i := 1; i < n && d < 2*time.Second; i++ {
		d *= 2
	}
	return min(d, 2*time.Second)
}

// ResnapLimit is how many re-snapshots a driver has in flight at once: a
// slow PBX that lets thousands of snapshots time out must not get
// thousands of retries at once, which would keep it slow.
const ResnapLimit = 16

// Resnaps bounds a driver's re-snapshots: one loop per device at a time,
// at most ResnapLimit snapshots in flight. The zero value is not usable:
// make one with [NewResnaps].
type Resnaps struct {
	mu   sync.Mutex
	busy map[string]uint64 // device → the link generation its loop asks on
	sem  chan struct{}
}

// NewResnaps returns an empty set.
func NewResnaps() *Resnaps {
	return &Resnaps{busy: map[string]uint64{}, sem: make(chan struct{}, ResnapLimit)}
}

// Claim marks dev's loop on link generation gen as running; false if one
// already runs on gen or a later link (it reads the device's event count
// afresh before each attempt, so it serves this request too). A loop of
// an earlier link does not count: it stops at its next attempt (a new
// link snapshots every device again), and if that new link's snapshot of
// dev failed too, it is this loop that must ask again. Before, the old
// loop kept the claim, the new link's loop was never started, and the
// device's calls stayed what events since said: after a link drop, a
// call up before it was missing for good (ctibench chaos, Cisco at 5,000
// devices: 2 lamps).
func (r *Resnaps) Claim(dev string, gen uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := r.busy[dev]; ok && g >= gen {
		return false
	}
	r.busy[dev] = gen
	return true
}

// Release ends dev's loop on link gen (nothing if a later link's loop
// claimed dev since). Call it before queueing the snapshot, so that a
// snapshot overtaken again can start a new loop.
func (r *Resnaps) Release(dev string, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := r.busy[dev]; ok && g == gen {
		delete(r.busy, dev)
	}
}

// Slot waits for one of the ResnapLimit slots; free it with the returned
// function.
func (r *Resnaps) Slot(done <-chan struct{}) (free func(), ok bool) {
	select {
	case r.sem <- struct{}{}:
		return func() { <-r.sem }, true
	case <-done:
		return nil, false
	}
}

// Loop runs dev's re-snapshot attempts on link gen from attempt n, after a [Resnaps.Claim]
// that returned true, until one is taken, attempt says stop, or done
// closes; it releases dev's claim when it returns. Before each attempt it
// waits [ResnapDelay] and one of the ResnapLimit slots, which attempt holds
// while it asks the PBX. attempt returns take, non-nil when the snapshot
// was answered (Loop releases the claim, then calls take, which queues
// the snapshot: an overtaken snapshot can then start a new loop), or stop
// when there is nothing more to do (a new link snapshots every device
// again; a stopped monitor needs none; the device is gone); neither: try
// again.
func (r *Resnaps) Loop(done <-chan struct{}, dev string, gen uint64, n int, attempt func(n int) (take func(), stop bool)) {
	released := false
	defer func() {
		if !released {
			r.Release(dev, gen)
		}
	}()
	for ; ; n++ {
		t := time.NewTimer(ResnapDelay(n))
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return
		}
		free, ok := r.Slot(done)
		if !ok {
			return
		}
		take, stop := attempt(n)
		free()
		switch {
		case take != nil:
			r.Release(dev, gen)
			released = true
			take()
			return
		case stop:
			return
		}
	}
}
