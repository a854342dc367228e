package cisco

import (
	"context"
	"time"
)

// resnap asks the Xsi server again for dev's calls on channel gen,
// attempt n (1, 2, ...) after [pbxlink.ResnapDelay], when the last
// snapshot went unanswered or the device's events overtook it: its calls
// are then only what events since said (after a restore, a call up
// before it is missing; a group subscription sends no CallSubscriptionEvent
// per user). It asks until one is taken, for as long as the channel and
// the monitor last, and the snapshot tells the host (RESYNC of dev).
func (d *Driver) resnap(gen uint64, dev string, n int) {
	if !d.rs.Claim(dev, gen) {
		return // one runs: it reads the event count afresh
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.rs.Loop(d.runCtx.Done(), dev, gen, n, func(n int) (func(), bool) {
			d.mu.Lock()
			m, current := d.monitors[dev], gen == d.gen && d.cur != nil
			var touched uint64
			if s := d.devs[dev]; s != nil {
				touched = s.touched
			}
			d.mu.Unlock()
			if m == nil || !current {
				return nil, true // a new channel snapshots every device again; a stopped monitor needs none
			}
			ctx, cancel := context.WithTimeout(d.runCtx, time.Duration(d.cfg.RequestTimeout))
			defer cancel()
			snap, halves, err := d.pbxSnapshot(ctx, m)
			switch {
			case err == nil:
				return func() {
					d.q.Push(item{gen: gen, snap: &snap, halves: halves, touched: touched, resync: true, resnap: n})
				}, false
			case isRefusal(err):
				return nil, true // the user is gone: its subscription's end says so
			}
			return nil, false
		})
	}()
}
