package cisco

import "github.com/switchboard-gw/switchboard/plugins"

// SetQueueLimit bounds the event queue of drivers made after it; it
// returns a function that puts the default back.
func SetQueueLimit(n int) (restore func()) {
	old := queueLimit
	queueLimit = n
	return func() { queueLimit = old }
}

// StallProcessor stops d's event processor until release is called.
func StallProcessor(d *Driver) (release func()) {
	ch := make(chan struct{})
	d.q.Do(func() { <-ch })
	return func() { close(ch) }
}

// PushOvertakenResync queues, with the processor held, a sequence gap's
// fresh snapshot of dev (RESYNC due) whose calls a call event overtook
// (the event applied after the snapshot was asked for), then a mark that
// emits MESSAGE_WAITING for device "mark": the processor applies the
// snapshot, then the mark, before anything else.
func PushOvertakenResync(d *Driver, dev string) {
	release := StallProcessor(d)
	defer release()
	d.mu.Lock()
	st := d.dev(dev)
	asked := st.touched
	st.touched++
	st.lastCall = st.touched // the call event after the ask
	snap := d.snapshotLocked(dev)
	gen := d.gen
	d.mu.Unlock()
	d.q.Push(item{gen: gen, snap: &snap, touched: asked, resync: true, parts: partCalls})
	d.q.Do(func() { d.ev.Emit(plugins.Event{Type: plugins.EventMessageWaiting, Device: "mark"}) })
}
