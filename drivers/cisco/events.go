package cisco

import (
	"context"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/plugins"
)

// item is one thing for the processor, in channel order: an Xsi event, a
// device snapshot, or a link transition. gen is the channel it belongs to.
type item struct {
	gen      uint64
	ev       *xsi.Event
	snap     *plugins.DeviceSnapshot
	halves   []*halfState // the snapshot's call halves
	touched  uint64       // the device's event count when the snapshot was asked for
	resnap   int          // a re-snapshot's attempt (resnap.go)
	resync   bool         // snap was taken after a sequenceNumber gap: tell the host (RESYNC)
	parts    parts        // the parts snap holds (0: all)
	linkUp   bool
	linkDown string
}

// dedupe remembers the last n event IDs: BroadWorks sends an event again
// when its response is late or lost, and the model must see it once.
type dedupe struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newDedupe(n int) dedupe { return dedupe{set: map[string]struct{}{}, ring: make([]string, n)} }

// seen records id and reports whether it was already there.
func (dd *dedupe) seen(id string) bool {
	if _, ok := dd.set[id]; ok {
		return true
	}
	if old := dd.ring[dd.next]; old != "" {
		delete(dd.set, old)
	}
	dd.ring[dd.next] = id
	dd.next = (dd.next + 1) % len(dd.ring)
	dd.set[id] = struct{}{}
	return false
}

// devState is a monitored device's call halves and features.
type devState struct {
	halves  map[string]*halfState // xsi call ID → half
	dnd     bool
	mwi     bool // message waiting (Voice Mail Message Summary)
	agent   plugins.AgentState
	fwd     map[plugins.ForwardingType]plugins.Forwarding
	touched uint64 // events applied; lets a late snapshot yield to them
	// lastCall and lastFull: touched at the last call event and the last
	// CallSubscriptionEvent (the user's calls in full): a snapshot's calls
	// are taken unless a call event came after it was asked (feature
	// events, such as a service subscription's first event, do not make
	// it older); one a call event overtook, with no full list since, is
	// asked again (resnap.go).
	lastCall, lastFull uint64
	// diverted holds halves reported as diverted whose CallReleasedEvent
	// is still to come.
	diverted map[string]struct{}
}

// halfState is one Xsi call half of a device. call is the model's call
// ID: the extTrackingId both halves of a BroadWorks call share, kept when
// a conference joins calls or changed by a transfer.
type halfState struct {
	xsiID, call string
	state       plugins.ConnectionState
	personality string
	other       string
	delivered   bool // Delivered already emitted for the far end alerting
	// What the call's events said beyond the parties (mapping.go
	// callInfo), for snapshots.
	otherName, global, lastRedir, origCalled string
	party                                    plugins.PartyType
}

// process applies queued items in order until ctx ends.
func (d *Driver) process(ctx context.Context) { d.q.Process(ctx, d.apply) }

