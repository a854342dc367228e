package cisco

import (
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/plugins"
)

// mapState maps an Xsi call state and personality to the model's state of
// the device's connection (cti-protocols.md §1): an Alerting call is
// initiated for a click-to-dial (the user's own phone rings first),
// connected for the originator (the far end rings) and alerting for the
// terminator; Remote Held is connected (the other party held us).
func mapState(state, personality string) plugins.ConnectionState {
	switch state {
	case xsi.StateAlerting:
		switch personality {
		case xsi.PersonalityClickToDial:
			return plugins.StateInitiated
		case xsi.PersonalityOriginator:
			return plugins.StateConnected
		}
		return plugins.StateAlerting
	case xsi.StateActive, xsi.StateRemoteHeld:
		return plugins.StateConnected
	case xsi.StateHeld:
		return plugins.StateHold
	case xsi.StateReleased, xsi.StateDetached, xsi.StateIdle:
		return plugins.StateNull
	}
	return plugins.StateUnspecified
}

// releaseCauses maps XSIDataTypes.xsd's InternalReleaseCause enumeration
// (the Xsi XSDs, public copy in spr-plusnet/libxsi), lower-cased, plus the
// spellings seen in BroadWorks logs before (~: "route failure", "not
// found", "no answer", "unavailable").
var releaseCauses = map[string]plugins.Cause{
	"busy":                    plugins.CauseBusy,
	"forbidden":               plugins.CauseBlocked,
	"routing failure":         plugins.CauseDestinationNotObtainable,
	"global failure":          plugins.CauseDestinationNotObtainable,
	"request failure":         plugins.CauseDestinationNotObtainable,
	"server failure":          plugins.CauseNetworkCongestion,
	"translation failure":     plugins.CauseInvalidNumberFormat,
	"temporarily unavailable": plugins.CauseDestinationNotObtainable,
	"user not found":          plugins.CauseDestinationNotObtainable,
	"request timeout":         plugins.CauseNoAnswer,
	"dial tone timeout":       plugins.CauseCallCancelled,
	"insufficient credits":    plugins.CauseBlocked,
	"route failure":           plugins.CauseDestinationNotObtainable,
	"not found":               plugins.CauseDestinationNotObtainable,
	"no answer":               plugins.CauseNoAnswer,
	"unavailable":             plugins.CauseDestinationNotObtainable,
}

// releaseCause maps a release cause; none means normal clearing.
func releaseCause(c *xsi.ReleaseCause) (plugins.Cause, string) {
	if c == nil || strings.TrimSpace(c.InternalReleaseCause) == "" {
		return plugins.CauseNormalClearing, ""
	}
	raw := strings.TrimSpace(c.InternalReleaseCause)
	return releaseCauses[strings.ToLower(raw)], raw
}

// failure reports whether a release cause means the call failed to
// connect (CSTA Failed) rather than ended.
func failure(c plugins.Cause) bool {
	switch c {
	case plugins.CauseBusy, plugins.CauseDestinationNotObtainable, plugins.CauseBlocked, plugins.CauseNoAnswer,
		plugins.CauseNetworkCongestion, plugins.CauseInvalidNumberFormat:
		return true
	}
	return false
}

// redirectCauses maps the redirect reason of a forwarded or redirected
// call ~.
var redirectCauses = map[string]plugins.Cause{
	"unconditional": plugins.CauseCallForwardImmediate,
	"user-busy":     plugins.CauseCallForwardBusy,
	"no-answer":     plugins.CauseCallForwardNoAnswer,
	"deflection":    plugins.CauseRedirected,
	"transfer":      plugins.CauseSingleStepTransfer,
}

func redirectCause(r *xsi.Redirect) (plugins.Cause, string) {
	if r == nil {
		return plugins.CauseRedirected, ""
	}
	if c, ok := redirectCauses[strings.ToLower(strings.TrimSpace(r.Reason))]; ok {
		return c, r.Reason
	}
	return plugins.CauseRedirected, r.Reason
}

