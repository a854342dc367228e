package cisco

import (
	"context"

	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
)

// queueLimit bounds the Xsi events waiting for the processor
// (pbxlink.DefaultQueueLimit); a var for tests.
var queueLimit = pbxlink.DefaultQueueLimit

// newQueue is the driver's event queue: channel events may be dropped
// when queueLimit are waiting (they were acknowledged already, so the
// server does not send them again); link changes and snapshots never are.
func (d *Driver) newQueue() *pbxlink.Queue[item] {
	return pbxlink.NewQueue(pbxlink.Bound[item]{Limit: queueLimit,
		Droppable: func(it item) bool { return it.ev != nil }, Gap: d.queueGap})
}

// queueGap is told, in event order, that events were dropped from the queue:
// every monitored device is snapshotted again from the Xsi server
// (restoreParallelism at a time), and once those snapshots are applied
// the host is told (RESYNC), which sends fresh snapshots on. With the
// channel down the link_up that follows brings fresh snapshots anyway.
func (d *Driver) queueGap(uint64) { d.resyncAll(partAll) }

// resyncAll reads parts p of every monitored device's snapshot again
// (restoreParallelism devices at a time) and then tells the host
// (RESYNC).
func (d *Driver) resyncAll(p parts) {
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.resyncAllWait(p) }()
}

// resyncAllWait is resyncAll, returning when every snapshot is queued.
func (d *Driver) resyncAllWait(p parts) {
	d.mu.Lock()
	l, gen, ctx := d.cur, d.gen, d.runCtx
	mons := make([]*monitor, 0, len(d.monitors))
	for _, m := range d.monitors {
		mons = append(mons, m)
	}
	d.mu.Unlock()
	if l == nil || ctx == nil {
		return
	}
	pbxlink.Refresh(restoreParallelism, mons, func(m *monitor) { d.resnapshot(ctx, gen, m, p) }, func() {
		d.q.Do(func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.gen == gen {
				d.ev.Emit(plugins.Event{Type: plugins.EventResync})
			}
		})
	})
}

// resnapshot queues a fresh snapshot of parts p of m taken on channel gen.
func (d *Driver) resnapshot(ctx context.Context, gen uint64, m *monitor, p parts) {
	d.mu.Lock()
	var touched uint64
	if s := d.devs[m.device]; s != nil {
		touched = s.touched
	}
	d.mu.Unlock()
	snap, halves, err := d.pbxSnapshotParts(ctx, m, p)
	if err != nil {
		d.resnap(gen, m.device, 1) // asked again until answered (resnap.go)
		return
	}
	d.stats.resyncs.Add(1)
	d.q.Push(item{gen: gen, snap: &snap, halves: halves, touched: touched, parts: p})
}

// pushSnapshot queues a monitor's first snapshot; with wait (a
// MonitorStart the host asked for, not a restore) it returns once the
// processor applied it: the host takes the device's Snapshot right after
// MonitorStart, which must show the server's calls, not the empty state
// before (ctibench found lamps of kill -9 restores empty this way in the
// Avaya driver, which had the same order).
func (d *Driver) pushSnapshot(ctx context.Context, it item, wait bool) {
	d.q.Push(it)
	if !wait {
		return
	}
	applied := make(chan struct{})
	d.q.Do(func() { close(applied) })
	select {
	case <-applied:
	case <-ctx.Done():
	}
}
