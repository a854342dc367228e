package mitel

import (
	"context"
	"time"
)

// resnap asks the PBX again for dev's snapshot on link gen, attempt n
// (1, 2, ...) after [pbxlink.ResnapDelay], when the last one went
// unanswered or events overtook it (the device's calls are then only
// what events since said: after a link drop, a call up before it is
// missing, and the host would take that for the lamp). It asks until one
// is taken, for as long as the link and the monitor last; the item's
// resnap makes the processor tell the host (RESYNC of dev) once it is.
func (d *Driver) resnap(gen uint64, dev string, n int) {
	if !d.rs.Claim(dev, gen) {
		return // one runs: it reads the event count afresh
	}
	d.stats.resnaps.Add(1)
	d.background(func() {
		d.rs.Loop(d.runCtx.Done(), dev, gen, n, func(n int) (func(), bool) {
			d.mu.Lock()
			c, current := d.client, gen == d.gen && d.client != nil
			_, monitored := d.monitors[dev]
			var touched uint64
			if s := d.devs[dev]; s != nil {
				touched = s.Touched
			}
			d.mu.Unlock()
			if !current || !monitored {
				return nil, true // a new link snapshots every device again; a stopped monitor needs none
			}
			ctx, cancel := context.WithTimeout(d.runCtx, time.Duration(d.cfg.RequestTimeout))
			defer cancel()
			snap, mwi, err := d.pbxSnapshot(ctx, c, dev)
			if err != nil {
				return nil, false
			}
			return func() { d.q.Push(item{gen: gen, snap: &snap, mwi: mwi, touched: touched, resnap: n}) }, false
		})
	})
}
