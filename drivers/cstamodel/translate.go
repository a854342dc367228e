package cstamodel

import (
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Calls is what a driver tracks of one monitored device's calls: call ID
// → the device's connection in it, as a snapshot shows it.
type Calls map[string]plugins.CallSnapshot

// Translator maps the ECMA-269 call events of a monitored device to model
// events. What differs between PBXs is in its fields.
type Translator struct {
	// DeviceOf names a CSTA device ID as the model does (nil: as is).
	// AES writes "ext:switch:ip:instance" where the model speaks
	// extensions.
	DeviceOf func(id string) string
	// PBXTime, when set, reads the switch's own timestamp of an event
	// into Event.PBXTime.
	PBXTime func(csta.Message) time.Time
	// InitiatorCalls names a ServiceInitiatedEvent's initiatingDevice as
	// the event's Calling party.
	InitiatorCalls bool
	// NameOf, when set, names a device (as the model names it; "" when
	// unknown): the calling, called and other party of each event get
	// their names from it. ECMA-323 events carry numbers only, so the
	// names come from the PBX's directory or the configured one.
	NameOf func(device string) string
}

func (tr *Translator) device(id string) string {
	if tr.DeviceOf == nil {
		return id
	}
	return tr.DeviceOf(id)
}

func (tr *Translator) party(p *csta.Party) string { return tr.device(p.ID()) }

// Event translates msg, a call event seen by the monitor of base.Device,
// into the model event to emit (base carries MonitorID and Device), and
// updates that device's calls. ok is false when msg is no call event the
// model knows: nothing is emitted then.
func (tr *Translator) Event(calls Calls, base plugins.Event, msg csta.Message) (ev plugins.Event, ok bool) {
	e, ok := msg.(csta.Event)
	if !ok {
		return plugins.Event{}, false
	}
	device := base.Device
	subj := e.Subject()
	base.CallID = subj.CallID
	base.ConnectionID = ConnID(subj.CallID, device)
	base.State = State(e.ConnectionState())
	base.Cause, base.RawCause = Cause(e.CauseCode()), CauseText(msg)
	if tr.PBXTime != nil {
		base.PBXTime = tr.PBXTime(msg)
	}
	switch v := msg.(type) {
	case *csta.ServiceInitiatedEvent:
		base.Type = plugins.EventServiceInitiated
		if tr.InitiatorCalls {
			base.Calling = tr.party(v.InitiatingDevice)
		}
	case *csta.OriginatedEvent:
		base.Type, base.Calling, base.Called = plugins.EventOriginated, tr.party(v.CallingDevice), tr.party(v.CalledDevice)
	case *csta.DeliveredEvent:
		base.Type, base.Calling, base.Called = plugins.EventDelivered, tr.party(v.CallingDevice), tr.party(v.CalledDevice)
		base.Other = tr.party(v.AlertingDevice)
		tr.callInfo(&base, tr.party(v.AlertingDevice), v.LastRedirectionDevice, globalID(v.CallLinkageData, v.Extensions, v.CorrelatorData), v.NetworkInfo)
	case *csta.EstablishedEvent:
		base.Type, base.Calling, base.Called = plugins.EventEstablished, tr.party(v.CallingDevice), tr.party(v.CalledDevice)
		base.Other = tr.party(v.AnsweringDevice)
		tr.callInfo(&base, tr.party(v.AnsweringDevice), v.LastRedirectionDevice, globalID(v.CallLinkageData, v.Extensions, v.CorrelatorData), v.NetworkInfo)
	case *csta.HeldEvent:
		base.Type, base.Other = plugins.EventHeld, tr.party(v.HoldingDevice)
	case *csta.RetrievedEvent:
		base.Type, base.Other = plugins.EventRetrieved, tr.party(v.RetrievingDevice)
	case *csta.ConnectionClearedEvent:
		base.Type, base.Other = plugins.EventConnectionCleared, tr.party(v.ReleasingDevice)
	case *csta.DivertedEvent:
		base.Type, base.Other = plugins.EventDiverted, tr.party(v.NewDestination)
		base.LastRedirection = tr.party(v.LastRedirectionDevice)
	case *csta.FailedEvent:
		base.Type, base.Calling, base.Called = plugins.EventFailed, tr.party(v.CallingDevice), tr.party(v.CalledDevice)
		base.Other = tr.party(v.FailingDevice)
	case *csta.QueuedEvent:
		base.Type, base.Calling, base.Called = plugins.EventQueued, tr.party(v.CallingDevice), tr.party(v.CalledDevice)
		base.Other = tr.party(v.Queue)
		if v.NumberQueued != nil {
			base.QueueLength = *v.NumberQueued
		}
		if v.CallsInFront != nil {
			base.QueuePosition = *v.CallsInFront + 1
		}
	case *csta.CallClearedEvent:
		base.Type = plugins.EventCallCleared
	case *csta.NetworkReachedEvent: // the call left over a trunk: the far end is external
		base.Type, base.Calling, base.Called = plugins.EventNetworkReached, tr.party(v.CallingDevice), tr.party(v.CalledDevice)
		base.Other, base.PartyType = tr.party(v.NetworkInterfaceUsed), plugins.PartyExternal
	case *csta.DigitsDialedEvent:
		base.Type, base.Called, base.Other = plugins.EventDigitsDialed, v.DialingSequence, tr.party(v.DialingDevice)
	case *csta.OfferedEvent: // offered is alerting that may still be refused: the lamp rings
		base.Type, base.Calling, base.Called = plugins.EventDelivered, tr.party(v.CallingDevice), tr.party(v.CalledDevice)
		base.Other = tr.party(v.OfferedDevice)
		tr.callInfo(&base, tr.party(v.OfferedDevice), v.LastRedirectionDevice, globalID(v.CallLinkageData, v.Extensions, v.CorrelatorData), v.NetworkInfo)
	case *csta.TransferedEvent:
		base.Type, base.Other = plugins.EventTransferred, tr.party(v.TransferredToDevice)
		tr.name(&base)
		tr.join(calls, &base, v.PrimaryOldCall, v.SecondaryOldCall, v.TransferredConnections, device)
		return base, true
	case *csta.ConferencedEvent:
		base.Type, base.Other = plugins.EventConferenced, tr.party(v.AddedParty)
		tr.name(&base)
		tr.join(calls, &base, v.PrimaryOldCall, v.SecondaryOldCall, v.ConferenceConnections, device)
		return base, true
	default:
		return plugins.Event{}, false
	}
	tr.name(&base)
	tr.track(calls, base, subj)
	return base, true
}

// name fills in the parties' names from NameOf.
func (tr *Translator) name(ev *plugins.Event) {
	if tr.NameOf == nil {
		return
	}
	for _, p := range []struct{ dev, name *string }{
		{&ev.Calling, &ev.CallingName}, {&ev.Called, &ev.CalledName}, {&ev.Other, &ev.OtherName}} {
		if *p.dev != "" && *p.name == "" {
			*p.name = tr.NameOf(*p.dev)
		}
	}
}

// track records the device's own connection state after a call event.
// Events about another party's connection carry the device's own state
// in localConnectionInfo, which is what the snapshot shows.
func (tr *Translator) track(calls Calls, ev plugins.Event, subj csta.ConnectionID) {
	if ev.State == plugins.StateNull || ev.State == plugins.StateUnspecified && ev.Type == plugins.EventConnectionCleared {
		delete(calls, ev.CallID)
		return
	}
	if ev.State == plugins.StateUnspecified {
		return
	}
	c := calls[ev.CallID]
	c.CallID, c.ConnectionID, c.State = ev.CallID, ev.ConnectionID, ev.State
	for _, other := range []string{ev.Calling, ev.Called, tr.device(subj.Device())} {
		if other != "" && other != ev.Device {
			c.Other = other
			break
		}
	}
	Remember(&c, ev)
	calls[ev.CallID] = c
}

// Remember copies what a call event says of the call as a whole (the
// parties, names, redirection, global id, party type) into the device's
// snapshot of it, keeping what earlier events said where this one is
// silent.
func Remember(c *plugins.CallSnapshot, ev plugins.Event) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Calling, ev.Calling)
	set(&c.Called, ev.Called)
	set(&c.OriginalCalled, ev.OriginalCalled)
	set(&c.LastRedirection, ev.LastRedirection)
	set(&c.GlobalCallID, ev.GlobalCallID)
	if ev.PartyType != plugins.PartyUnspecified {
		c.PartyType = ev.PartyType
	}
	switch c.Other {
	case "":
	case ev.Other:
		set(&c.OtherName, ev.OtherName)
	case ev.Calling:
		set(&c.OtherName, ev.CallingName)
	case ev.Called:
		set(&c.OtherName, ev.CalledName)
	}
}

