package mitel

import "github.com/switchboard-gw/switchboard/drivers/pbxlink"

// queueLimit bounds the PBX events waiting for the processor
// (pbxlink.DefaultQueueLimit); a var for tests.
var queueLimit = pbxlink.DefaultQueueLimit

// newQueue is the driver's event queue: PBX events may be dropped when
// queueLimit are waiting (a processor that can't keep up must not grow
// the driver without bound); link changes and snapshots never are.
func (d *Driver) newQueue() *pbxlink.Queue[item] {
	return pbxlink.NewQueue(pbxlink.Bound[item]{Limit: queueLimit,
		Droppable: func(it item) bool { return it.msg != nil }, Gap: d.gap})
}

// gap is told, in event order, that lost events were dropped from the
// queue: the driver's view of any device may be wrong from there on. As
// after the PBX's own SystemStatus messagesLost, every device monitored
// on the current link is snapshotted again from the PBX, and once those
// snapshots are applied the host is told (RESYNC), which sends fresh
// snapshots on. With the link down there is nothing to do: the link_up
// that follows brings fresh snapshots anyway.
func (d *Driver) gap(lost uint64) {
	d.mu.Lock()
	c, gen, ctx := d.client, d.gen, d.runCtx
	d.mu.Unlock()
	if c == nil || ctx == nil {
		return
	}
	d.background(func() { d.refresh(ctx, c, gen, item{gen: gen, resync: true}) })
}