// apply handles one item under d.mu, so a snapshot's Seq always matches
// the state it shows.
func (d *Driver) apply(it item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case it.linkDown != "":
		if ev, ok := d.link.GoDown(it.linkDown); ok {
			for _, s := range d.devs {
				s.halves = map[string]*halfState{} // older calls are unknown now
			}
			clear(d.ops)
			// d.seqs stays: the channel set, and the subscriptions the
			// server still holds, outlive the channel (channelset.go), and
			// their numbering goes on. Started afresh, a loss just after
			// the restore's snapshot went unseen until a later one.
			clear(d.resyncing)
			d.ev.Emit(ev)
		}
		return
	case it.gen != d.gen:
		d.stats.stale.Add(1)
		return
	case it.linkUp:
		d.pruneSeqs()
		d.stats.linkUps.Add(1)
		d.ev.Emit(d.link.GoUp())
		return
	case it.snap != nil:
		if _, ok := d.monitors[it.snap.Device]; !ok {
			return
		}
		again := d.applySnap(d.dev(it.snap.Device), it) // snapparts.go
		if it.resync && !again {
			// driver.proto RESYNC: the host takes this device's snapshot
			// and sends it on, so its lamp is right again too. Not for a
			// snapshot whose calls events overtook: its re-snapshot tells
			// the host once it is taken (the host took two snapshots of
			// the device, the first one's calls not yet right).
			d.ev.Emit(plugins.Event{Type: plugins.EventResync, Device: it.snap.Device})
		}
		return
	}
	ev := it.ev
	if ev.EventID != "" && d.seen.seen(ev.EventID) {
		d.stats.duplicates.Add(1)
		return
	}
	if d.wideEvent(it.gen, ev) { // subscribe.go
		return
	}
	device, ok := d.byUser[ev.TargetID]
	if !ok {
		device, ok = d.byUser[ev.UserID]
	}
	m := d.monitors[device]
	if !ok || m == nil || ev.EventData == nil {
		d.stats.unknown.Add(1)
		return
	}
	d.stats.events.Add(1)
	if ev.EventData.Type == xsi.TypeSubscriptionTerminated {
		// XSISubscription.xsd: the server ended this subscription (expired,
		// deleted by an administrator): renew it at once, or the device's
		// lamps go dark until the next refresh.
		d.renew(it.gen, m.device, ev.SubscriptionID)
		return
	}
	d.mapEvent(m, ev, pbxTime(ev.EventData))
	if d.gap(ev) {
		// An event of this subscription was lost: what the device shows
		// may be wrong. Ask the server again (after this event is applied,
		// so the snapshot is not older than it), for the part this
		// subscription's package carries (snapparts.go).
		p := d.subPart(m, ev.SubscriptionID)
		if p == 0 {
			p = partAll
		}
		d.resync(it.gen, m.device, p)
	}
}

// gap records ev's sequenceNumber (Xsi-Events: each subscription numbers
// its events 1, 2, 3, …; an event sent again keeps its number) and
// reports whether events before it were skipped. Called with d.mu held.
func (d *Driver) gap(ev *xsi.Event) bool {
	if ev.SubscriptionID == "" || ev.SequenceNumber <= 0 {
		return false
	}
	last, ok := d.seqs[ev.SubscriptionID]
	if ev.SequenceNumber > last {
		d.seqs[ev.SubscriptionID] = ev.SequenceNumber
	}
	// The first event seen of a subscription starts the count: the
	// subscription's snapshot covers what came before.
	if ok && ev.SequenceNumber > last+1 {
		d.stats.seqGaps.Add(1)
		return true
	}
	return false
}

// pruneSeqs forgets the sequence numbers of subscriptions the driver no
// longer holds (lost with a channel set, or replaced). Called with d.mu
// held.
func (d *Driver) pruneSeqs() {
	keep := map[string]bool{}
	for _, m := range d.monitors {
		keep[m.sub] = true
		for _, id := range m.svcSubs {
			keep[id] = true
		}
	}
	for _, id := range d.wide.subs {
		keep[id] = true
	}
	for id := range d.seqs {
		if !keep[id] {
			delete(d.seqs, id)
		}
	}
}

// resync asks the current channel's server loop to read parts p of
// device's snapshot again. A device already waiting for one is not queued twice, so a
// server numbering every event with a gap costs one snapshot at a time,
// not one per event. Called with d.mu held; never blocks (a full queue:
// the next gap asks again).
func (d *Driver) resync(gen uint64, device string, p parts) {
	l := d.cur
	if l == nil || l.gen != gen {
		return
	}
	if q, ok := d.resyncing[device]; ok { // queued: it reads p too
		d.resyncing[device] = q | p
		return
	}
	select {
	case l.resync <- device:
		d.resyncing[device] = p
	default:
		d.stats.renewDrops.Add(1)
	}
}

// renew asks the current channel's server loop to subscribe again for
// device's subscription sub. Called with d.mu held; never blocks (a full
// queue leaves it to the next refresh, which re-adds unknown
// subscriptions).
func (d *Driver) renew(gen uint64, device, sub string) {
	l := d.cur
	if l == nil || l.gen != gen {
		return
	}
	select {
	case l.renew <- renewal{device: device, sub: sub}:
	default:
		d.stats.renewDrops.Add(1)
	}
}