// callInfo reads what a Delivered or Established event says beyond the
// parties (ECMA-269 §17.2.5, §17.2.8):
//   - lastRedirectionDevice is the device that last redirected the call
//     ("forwarded from"); when it is known, calledDevice is the device
//     the caller first called, which is not the device now alerted or
//     answering (here);
//   - global is the call's id across devices (see globalID);
//   - networkCallingDevice says the caller came from the public network
//     (external); a caller the switch cannot name that arrived on an
//     associatedCallingDevice (a trunk or line) is that trunk.
func (tr *Translator) callInfo(ev *plugins.Event, here string, lastRedir *csta.Party, global string, n csta.NetworkInfo) {
	if r := tr.party(lastRedir); r != "" {
		ev.LastRedirection = r
		if ev.Called != "" && ev.Called != here {
			ev.OriginalCalled = ev.Called
		}
	}
	ev.GlobalCallID = global
	switch {
	case n.NetworkCallingDevice.Known():
		ev.PartyType = plugins.PartyExternal
		if ev.Calling == "" {
			ev.Calling = n.NetworkCallingDevice.ID()
		}
	case n.AssociatedCallingDevice.Known() && ev.Calling == "":
		ev.PartyType = plugins.PartyTrunk
		ev.Calling = tr.party(n.AssociatedCallingDevice)
	case n.NetworkCalledDevice.Known() && ev.Called != "" && ev.Called != ev.Device:
		ev.PartyType = plugins.PartyExternal // an outgoing call to the network
	}
}