// forwardServices maps the model's forwarding types to Xsi services.
var forwardServices = map[plugins.ForwardingType]string{
	plugins.ForwardImmediate: xsi.ServiceCallForwardingAlways,
	plugins.ForwardBusy:      xsi.ServiceCallForwardingBusy,
	plugins.ForwardNoAnswer:  xsi.ServiceCallForwardingNoAnswer,
}

// acdStates maps the model's settable agent states to Xsi agentACDState
// values. AgentBusy is not settable: the server sets it on an ACD call.
var acdStates = map[plugins.AgentState]string{
	plugins.AgentLoggedOn:         xsi.ACDSignIn,
	plugins.AgentReady:            xsi.ACDAvailable,
	plugins.AgentNotReady:         xsi.ACDUnavailable,
	plugins.AgentWorkingAfterCall: xsi.ACDWrapUp,
	plugins.AgentLoggedOff:        xsi.ACDSignOut,
}

// agentFromACD maps an agentACDState to the model; unknown → unspecified.
func agentFromACD(s string) plugins.AgentState {
	s = strings.TrimSpace(s)
	for a, v := range acdStates {
		if strings.EqualFold(v, s) {
			return a
		}
	}
	return plugins.AgentUnspecified
}

// forwardEvents maps the forwarding service events to the model's types.
var forwardEvents = map[string]plugins.ForwardingType{
	xsi.TypeCallForwardingAlways:   plugins.ForwardImmediate,
	xsi.TypeCallForwardingBusy:     plugins.ForwardBusy,
	xsi.TypeCallForwardingNoAnswer: plugins.ForwardNoAnswer,
}

// opKind is a service the driver asked for on a call half, so that the
// CallReleasedEvent it causes is reported as what it is.
type opKind int

const (
	opTransfer opKind = iota + 1
	opSingleStep
	opPark
	opConsult
)

// pendingOp is one such service; a transfer's two halves share one.
type pendingOp struct {
	kind   opKind
	result string // transfer: the resulting call
	to     string // transferred-to device or park slot
	told   bool   // transfer: Transferred already emitted for the first half
}

