package avaya

import (
	"context"
	"strings"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/cstamodel"
	"github.com/switchboard-gw/switchboard/drivers/pbxlink"
	"github.com/switchboard-gw/switchboard/plugins"
)

// item is one thing for the processor, in link order: an AES event, a
// device snapshot, or a link transition. gen is the link it belongs to.
type item struct {
	gen      uint64
	msg      csta.Message
	snap     *plugins.DeviceSnapshot
	mwi      bool   // snap.MessageWaiting is AES's answer (GetMessageWaitingIndicator)
	touched  uint64 // the device's event count when the snapshot was asked for
	resnap   int    // a re-snapshot's attempt (resnap.go): the host is told once it is taken
	linkUp   bool
	linkDown string
}

// process applies queued items in order until ctx ends.
func (d *Driver) process(ctx context.Context) {
	d.q.Process(ctx, func(it item) { d.apply(ctx, it) })
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
	case it.snap != nil:
		if _, ok := d.monitors[it.snap.Device]; !ok {
			return
		}
		st := d.dev(it.snap.Device)
		if it.snap.AgentState != plugins.AgentUnspecified && st.Touched == it.touched {
			st.agent = it.snap.AgentState // no agent event since it was asked
		}
		if it.mwi && st.Touched == it.touched {
			st.MWI = it.snap.MessageWaiting // no message-waiting event since it was asked
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
	xref := monitorOf(it.msg)
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

// monitorOf returns an event's monitorCrossRefID, the DMCC feature
// events' included.
func monitorOf(m csta.Message) string {
	switch e := m.(type) {
	case *dmcc.DoNotDisturbEvent:
		return e.MonitorCrossRefID
	case *dmcc.ForwardingEvent:
		return e.MonitorCrossRefID
	case *dmcc.AgentEvent:
		return e.MonitorCrossRefID
	}
	return cstamodel.MonitorOf(m)
}

// translator maps AES's call events: DMCC device IDs named by their
// extension; ServiceInitiated names its initiating device as Calling;
// the parties' names from the configured directory (names is
// cstamodel.Names of it).
func translator(names func(string) string) *cstamodel.Translator {
	return &cstamodel.Translator{DeviceOf: dmcc.Extension, InitiatorCalls: true, NameOf: names}
}

// mapEvent translates one CSTA event for monitor m into the model and
// updates the device's state. Called with d.mu held.
func (d *Driver) mapEvent(m *monitor, msg csta.Message) {
	st := d.dev(m.device)
	st.Touched++
	base := plugins.Event{MonitorID: m.id, Device: m.device}
	if d.mapFeature(st, base, msg) {
		return
	}
	if ev, ok := d.tr.Event(st.Calls, base, msg); ok {
		d.emit(ev)
	}
}

// mapFeature handles the logical device feature events: DND, forwarding
// and agent state. It reports whether msg was one of them (or another
// non-call event, which is counted and dropped).
func (d *Driver) mapFeature(st *devState, base plugins.Event, msg csta.Message) bool {
	switch v := msg.(type) {
	case *dmcc.DoNotDisturbEvent:
		st.DND = v.DoNotDisturbOn
		base.Type, base.DND = plugins.EventDoNotDisturb, v.DoNotDisturbOn
		if v.DoNotDisturbOn {
			base.Cause = plugins.CauseDoNotDisturb
		}
		d.emit(base)
	case *dmcc.ForwardingEvent:
		f := plugins.Forwarding{Type: cstamodel.ForwardType(v.ForwardingType), To: strings.TrimSpace(v.ForwardTo), Enabled: v.ForwardStatus}
		if f.Type == plugins.ForwardUnspecified {
			d.stats.unknown.Add(1)
			return true
		}
		if f.Enabled {
			st.Fwd[f.Type] = f
		} else {
			delete(st.Fwd, f.Type)
		}
		base.Type, base.Forwarding = plugins.EventForwarding, &f
		d.emit(base)
	case *dmcc.AgentEvent:
		a := agentFromEvent(v.Name)
		if a == plugins.AgentUnspecified {
			d.stats.unknown.Add(1)
			return true
		}
		st.agent = a
		base.Type, base.AgentState, base.RawCause = plugins.EventAgentState, a, v.Name
		d.emit(base)
	case *csta.MessageWaitingEvent:
		d.emit(st.MessageWaiting(base, v))
	case csta.Event:
		return false
	default:
		d.stats.unknown.Add(1)
	}
	return true
}
