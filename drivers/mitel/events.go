package mitel

import (
	"context"
	"strings"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/cstamodel"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
)

// item is one thing for the processor, in link order: a PBX event, a
// device snapshot, or a link transition. gen is the link it belongs to.
type item struct {
	gen      uint64
	msg      csta.Message
	snap     *plugins.DeviceSnapshot
	mwi      bool   // snap.MessageWaiting is the PBX's answer (GetMessageWaitingIndicator)
	touched  uint64 // the device's event count when the snapshot was asked for
	resnap   int    // a re-snapshot's attempt (resnap.go): the host is told once it is taken
	linkUp   bool
	linkDown string
	resync   bool          // fresh snapshots were queued before: tell the host
	applied  chan struct{} // closed once the item was handled, if set
}

// process applies queued items in order until ctx ends.
func (d *Driver) process(ctx context.Context) {
	d.q.Process(ctx, func(it item) {
		d.apply(ctx, it)
		if it.applied != nil {
			close(it.applied)
		}
	})
	d.mu.Lock()
	d.cond.Broadcast()
	d.mu.Unlock()
}

// apply handles one item under d.mu, so a snapshot's Seq always matches
// the state it shows.
func (d *Driver) apply(ctx context.Context, it item) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case it.linkDown != "":
		if ev, ok := d.link.GoDown(it.linkDown); ok {
			for _, s := range d.devs {
				s.Calls = map[string]plugins.CallSnapshot{} // older calls are unknown now
			}
			d.emit(ev)
		}
		return
	case it.gen != d.gen:
		d.stats.stale.Add(1)
		return
	case it.linkUp:
		d.stats.linkUps.Add(1)
		d.emit(d.link.GoUp())
		return
	case it.resync:
		d.emit(plugins.Event{Type: plugins.EventResync})
		return
	case it.snap != nil:
		if _, ok := d.monitors[it.snap.Device]; !ok {
			return
		}
		st := d.dev(it.snap.Device)
		if it.mwi && st.Touched == it.touched { // no newer event (MessageWaitingEvent) since the query
			st.MWI = it.snap.MessageWaiting
		}
		if it.resnap >= pbxlink.MaxResnaps {
			it.touched = st.Touched // overtaken every time: the events after it correct it
		}
		if !st.ApplySnapshot(it.snap, it.touched) {
			d.resnap(it.gen, it.snap.Device, it.resnap+1) // events overtook it: ask again
			return
		}
		if it.resnap > 0 && d.link == pbxlink.Up { // the host may hold the state before it (else its link_up brings it)
			d.emit(plugins.Event{Type: plugins.EventResync, Device: it.snap.Device})
		}
		return
	}
	xref := cstamodel.MonitorOf(it.msg)
	m := d.byXref[xref]
	// A MonitorStart in flight may not have recorded its xref yet: its
	// response was read before this event, so wait for it to finish.
	for m == nil && d.inflight > 0 && ctx.Err() == nil && it.gen == d.gen {
		d.cond.Wait()
		m = d.byXref[xref]
	}
	if m == nil {
		d.stats.unknown.Add(1)
		d.stopOrphanLocked(it.gen, xref) // orphan.go
		return
	}
	d.stats.events.Add(1)
	d.mapEvent(m, it.msg)
}

// dev returns a device's state. Called with d.mu held.
func (d *Driver) dev(device string) *devState {
	s := d.devs[device]
	if s == nil {
		s = &devState{Device: cstamodel.NewDevice()}
		d.devs[device] = s
	}
	return s
}

// emit queues a model event. Called with d.mu held.
func (d *Driver) emit(ev plugins.Event) { d.ev.Emit(ev) }

// dndEvent is ECMA-323 DoNotDisturbEvent (~ from ECMA-323's logical device
// feature events; MiVO400 sending it is not confirmed by a public trace).
type dndEvent struct {
	MonitorCrossRefID string     `xml:"monitorCrossRefID"`
	Device            csta.Party `xml:"device"`
	DoNotDisturbOn    bool       `xml:"doNotDisturbOn"`
}

// fwdEvent is ECMA-323 ForwardingEvent (~).
type fwdEvent struct {
	MonitorCrossRefID string     `xml:"monitorCrossRefID"`
	Device            csta.Party `xml:"device"`
	ForwardingType    string     `xml:"forwardingType"`
	ForwardStatus     bool       `xml:"forwardStatus"`
	ForwardTo         string     `xml:"forwardTo"`
}

// mapEvent translates one CSTA event for monitor m into the model and
// updates the device's state. Called with d.mu held.
func (d *Driver) mapEvent(m *monitor, msg csta.Message) {
	st := d.dev(m.device)
	st.Touched++
	base := plugins.Event{MonitorID: m.id, Device: m.device}
	if raw, ok := msg.(*csta.RawMessage); ok {
		d.mapFeature(m, st, base, raw)
		return
	}
	if mw, ok := msg.(*csta.MessageWaitingEvent); ok {
		d.emit(st.MessageWaiting(base, mw))
		return
	}
	if ev, ok := d.tr.Event(st.Calls, base, msg); ok {
		d.emit(ev)
	}
}

// mapFeature handles DoNotDisturbEvent and ForwardingEvent.
func (d *Driver) mapFeature(m *monitor, st *devState, base plugins.Event, raw *csta.RawMessage) {
	switch raw.RootName() {
	case "DoNotDisturbEvent":
		var v dndEvent
		if raw.Unmarshal(&v) != nil {
			return
		}
		st.DND = v.DoNotDisturbOn
		base.Type, base.DND = plugins.EventDoNotDisturb, v.DoNotDisturbOn
		if v.DoNotDisturbOn {
			base.Cause = plugins.CauseDoNotDisturb
		}
		d.emit(base)
	case "ForwardingEvent":
		var v fwdEvent
		if raw.Unmarshal(&v) != nil {
			return
		}
		f := plugins.Forwarding{Type: cstamodel.ForwardType(v.ForwardingType), To: strings.TrimSpace(v.ForwardTo), Enabled: v.ForwardStatus}
		if f.Enabled {
			st.Fwd[f.Type] = f
		} else {
			delete(st.Fwd, f.Type)
		}
		base.Type, base.Forwarding = plugins.EventForwarding, &f
		d.emit(base)
	default:
		d.stats.unknown.Add(1)
	}
	_ = m
}