// mapEvent translates one Xsi event for monitor m into the model and
// updates the device's state. Called with d.mu held.
func (d *Driver) mapEvent(m *monitor, ev *xsi.Event, at time.Time) {
	st := d.dev(m.device)
	st.touched++
	data := ev.EventData
	base := plugins.Event{MonitorID: m.id, Device: m.device, PBXTime: at}
	switch data.Type {
	case xsi.TypeDoNotDisturbEvent, xsi.TypeVoiceMailMessageSummaryEvent, xsi.TypeAgentStateEvent,
		xsi.TypeCallForwardingAlways, xsi.TypeCallForwardingBusy, xsi.TypeCallForwardingNoAnswer:
	default:
		st.lastCall = st.touched // a call event (resnap.go)
	}
	switch data.Type {
	case xsi.TypeCallSubscriptionEvent: // the user's calls now: a resync
		st.lastFull = st.touched
		st.halves = map[string]*halfState{}
		for _, c := range data.Calls {
			if s := mapState(c.State, c.Personality); s != plugins.StateNull && s != plugins.StateUnspecified {
				st.halves[c.CallID] = &halfState{xsiID: c.CallID, call: callOf(c), state: s,
					personality: c.Personality, other: d.deviceOf(c.RemoteParty)}
			}
		}
		return
	case xsi.TypeDoNotDisturbEvent:
		if data.Info == nil {
			return
		}
		st.dnd = data.Info.Active
		base.Type, base.DND = plugins.EventDoNotDisturb, st.dnd
		if st.dnd {
			base.Cause = plugins.CauseDoNotDisturb
		}
		d.ev.Emit(base)
		return
	case xsi.TypeVoiceMailMessageSummaryEvent:
		if data.Summary == nil {
			return
		}
		st.mwi = data.Summary.NewMessages > 0 || data.Summary.NewUrgentMessages > 0
		base.Type, base.MessageWaiting = plugins.EventMessageWaiting, st.mwi
		d.ev.Emit(base)
		return
	case xsi.TypeAgentStateEvent:
		if data.AgentState == nil {
			return
		}
		a := agentFromACD(data.AgentState.State)
		if a == plugins.AgentUnspecified {
			d.stats.unknown.Add(1)
			return
		}
		st.agent = a
		base.Type, base.AgentState, base.RawCause = plugins.EventAgentState, a, data.AgentState.UnavailableCode
		d.ev.Emit(base)
		return
	case xsi.TypeCallForwardingAlways, xsi.TypeCallForwardingBusy, xsi.TypeCallForwardingNoAnswer:
		if data.Info == nil {
			return
		}
		f := plugins.Forwarding{Type: forwardEvents[data.Type], To: strings.TrimSpace(data.Info.ForwardToPhoneNumber),
			Enabled: data.Info.Active}
		if f.Enabled {
			st.fwd[f.Type] = f
		} else {
			delete(st.fwd, f.Type)
		}
		base.Type, base.Forwarding = plugins.EventForwarding, &f
		d.ev.Emit(base)
		return
	case xsi.TypeConferenceStartedEvent:
		if data.Conference != nil {
			d.conferenced(m, st, base, data.Conference)
		}
		return
	}
	c := data.Call
	if c == nil || c.CallID == "" {
		return
	}
	h := st.halves[c.CallID]
	if h == nil {
		if data.Type == xsi.TypeCallReleasedEvent && st.gone(c.CallID) {
			return // already reported as diverted
		}
		h = &halfState{xsiID: c.CallID, call: callOf(*c)}
	}
	wasClickToDial := h.personality == xsi.PersonalityClickToDial
	h.personality = c.Personality
	other := d.deviceOf(c.RemoteParty)
	state := mapState(c.State, c.Personality)
	base.CallID, base.ConnectionID, base.State, base.Other = h.call, c.CallID, state, other
	if c.Personality == xsi.PersonalityTerminator {
		base.Calling, base.Called = other, m.device
	} else {
		base.Calling, base.Called = m.device, other
	}
	d.callInfo(&base, h, c)
	switch data.Type {
	case xsi.TypeCallOriginatingEvent:
		base.Type, base.Cause = plugins.EventServiceInitiated, plugins.CauseMakeCall
	case xsi.TypeCallOriginatedEvent:
		base.Type, base.Cause = plugins.EventOriginated, plugins.CauseNewCall
		if wasClickToDial {
			base.Cause = plugins.CauseMakeCall
		}
	case xsi.TypeCallReceivedEvent, xsi.TypeCallPickedUpEvent, xsi.TypeCallParkRetrievedEvent:
		base.Type, base.Cause = plugins.EventDelivered, plugins.CauseNewCall
		if data.Type == xsi.TypeCallPickedUpEvent {
			base.Cause = plugins.CauseCallPickup
		} else if data.Type == xsi.TypeCallParkRetrievedEvent {
			base.Cause = plugins.CausePark
		}
		d.deliveredToCaller(m.device, h.call)
	case xsi.TypeCallAnsweredEvent:
		base.Type = plugins.EventEstablished
	case xsi.TypeCallHeldEvent:
		base.Type = plugins.EventHeld
		if op, ok := d.ops[c.CallID]; ok && op.kind == opConsult {
			base.Cause = plugins.CauseConsultation
			delete(d.ops, c.CallID)
		}
	case xsi.TypeCallRetrievedEvent:
		base.Type = plugins.EventRetrieved
	case xsi.TypeCallReleasingEvent:
		base.Type, base.State = plugins.EventFailed, plugins.StateFail
		base.Cause, base.RawCause = releaseCause(c.ReleaseCause)
	case xsi.TypeCallReleasedEvent:
		d.released(st, h, c, base)
		return
	case xsi.TypeCallTransferredEvent:
		base.Type, base.Cause = plugins.EventTransferred, plugins.CauseTransfer
		h.delivered = false // a new far end may be alerted
		if next := callOf(*c); next != h.call {
			base.OldCallID, h.call = h.call, next
			base.CallID = next
		}
	case xsi.TypeCallForwardedEvent:
		base.Type = plugins.EventDiverted
		h.delivered = false
		base.Cause, base.RawCause = redirectCause(c.Redirect)
	case xsi.TypeCallRedirectedEvent, xsi.TypeCallDetachedEvent:
		base.Type, base.State = plugins.EventDiverted, plugins.StateNull
		base.Cause, base.RawCause = redirectCause(c.Redirect)
		if c.Redirect != nil {
			base.Other = d.deviceOf(xsi.Party{Address: c.Redirect.Address})
		}
		delete(st.halves, c.CallID)
		st.markGone(c.CallID)
		d.ev.Emit(base)
		return
	case xsi.TypeCallUpdatedEvent:
		h.other = other
		if state != plugins.StateUnspecified && state != plugins.StateNull {
			h.state = state
			st.halves[c.CallID] = h
		}
		return
	default:
		d.stats.unknown.Add(1)
		return
	}
	if state == plugins.StateNull || base.State == plugins.StateFail {
		delete(st.halves, c.CallID)
	} else if state != plugins.StateUnspecified {
		h.state, h.other = state, other
		st.halves[c.CallID] = h
	}
	d.ev.Emit(base)
	// An originator's call in Alerting rings at the far end. When the far
	// end is monitored here its CallReceivedEvent tells when
	// (deliveredToCaller); when it is not, nothing more will, so the
	// Delivered is reported now.
	if c.State == xsi.StateAlerting && c.Personality == xsi.PersonalityOriginator && !h.delivered &&
		data.Type != xsi.TypeCallOriginatingEvent && d.monitors[other] == nil {
		h.delivered = true
		dl := base
		dl.Type, dl.Cause, dl.OldCallID = plugins.EventDelivered, plugins.CauseNewCall, ""
		d.ev.Emit(dl)
	}
}

