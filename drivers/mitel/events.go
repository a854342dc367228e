package mitel

import (
	"context"
	"slices"
	"strings"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// item is one thing for the processor, in link order: a PBX event, a
// device snapshot, or a link transition. gen is the link it belongs to.
type item struct {
	gen      uint64
	msg      csta.Message
	snap     *plugins.DeviceSnapshot
	touched  uint64 // the device's event count when the snapshot was asked for
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
				s.calls = map[string]plugins.CallSnapshot{} // older calls are unknown now
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
		if st.touched == it.touched {
			st.calls = map[string]plugins.CallSnapshot{}
			for _, c := range it.snap.Calls {
				st.calls[c.CallID] = c
			}
		}
		st.dnd = it.snap.DND
		st.fwd = map[plugins.ForwardingType]plugins.Forwarding{}
		for _, f := range it.snap.Forwarding {
			st.fwd[f.Type] = f
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
		return
	}
	d.stats.events.Add(1)
	d.mapEvent(m, it.msg)
}

// dev returns a device's state. Called with d.mu held.
func (d *Driver) dev(device string) *devState {
	s := d.devs[device]
	if s == nil {
		s = &devState{calls: map[string]plugins.CallSnapshot{}, fwd: map[plugins.ForwardingType]plugins.Forwarding{}}
		d.devs[device] = s
	}
	return s
}

// emit queues a model event. Called with d.mu held.
func (d *Driver) emit(ev plugins.Event) { d.ev.Emit(ev) }

// monitorOf returns an event's monitorCrossRefID.
func monitorOf(m csta.Message) string {
	switch e := m.(type) {
	case csta.Event:
		return e.Monitor()
	case *csta.RawMessage:
		var v struct {
			X string `xml:"monitorCrossRefID"`
		}
		_ = e.Unmarshal(&v)
		return strings.TrimSpace(v.X)
	}
	return ""
}

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
	st.touched++
	base := plugins.Event{MonitorID: m.id, Device: m.device}
	if raw, ok := msg.(*csta.RawMessage); ok {
		d.mapFeature(m, st, base, raw)
		return
	}
	e, ok := msg.(csta.Event)
	if !ok {
		return
	}
	subj := e.Subject()
	base.CallID = subj.CallID
	base.ConnectionID = connID(subj.CallID, m.device)
	base.State = mapState(e.ConnectionState())
	base.Cause, base.RawCause = mapCause(e.CauseCode()), causeText(msg)
	base.PBXTime = pbxTime(msg)
	switch v := msg.(type) {
	case *csta.ServiceInitiatedEvent:
		base.Type = plugins.EventServiceInitiated
	case *csta.OriginatedEvent:
		base.Type, base.Calling, base.Called = plugins.EventOriginated, v.CallingDevice.ID(), v.CalledDevice.ID()
	case *csta.DeliveredEvent:
		base.Type, base.Calling, base.Called = plugins.EventDelivered, v.CallingDevice.ID(), v.CalledDevice.ID()
		base.Other = v.AlertingDevice.ID()
	case *csta.EstablishedEvent:
		base.Type, base.Calling, base.Called = plugins.EventEstablished, v.CallingDevice.ID(), v.CalledDevice.ID()
		base.Other = v.AnsweringDevice.ID()
	case *csta.HeldEvent:
		base.Type, base.Other = plugins.EventHeld, v.HoldingDevice.ID()
	case *csta.RetrievedEvent:
		base.Type, base.Other = plugins.EventRetrieved, v.RetrievingDevice.ID()
	case *csta.ConnectionClearedEvent:
		base.Type, base.Other = plugins.EventConnectionCleared, v.ReleasingDevice.ID()
	case *csta.DivertedEvent:
		base.Type, base.Other = plugins.EventDiverted, v.NewDestination.ID()
	case *csta.FailedEvent:
		base.Type, base.Calling, base.Called = plugins.EventFailed, v.CallingDevice.ID(), v.CalledDevice.ID()
		base.Other = v.FailingDevice.ID()
	case *csta.TransferedEvent:
		base.Type, base.Other = plugins.EventTransferred, v.TransferredToDevice.ID()
		d.join(st, &base, v.PrimaryOldCall, v.SecondaryOldCall, v.TransferredConnections, m.device)
		d.emit(base)
		return
	case *csta.ConferencedEvent:
		base.Type, base.Other = plugins.EventConferenced, v.AddedParty.ID()
		d.join(st, &base, v.PrimaryOldCall, v.SecondaryOldCall, v.ConferenceConnections, m.device)
		d.emit(base)
		return
	default:
		return
	}
	d.track(st, base, subj)
	d.emit(base)
}

