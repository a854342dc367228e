package mitel

import (
	"context"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

// A MonitorStart the driver gave up on (no answer within request_timeout,
// the host's deadline) may still have been carried out by the PBX: its
// response comes late, and the monitor it made, an "orphan" the driver
// does not know, holds a CSTA licence and sends events no one maps. The
// driver stops it (MonitorStop, ECMA-269 §13.1.2) as soon as it learns of
// it: from the late MonitorStartResponse, or from an event with a
// monitorCrossRefID it does not know on the current link. The device
// itself is retried under a new monitor (by the host, or by the restore),
// so adopting the orphan would race that retry; stopping it cannot.

// late looks at a frame the CSTA client dropped on link gen: a late
// MonitorStartResponse names an orphan.
func (d *Driver) late(gen uint64, err error) {
	if xref, ok := csta.LateMonitorStart(err); ok {
		d.mu.Lock()
		d.stopOrphanLocked(gen, xref)
		d.mu.Unlock()
	}
}

// stopOrphanLocked stops the PBX's monitor xref on link gen unless the
// driver knows it or stopped it already. Called with d.mu held.
func (d *Driver) stopOrphanLocked(gen uint64, xref string) {
	if xref == "" || gen != d.gen || d.client == nil || d.byXref[xref] != nil || d.stopped[xref] {
		return
	}
	d.stopped[xref] = true
	d.stats.orphans.Add(1)
	c, ctx, timeout := d.client, d.runCtx, time.Duration(d.cfg.RequestTimeout)
	if ctx == nil {
		return
	}
	d.background(func() {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, _ = c.Call(cctx, &csta.MonitorStop{MonitorCrossRefID: xref})
	})
}