// partyTypes maps XSIDataTypes.xsd's CallType (the relation between the
// user and the remote party) to the model; the others are unspecified.
var partyTypes = map[string]plugins.PartyType{
	"Group": plugins.PartyInternal, "Enterprise": plugins.PartyInternal,
	"City-Wide Centrex": plugins.PartyInternal, "Private Dial Plan": plugins.PartyInternal,
	"Network": plugins.PartyExternal, "Emergency": plugins.PartyExternal, "Repair": plugins.PartyExternal,
}

// callInfo adds what the Xsi call says beyond the parties: the remote
// party's name (remoteParty/name) and type (remoteParty/callType), the
// global id (extTrackingId, the same on both halves), and for a
// redirected call the last redirecting party and the first one (the
// number first called; redirections list the most recent first). h keeps
// them for snapshots.
func (d *Driver) callInfo(ev *plugins.Event, h *halfState, c *xsi.Call) {
	if n := strings.TrimSpace(c.RemoteParty.Name); n != "" {
		h.otherName = n
	}
	if t, ok := partyTypes[strings.TrimSpace(c.RemoteParty.CallType)]; ok {
		h.party = t
	}
	if c.ExtTrackingID != "" {
		h.global = c.ExtTrackingID
	}
	if p := c.Redirections.Last(); p != nil {
		h.lastRedir = d.deviceOf(*p)
		if f := c.Redirections.First(); f != nil {
			h.origCalled = d.deviceOf(*f)
		}
	}
	ev.OtherName, ev.PartyType, ev.GlobalCallID = h.otherName, h.party, h.global
	ev.LastRedirection, ev.OriginalCalled = h.lastRedir, h.origCalled
	if c.Personality == xsi.PersonalityTerminator {
		ev.CallingName = h.otherName
	} else {
		ev.CalledName = h.otherName
	}
}

// callOf is the model call ID of an Xsi call: its extTrackingId, else its
// callId.
func callOf(c xsi.Call) string {
	if c.ExtTrackingID != "" {
		return c.ExtTrackingID
	}
	return c.CallID
}

// deliveredToCaller emits Delivered to the monitored caller of a call that
// now alerts at a monitored device: Xsi tells the originator nothing when
// the far end starts ringing, but both halves share the extTrackingId.
func (d *Driver) deliveredToCaller(callee, call string) {
	for dev, st := range d.devs {
		if dev == callee {
			continue
		}
		for _, h := range st.halves {
			if h.call != call || h.personality != xsi.PersonalityOriginator || h.delivered {
				continue
			}
			h.delivered = true
			m := d.monitors[dev]
			if m == nil {
				continue
			}
			d.ev.Emit(plugins.Event{MonitorID: m.id, Device: dev, CallID: call, ConnectionID: h.xsiID,
				Type: plugins.EventDelivered, State: h.state, Cause: plugins.CauseNewCall,
				Calling: dev, Called: callee, Other: callee})
		}
	}
}