// track records the device's own connection state after a call event.
// Events about another party's connection carry the device's own state
// in localConnectionInfo, which is what the snapshot shows.
func (d *Driver) track(st *devState, ev plugins.Event, subj csta.ConnectionID) {
	if ev.State == plugins.StateNull || ev.State == plugins.StateUnspecified && ev.Type == plugins.EventConnectionCleared {
		delete(st.calls, ev.CallID)
		return
	}
	if ev.State == plugins.StateUnspecified {
		return
	}
	c := st.calls[ev.CallID]
	c.CallID, c.ConnectionID, c.State = ev.CallID, ev.ConnectionID, ev.State
	for _, other := range []string{ev.Calling, ev.Called, subj.Device()} {
		if other != "" && other != ev.Device {
			c.Other = other
			break
		}
	}
	st.calls[ev.CallID] = c
}

// join handles Transfered and Conferenced: the device's two old calls
// become the resulting call, named by the device's newConnection in the
// connection list, else the secondary old call (the active one).
func (d *Driver) join(st *devState, ev *plugins.Event, primary csta.ConnectionID, secondary *csta.ConnectionID,
	list *csta.ConnectionList, device string) {
	olds := []string{primary.CallID}
	result := primary.CallID
	if secondary != nil {
		olds = append(olds, secondary.CallID)
		result = secondary.CallID
	}
	if list != nil {
		for _, it := range list.Items {
			if it.NewConnection != nil && it.NewConnection.Device() == device {
				result = it.NewConnection.CallID
				if it.OldConnection != nil {
					olds = append(olds, it.OldConnection.CallID)
				}
			}
		}
	}
	var other string
	for _, id := range olds {
		if c, ok := st.calls[id]; ok && other == "" {
			other = c.Other
		}
		if id != result && ev.OldCallID == "" {
			ev.OldCallID = id
		}
		delete(st.calls, id)
	}
	ev.CallID, ev.ConnectionID = result, connID(result, device)
	if ev.Other != "" && ev.Other != device {
		other = ev.Other
	}
	if ev.State != plugins.StateNull && ev.State != plugins.StateUnspecified && result != "" {
		st.calls[result] = plugins.CallSnapshot{CallID: result, ConnectionID: ev.ConnectionID, State: ev.State, Other: other}
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
		st.dnd = v.DoNotDisturbOn
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
		f := plugins.Forwarding{Type: forwardType(v.ForwardingType), To: strings.TrimSpace(v.ForwardTo), Enabled: v.ForwardStatus}
		if f.Enabled {
			st.fwd[f.Type] = f
		} else {
			delete(st.fwd, f.Type)
		}
		base.Type, base.Forwarding = plugins.EventForwarding, &f
		d.emit(base)
	default:
		d.stats.unknown.Add(1)
	}
	_ = m
}

// causeText returns the event's cause as the PBX wrote it.
func causeText(m csta.Message) string {
	switch e := m.(type) {
	case *csta.ServiceInitiatedEvent:
		return e.Cause
	case *csta.OriginatedEvent:
		return e.Cause
	case *csta.DeliveredEvent:
		return e.Cause
	case *csta.EstablishedEvent:
		return e.Cause
	case *csta.HeldEvent:
		return e.Cause
	case *csta.RetrievedEvent:
		return e.Cause
	case *csta.ConnectionClearedEvent:
		return e.Cause
	case *csta.TransferedEvent:
		return e.Cause
	case *csta.ConferencedEvent:
		return e.Cause
	case *csta.DivertedEvent:
		return e.Cause
	case *csta.FailedEvent:
		return e.Cause
	}
	return ""
}

func connID(call, device string) string {
	if call == "" {
		return ""
	}
	return call + "@" + device
}

func sortSnapshot(s *plugins.DeviceSnapshot) {
	slices.SortFunc(s.Calls, func(a, b plugins.CallSnapshot) int { return strings.Compare(a.CallID, b.CallID) })
	slices.SortFunc(s.Forwarding, func(a, b plugins.Forwarding) int { return int(a.Type - b.Type) })
}
