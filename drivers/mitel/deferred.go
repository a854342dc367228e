package mitel

import (
	"context"
	"fmt"
	"sync"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

// deferred collects SnapshotDeviceData events: a switch may answer
// SnapshotDevice with only a serviceCrossRefID and send the snapshot in
// segments later, the last with lastSegment (ECMA-269 §16.1.3 ~). Data
// can arrive before the waiter registers (the response and the first
// segment are read back to back), so early segments are kept, a bounded
// number of cross references at most.
type deferred struct {
	mu      sync.Mutex
	waiting map[string]chan *csta.SnapshotDeviceData
	early   map[string][]*csta.SnapshotDeviceData
}

// maxEarly bounds the cross references kept without a waiter.
const maxEarly = 256

// deliver hands one segment to its waiter, or keeps it.
func (q *deferred) deliver(sd *csta.SnapshotDeviceData) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ch, ok := q.waiting[sd.ServiceCrossRefID]; ok {
		select {
		case ch <- sd:
		default: // a waiter that gave up; or more segments than sensible
		}
		return
	}
	if q.early == nil {
		q.early = map[string][]*csta.SnapshotDeviceData{}
	}
	if _, ok := q.early[sd.ServiceCrossRefID]; !ok && len(q.early) >= maxEarly {
		return
	}
	if segs := q.early[sd.ServiceCrossRefID]; len(segs) < 64 {
		q.early[sd.ServiceCrossRefID] = append(segs, sd)
	}
}

// wait returns the connections of snapshot id once its last segment came.
func (q *deferred) wait(ctx context.Context, id string) ([]csta.SnapshotDeviceResponseInfo, error) {
	var items []csta.SnapshotDeviceResponseInfo
	take := func(sd *csta.SnapshotDeviceData) bool {
		if sd.SnapshotData != nil {
			items = append(items, sd.SnapshotData.Items...)
		}
		return sd.LastSegment
	}
	q.mu.Lock()
	segs := q.early[id]
	delete(q.early, id)
	done := false
	for _, sd := range segs {
		done = take(sd) || done
	}
	if done {
		q.mu.Unlock()
		return items, nil
	}
	ch := make(chan *csta.SnapshotDeviceData, 64)
	if q.waiting == nil {
		q.waiting = map[string]chan *csta.SnapshotDeviceData{}
	}
	q.waiting[id] = ch
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		delete(q.waiting, id)
		q.mu.Unlock()
	}()
	for {
		select {
		case sd := <-ch:
			if take(sd) {
				return items, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("SnapshotDeviceData for serviceCrossRefID %s: %w", id, ctx.Err())
		}
	}
}