// released reports a CallReleasedEvent: what the driver asked for
// (transfer, single-step transfer, park), a failed call (released with a
// failure cause before it was answered: Failed, then ConnectionCleared),
// or a plain ConnectionCleared.
func (d *Driver) released(st *devState, h *halfState, c *xsi.Call, base plugins.Event) {
	delete(st.halves, c.CallID)
	base.State = plugins.StateNull
	base.Cause, base.RawCause = releaseCause(c.ReleaseCause)
	if c.ReleasingParty == "localRelease" {
		base.Other = base.Device
	}
	if op, ok := d.ops[c.CallID]; ok {
		delete(d.ops, c.CallID)
		switch op.kind {
		case opTransfer:
			base.Cause = plugins.CauseTransfer
			if !op.told {
				op.told = true
				base.Type, base.Other = plugins.EventTransferred, op.to
				if op.result != base.CallID {
					base.OldCallID, base.CallID = base.CallID, op.result
				}
				d.ev.Emit(base)
				return
			}
		case opSingleStep:
			base.Type, base.Cause, base.Other = plugins.EventTransferred, plugins.CauseSingleStepTransfer, op.to
			d.ev.Emit(base)
			return
		case opPark:
			base.Type, base.Cause, base.Other = plugins.EventParked, plugins.CausePark, op.to
			d.ev.Emit(base)
			return
		}
	}
	if c.AnswerTime == 0 && failure(base.Cause) && h.state != plugins.StateHold {
		failed := base
		failed.Type, failed.State = plugins.EventFailed, plugins.StateFail
		d.ev.Emit(failed)
	}
	base.Type = plugins.EventConnectionCleared
	d.ev.Emit(base)
}

// conferenced reports ConferenceStartedEvent: the controller's halves
// become one model call (the first participant's), and every other
// monitored device in one of the joined calls gets Conferenced too.
func (d *Driver) conferenced(m *monitor, st *devState, base plugins.Event, conf *xsi.ConferenceInfo) {
	var hs []*halfState
	for _, p := range conf.Participants {
		if h := st.halves[strings.TrimSpace(p.CallID)]; h != nil {
			hs = append(hs, h)
		}
	}
	if len(hs) == 0 {
		return
	}
	result := hs[0].call
	olds := map[string]bool{}
	for _, h := range hs {
		olds[h.call] = true
		if h.call != result && base.OldCallID == "" {
			base.OldCallID = h.call
		}
		h.call, h.state = result, plugins.StateConnected
	}
	base.Type, base.Cause, base.CallID, base.ConnectionID = plugins.EventConferenced, plugins.CauseConference, result, hs[0].xsiID
	base.State, base.Other = plugins.StateConnected, hs[len(hs)-1].other
	d.ev.Emit(base)
	for dev, ost := range d.devs {
		om := d.monitors[dev]
		if dev == m.device || om == nil {
			continue
		}
		for _, h := range ost.halves {
			if !olds[h.call] {
				continue
			}
			ev := plugins.Event{MonitorID: om.id, Device: dev, Type: plugins.EventConferenced,
				Cause: plugins.CauseConference, CallID: result, ConnectionID: h.xsiID, State: h.state, Other: m.device}
			if h.call != result {
				ev.OldCallID = h.call
			}
			h.call = result
			d.ev.Emit(ev)
		}
	}
}

// gone and markGone remember call halves already reported as diverted,
// so their later CallReleasedEvent is not reported again.
func (s *devState) gone(id string) bool {
	_, ok := s.diverted[id]
	delete(s.diverted, id)
	return ok
}

func (s *devState) markGone(id string) {
	if s.diverted == nil || len(s.diverted) > 256 {
		s.diverted = map[string]struct{}{}
	}
	s.diverted[id] = struct{}{}
}