// join handles Transfered and Conferenced: the device's two old calls
// become the resulting call, named by the device's newConnection in the
// connection list, else the secondary old call (the active one).
func (tr *Translator) join(calls Calls, ev *plugins.Event, primary csta.ConnectionID, secondary *csta.ConnectionID,
	list *csta.ConnectionList, device string) {
	olds := []string{primary.CallID}
	result := primary.CallID
	if secondary != nil {
		olds = append(olds, secondary.CallID)
		result = secondary.CallID
	}
	if list != nil {
		for _, it := range list.Items {
			if it.NewConnection != nil && tr.device(it.NewConnection.Device()) == device {
				result = it.NewConnection.CallID
				if it.OldConnection != nil {
					olds = append(olds, it.OldConnection.CallID)
				}
			}
		}
	}
	var other string
	for _, id := range olds {
		if c, ok := calls[id]; ok && other == "" {
			other = c.Other
		}
		if id != result && ev.OldCallID == "" {
			ev.OldCallID = id
		}
		delete(calls, id)
	}
	ev.CallID, ev.ConnectionID = result, ConnID(result, device)
	if ev.Other != "" && ev.Other != device {
		other = ev.Other
	}
	if ev.State != plugins.StateNull && ev.State != plugins.StateUnspecified && result != "" {
		calls[result] = plugins.CallSnapshot{CallID: result, ConnectionID: ev.ConnectionID, State: ev.State, Other: other}
	}
}

// globalID is the call's id across devices: ECMA-269 callLinkageData
// (globallyUniqueCallLinkageID; Avaya AES puts its UCID there, and in its
// private data, which is searched next), else the correlatorData the
// switch carries with the call.
func globalID(link *csta.CallLinkageData, ext *csta.RawXML, corr string) string {
	if id := strings.TrimSpace(link.ID()); id != "" {
		return id
	}
	if id := ext.Find("globallyUniqueCallLinkageID"); id != "" {
		return id
	}
	return strings.TrimSpace(corr)
}
