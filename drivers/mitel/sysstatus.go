package mitel

import (
	"context"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
)

// onRequest answers the switch's own requests on link gen. SystemStatus
// (ECMA-269 §12.2.20 ~, ECMA-323 status-reporting) says what the switch's
// CSTA service is doing:
//   - messagesLost: events were lost; every monitored device is
//     snapshotted again from the PBX and the host told (RESYNC), which
//     sends the fresh snapshots on;
//   - disabled: the service is down: link_down, calls forgotten;
//   - normal or enabled after disabled: snapshots again, then link_up.
//
// The answer (SystemStatusResponse) goes at once; the work follows on
// its own goroutine.
func (d *Driver) onRequest(ctx context.Context, gen uint64, req csta.Message) csta.Message {
	st, ok := req.(*csta.SystemStatus)
	if !ok {
		return nil
	}
	d.mu.Lock()
	current := gen == d.gen && d.client != nil
	c := d.client
	wasDisabled := d.disabled
	switch st.SystemStatus {
	case csta.SystemStatusDisabled:
		d.disabled = current
	case csta.SystemStatusNormal, csta.SystemStatusEnabled:
		d.disabled = false
	}
	d.mu.Unlock()
	if !current {
		return nil
	}
	switch {
	case st.SystemStatus == csta.SystemStatusMessagesLost:
		d.stats.messagesLost.Add(1)
		d.background(func() { d.refresh(ctx, c, gen, item{gen: gen, resync: true}) })
	case st.SystemStatus == csta.SystemStatusDisabled && !wasDisabled:
		d.q.Push(item{gen: gen, linkDown: "PBX SystemStatus disabled: its CSTA service is down"})
	case wasDisabled && (st.SystemStatus == csta.SystemStatusNormal || st.SystemStatus == csta.SystemStatusEnabled):
		d.background(func() { d.refresh(ctx, c, gen, item{gen: gen, linkUp: true}) })
	}
	return nil
}

// background runs f on a goroutine Close waits for.
func (d *Driver) background(f func()) {
	d.wg.Add(1)
	go func() { defer d.wg.Done(); f() }()
}

// refresh asks the PBX for a fresh snapshot of every device monitored on
// link gen, restoreParallelism at a time, queues them in event order, then
// queues last (a RESYNC or a link_up).
func (d *Driver) refresh(ctx context.Context, c *csta.Client, gen uint64, last item) {
	d.mu.Lock()
	devs := make([]string, 0, len(d.monitors))
	for dev, m := range d.monitors {
		if m.xref != "" {
			devs = append(devs, dev)
		}
	}
	d.mu.Unlock()
	pbxlink.Refresh(restoreParallelism, devs, func(dev string) {
		d.mu.Lock()
		var touched uint64
		if s := d.devs[dev]; s != nil {
			touched = s.Touched
		}
		d.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, time.Duration(d.cfg.RequestTimeout))
		snap, mwi, err := d.pbxSnapshot(cctx, c, dev)
		cancel()
		if err == nil {
			d.q.Push(item{gen: gen, snap: &snap, mwi: mwi, touched: touched})
		} else {
			d.resnap(gen, dev, 1) // unanswered: asked again until it is (resnap.go)
		}
	}, func() { d.q.Push(last) })
}

// endMonitor drops a device whose monitor did not start on a live link
// and tells the host (monitor_ended), which retries it.
func (d *Driver) endMonitor(dev string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.monitors[dev]
	if m == nil {
		return
	}
	delete(d.monitors, dev)
	if m.xref != "" {
		delete(d.byXref, m.xref)
	}
	d.emit(plugins.Event{Type: plugins.EventMonitorEnded, MonitorID: m.id, Device: dev, RawCause: err.Error()})
}
