package avaya

import (
	"context"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
)

// queueLimit bounds the AES events waiting for the processor
// (pbxlink.DefaultQueueLimit); a var for tests.
var queueLimit = pbxlink.DefaultQueueLimit

// newQueue is the driver's event queue: AES events may be dropped when
// queueLimit are waiting; link changes and snapshots never are.
func (d *Driver) newQueue() *pbxlink.Queue[item] {
	return pbxlink.NewQueue(pbxlink.Bound[item]{Limit: queueLimit,
		Droppable: func(it item) bool { return it.msg != nil }, Gap: d.gap})
}

// gap is told, in event order, that events were dropped from the queue:
// every device monitored in the current session is snapshotted again from
// AES (restoreParallelism at a time), and once those snapshots are
// applied the host is told (RESYNC), which sends fresh snapshots on. With
// the link down the link_up that follows brings fresh snapshots anyway.
func (d *Driver) gap(uint64) {
	d.mu.Lock()
	c, gen, ctx := d.client, d.gen, d.runCtx
	devs := make([]string, 0, len(d.monitors))
	for dev, m := range d.monitors {
		if m.xref != "" {
			devs = append(devs, dev)
		}
	}
	d.mu.Unlock()
	if c == nil || ctx == nil {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		pbxlink.Refresh(restoreParallelism, devs, func(dev string) {
			cctx, cancel := context.WithTimeout(ctx, time.Duration(d.cfg.RequestTimeout))
			defer cancel()
			_ = d.resnapshot(cctx, c, dev)
		}, func() {
			d.q.Do(func() {
				d.mu.Lock()
				defer d.mu.Unlock()
				if d.gen == gen {
					d.ev.Emit(plugins.Event{Type: plugins.EventResync})
				}
			})
		})
	}()
}

// onRequest answers AES's own requests on link gen. SystemStatus
// messagesLost (ECMA-269 §12.2.25 ~, the systemStatus enumeration; AES
// sends SystemStatus on every DMCC session) says the switch lost events:
// every device monitored in the session is snapshotted again, then the
// host is told (RESYNC), as for a gap in the driver's own queue. The
// answer (SystemStatusResponse, the client's default) goes at once.
func (d *Driver) onRequest(gen uint64, req csta.Message) csta.Message {
	st, ok := req.(*csta.SystemStatus)
	if !ok || st.SystemStatus != csta.SystemStatusMessagesLost {
		return nil
	}
	d.mu.Lock()
	current := gen == d.gen && d.client != nil
	d.mu.Unlock()
	if current {
		d.stats.messagesLost.Add(1)
		d.gap(0)
	}
	return nil
}