// pbxTime is the event's call timestamp (milliseconds since the epoch)
// when it has one.
func pbxTime(data *xsi.EventData) time.Time {
	if data.Call == nil {
		return time.Time{}
	}
	c := data.Call
	for _, t := range []int64{c.ReleaseTime, c.HeldTime, c.AnswerTime, c.StartTime} {
		if t > 0 {
			return time.UnixMilli(t)
		}
	}
	return time.Time{}
}

// dev returns a device's state. Called with d.mu held.
func (d *Driver) dev(device string) *devState {
	s := d.devs[device]
	if s == nil {
		s = &devState{halves: map[string]*halfState{}, fwd: map[plugins.ForwardingType]plugins.Forwarding{}}
		d.devs[device] = s
	}
	return s
}

// deviceOf names the device a party is: the monitored device of its user
// ID, else its address without the tel:/sip: scheme and domain.
func (d *Driver) deviceOf(p xsi.Party) string {
	if dev, ok := d.byUser[strings.TrimSpace(p.UserID)]; ok {
		return dev
	}
	if dev, ok := d.cfgUsers[strings.TrimSpace(p.UserID)]; ok {
		return dev
	}
	a := strings.TrimSpace(p.Address)
	a = strings.TrimPrefix(strings.TrimPrefix(a, "tel:"), "sip:")
	if at := strings.IndexByte(a, '@'); at >= 0 {
		a = a[:at]
	}
	if a == "" && p.UserID != "" {
		a, _, _ = strings.Cut(p.UserID, "@")
	}
	return a
}

func (d *Driver) snapshotLocked(device string) plugins.DeviceSnapshot {
	s := plugins.DeviceSnapshot{Device: device, Calls: []plugins.CallSnapshot{}, Seq: d.ev.Seq()}
	if st := d.devs[device]; st != nil {
		s.Calls = callsOf(device, st.halves)
		s.DND, s.MessageWaiting = st.dnd, st.mwi
		s.AgentState = st.agent
		for _, f := range st.fwd {
			s.Forwarding = append(s.Forwarding, f)
		}
	}
	slices.SortFunc(s.Forwarding, func(a, b plugins.Forwarding) int { return int(a.Type - b.Type) })
	s.Stale = d.link != pbxlink.Up // the channel is down, or not up yet in this process
	return s
}

// callsOf folds a device's halves into one CallSnapshot per model call
// (a conference controller has two halves in one call), keeping the most
// active state.
func callsOf(device string, halves map[string]*halfState) []plugins.CallSnapshot {
	rank := map[plugins.ConnectionState]int{plugins.StateConnected: 5, plugins.StateAlerting: 4,
		plugins.StateInitiated: 3, plugins.StateHold: 2, plugins.StateFail: 1}
	by := map[string]plugins.CallSnapshot{}
	ids := make([]string, 0, len(halves))
	for id := range halves {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := halves[id]
		c, ok := by[h.call]
		if !ok || rank[h.state] > rank[c.State] {
			other := h.other
			if ok && other == "" {
				other = c.Other
			}
			c = plugins.CallSnapshot{CallID: h.call, ConnectionID: h.xsiID, State: h.state, Other: other,
				OtherName: h.otherName, PartyType: h.party, GlobalCallID: h.global, LastRedirection: h.lastRedir,
				OriginalCalled: h.origCalled}
			// The parties, as the half's personality says who called whom.
			if h.personality == xsi.PersonalityTerminator {
				c.Calling, c.Called = other, device
			} else if other != "" {
				c.Calling, c.Called = device, other
			}
		}
		by[h.call] = c
	}
	out := make([]plugins.CallSnapshot, 0, len(by))
	for _, c := range by {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b plugins.CallSnapshot) int { return strings.Compare(a.CallID, b.CallID) })
	return out
}
