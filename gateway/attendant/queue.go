package attendant

import (
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Queues: an ACD, hunt or operator group device is monitored like any
// other (CSTA MonitorStart on the group device, ECMA-269 §17.2.14 Queued,
// Delivered/Diverted when a call leaves the queue); the calls waiting at
// it are its connections in state queued. The model numbers them in the
// order they joined (the PBX's own position breaks ties, as after a
// resync every call's "since" is the snapshot time), so a console shows
// how many wait and who is next.

// Queue is a group device's queue as the API shows it.
type Queue struct {
	// Length is how many calls wait at the device now.
	Length int `json:"length"`
	// PBXLength is the count the PBX gave with its last QUEUED event
	// (CSTA numberQueued), when it gives one, less the calls that left
	// the queue since: it may include calls the monitor does not show
	// one by one.
	PBXLength int `json:"pbx_length,omitempty"`
	// Calls are the waiting calls, next to be served first.
	Calls []QueuedCall `json:"calls"`
}

// QueuedCall is one call waiting in a [Queue].
type QueuedCall struct {
	// CallID is the call's API id.
	CallID string `json:"call_id"`
	// Position is the call's place, from 1 (next to be served).
	Position    int    `json:"position"`
	Calling     string `json:"calling,omitempty"`
	CallingName string `json:"calling_name,omitempty"`
	PartyType   string `json:"party_type,omitempty"`
	// Since is when the call joined the queue (as the gateway learned
	// it).
	Since time.Time `json:"since"`
}

// isQueue reports whether the device shows a queue: its category says
// so, or calls wait at it.
func (d *device) isQueue() bool {
	if d.category.IsQueue() {
		return true
	}
	for _, c := range d.calls {
		if c.state == plugins.StateQueued {
			return true
		}
	}
	return false
}

// queue is the device's queue view, or nil for a device that is not one.
func (d *device) queue() *Queue {
	if !d.isQueue() {
		return nil
	}
	var waiting []*conn
	for _, c := range d.calls {
		if c.state == plugins.StateQueued {
			waiting = append(waiting, c)
		}
	}
	slices.SortFunc(waiting, func(a, b *conn) int {
		if n := a.since.Compare(b.since); n != 0 {
			return n
		}
		if a.queuePos != b.queuePos && a.queuePos > 0 && b.queuePos > 0 {
			return a.queuePos - b.queuePos
		}
		if a.order != b.order {
			if a.order < b.order {
				return -1
			}
			return 1
		}
		return 0
	})
	q := &Queue{Length: len(waiting), PBXLength: d.pbxQueued, Calls: make([]QueuedCall, 0, len(waiting))}
	for i, c := range waiting {
		qc := QueuedCall{CallID: ID(d.source, c.callID), Position: i + 1, Calling: c.calling,
			CallingName: c.callingName, Since: c.since}
		if qc.Calling == "" {
			qc.Calling, qc.CallingName = c.other, c.otherName
		}
		if c.party != plugins.PartyUnspecified {
			qc.PartyType = c.party.String()
		}
		q.Calls = append(q.Calls, qc)
	}
	return q
}

// applyQueued keeps what a QUEUED event says of the queue at d.
func (d *device) applyQueued(ev plugins.Event) {
	if ev.QueueLength > 0 {
		d.pbxQueued = ev.QueueLength
	}
	if c := d.calls[ev.CallID]; c != nil && ev.QueuePosition > 0 {
		c.queuePos = ev.QueuePosition
	}
}

// leftQueue counts a call out of the PBX's queue length when its queued
// connection at d has ended or changed state (the PBX sends no new
// numberQueued when a call leaves).
func (d *device) leftQueue(callID string) {
	if c := d.calls[callID]; (c == nil || c.state != plugins.StateQueued) && d.pbxQueued > 0 {
		d.pbxQueued--
	}
}

// QueueDevice is a group device with its queue (GET /api/v1/queues).
type QueueDevice struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"`
	Stale    bool   `json:"stale"`
	Queue    Queue  `json:"queue"`
}

// Queues returns every device that is a queue, sorted by id; only, when
// not nil, keeps the devices it allows.
func (m *Model) Queues(only func(id string) bool) []QueueDevice {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []QueueDevice{}
	for _, id := range m.order {
		d := m.devices[id]
		if only != nil && !only(id) {
			continue
		}
		q := d.queue()
		if q == nil {
			continue
		}
		qd := QueueDevice{ID: id, Name: d.name, Stale: d.stale, Queue: *q}
		if d.category != plugins.CategoryUnspecified {
			qd.Category = d.category.String()
		}
		out = append(out, qd)
	}
	return out
}
