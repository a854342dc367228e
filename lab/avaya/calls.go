package avaya

import (
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// handle answers one request from l and emits the events it causes. It
// holds s.mu throughout, so responses and events leave in one order.
func (s *Sim) handle(l *link, id cstaxml.InvokeID, m cstaxml.Message) {
	if s.handleSession(l, id, m) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.sess == nil {
		l.SendMsg(id, ctisim.ErrNoSession)
		return
	}
	if resp, ok := s.deviceService(m); ok {
		l.SendMsg(id, resp)
		return
	}
	resp := s.service(l.sess, m)
	l.SendMsg(id, resp.Msg)
	for _, f := range resp.After {
		f()
	}
}

// service runs one CSTA service. Called with s.mu held.
func (s *Sim) service(ss *session, m cstaxml.Message) ctisim.Result {
	switch r := m.(type) {
	case *cstaxml.MonitorStart:
		if r.MonitorObject.DeviceObject == nil {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		if r.MonitorObject.DeviceObject.Value == "" {
			return s.sessionMonitor(ss, r)
		}
		ext, ok := s.station(r.MonitorObject.DeviceObject.Value)
		if !ok {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		if s.cfg.MonitorLimit > 0 && len(s.monitors) >= s.cfg.MonitorLimit {
			return ctisim.Fail(ctisim.ErrLicence)
		}
		mon := &monitor{id: s.newID(), device: ext, sess: ss}
		s.monitors[mon.id] = mon
		s.byDev.Add(mon.device, mon)
		return ctisim.Result{Msg: &cstaxml.MonitorStartResponse{MonitorCrossRefID: mon.id}}
	case *cstaxml.MonitorStop:
		mon, ok := s.monitors[r.MonitorCrossRefID]
		if !ok || mon.sess != ss {
			return ctisim.Fail(ctisim.ErrInvalidCrossRef)
		}
		delete(s.monitors, r.MonitorCrossRefID)
		s.byDev.Remove(mon.device, mon)
		return ctisim.Result{Msg: &cstaxml.MonitorStopResponse{}}
	case *cstaxml.SnapshotDevice:
		return s.snapshot(r.SnapshotObject.Value)
	case *cstaxml.MakeCall:
		return s.makeCall(r.CallingDevice.Value, r.CalledDirectoryNumber.Value)
	case *cstaxml.AnswerCall:
		return s.at(r.CallToBeAnswered, s.wire.Answer)
	case *cstaxml.ClearConnection:
		return s.at(r.ConnectionToBeCleared, s.wire.Clear)
	case *cstaxml.HoldCall:
		return s.at(r.CallToBeHeld, s.wire.Hold)
	case *cstaxml.RetrieveCall:
		return s.at(r.CallToBeRetrieved, s.wire.Retrieve)
	case *cstaxml.ConsultationCall:
		return s.consult(r.ExistingCall, r.ConsultedDevice.Value)
	case *cstaxml.TransferCall:
		return s.join(r.HeldCall, r.ActiveCall, false)
	case *cstaxml.ReconnectCall:
		return s.swap(r.HeldCall, r.ActiveCall, true)
	case *cstaxml.AlternateCall:
		return s.swap(r.HeldCall, r.ActiveCall, false)
	case *cstaxml.ConferenceCall:
		return s.join(r.HeldCall, r.ActiveCall, true)
	case *cstaxml.SingleStepTransferCall:
		return s.singleStep(r.ActiveCall, r.TransferredTo.Value)
	case *cstaxml.DeflectCall:
		return s.deflect(r.CallToBeDiverted, r.NewDestination.Value)
	case *cstaxml.GenerateDigits:
		return s.digits(r.ConnectionToSendDigits, r.CharactersToSend)
	case *cstaxml.SetDoNotDisturb:
		return s.setDND(r.Device.Value, r.DoNotDisturbOn)
	case *cstaxml.SetForwarding:
		return s.setForwarding(r)
	case *cstaxml.GetDoNotDisturb:
		ext, ok := s.station(r.Device.Value)
		if !ok {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		return ctisim.Result{Msg: &cstaxml.GetDoNotDisturbResponse{DoNotDisturbOn: s.dev(ext).dnd}}
	case *cstaxml.GetForwarding:
		ext, ok := s.station(r.Device.Value)
		if !ok {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		resp := &cstaxml.GetForwardingResponse{}
		for _, t := range []string{cstaxml.ForwardImmediate, cstaxml.ForwardBusy, cstaxml.ForwardNoAns} {
			to, on := s.dev(ext).fwd[t]
			resp.Items = append(resp.Items, cstaxml.ForwardListItem{ForwardingType: t, ForwardStatus: on, ForwardDN: to})
		}
		return ctisim.Result{Msg: resp}
	case *cstaxml.GetMessageWaitingIndicator:
		ext, ok := s.station(r.Device.Value)
		if !ok {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		return ctisim.Result{Msg: &cstaxml.GetMessageWaitingIndicatorResponse{MessageWaitingOn: s.dev(ext).mwi}}
	case *setAgentState:
		return s.setAgent(r)
	case *getAgentState:
		return s.getAgent(r)
	}
	return ctisim.Fail(ctisim.ErrGeneric)
}

// party returns a device's event party: its DMCC device ID for a station,
// the dialled digits otherwise.
func (s *Sim) party(ext string) *cstaxml.Party {
	if s.exists(ext) {
		return &cstaxml.Party{DeviceIdentifier: &cstaxml.DeviceID{Value: s.DeviceID(ext), TypeOfNumber: "other", MediaClass: "notKnown"}}
	}
	return cstaxml.KnownParty(ext)
}

// conn is a ConnectionID as AES writes it.
func (s *Sim) conn(callID, ext string) cstaxml.ConnectionID {
	id := s.DeviceID(ext)
	if !s.exists(ext) {
		id = ext
	}
	return cstaxml.ConnectionID{CallID: callID, DeviceID: &cstaxml.DeviceID{Value: id, TypeOfNumber: "other", MediaClass: "notKnown"}}
}

// emit sends the event mk builds to every monitor of ext whose session
// has a link, with ext's local connection state in call c (or local, when
// c is nil).
func (s *Sim) emit(ext string, c *ctisim.Call, local string, mk func(xref, local string) cstaxml.Message) {
	if c != nil {
		if p := c.Party(ext); p != nil {
			local = p.State
		}
	}
	for _, mon := range s.byDev[ext] {
		if mon.sess.link != nil && !s.loseOne() {
			mon.sess.link.SendMsg(cstaxml.EventInvokeID, mk(mon.id, local))
		}
	}
}

// emitAll sends mk's event to every device in c, plus extra devices.
func (s *Sim) emitAll(c *ctisim.Call, mk func(xref, local string) cstaxml.Message, extra ...string) {
	c.Tell(func(dev string) { s.emit(dev, c, "", mk) }, func(dev string) { s.emit(dev, nil, ctisim.StateNull, mk) }, extra...)
}

// find resolves a ConnectionID to its call and party.
func (s *Sim) find(cid cstaxml.ConnectionID) (*ctisim.Call, *ctisim.Party, *cstaxml.ErrorCode) {
	c, ok := s.calls[cid.CallID]
	if !ok {
		return nil, nil, ctisim.ErrInvalidConnection
	}
	p := c.Party(extension(cid.Device()))
	if p == nil {
		return nil, nil, ctisim.ErrInvalidConnection
	}
	return c, p, nil
}

func (s *Sim) snapshot(devID string) ctisim.Result {
	ext, ok := s.station(devID)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	data := &cstaxml.SnapshotData{}
	for _, c := range s.calls {
		if p := c.Party(ext); p != nil {
			data.Items = append(data.Items, cstaxml.SnapshotDeviceResponseInfo{
				ConnectionIdentifier: s.conn(c.ID, ext),
				LocalCallState: &cstaxml.CallState{CompoundCallState: &cstaxml.CompoundCallState{
					LocalConnectionState: []string{p.State}}},
			})
		}
	}
	return ctisim.Result{Msg: &cstaxml.SnapshotDeviceResponse{CrossRefIDorSnapshotData: cstaxml.SnapshotResult{SnapshotData: data}}}
}

// newCall allocates a call from calling to called.
func (s *Sim) newCall(calling, called string) *ctisim.Call {
	c := &ctisim.Call{ID: s.newID(), Calling: calling, Called: called,
		Parties: []*ctisim.Party{{Device: calling, State: ctisim.StateConnected}}}
	s.calls[c.ID] = c
	return c
}

// ring sends a new call's events as AES does for a third-party MakeCall:
// ServiceInitiated (initiated) and Originated at the caller, then Diverted
// at the called station when it forwards immediately, then Failed (DND,
// unknown number) or Delivered to every device in the call.
func (s *Sim) ring(c *ctisim.Call, cause string) {
	calling, called := c.Calling, c.Called
	from, to := s.party(calling), s.party(called)
	s.emit(calling, nil, ctisim.StateInitiated, func(x, lo string) cstaxml.Message {
		return &cstaxml.ServiceInitiatedEvent{MonitorCrossRefID: x, InitiatedConnection: s.conn(c.ID, calling),
			InitiatingDevice: from, LocalConnectionInfo: lo, Cause: cause}
	})
	s.emit(calling, c, "", func(x, lo string) cstaxml.Message {
		return &cstaxml.OriginatedEvent{MonitorCrossRefID: x, OriginatedConnection: s.conn(c.ID, calling),
			CallingDevice: from, CalledDevice: to, LocalConnectionInfo: lo, Cause: cause}
	})
	if s.external(called) {
		s.outgoing(c, cause)
		return
	}
	if _, group := s.cfg.Groups[called]; group {
		s.hunt.Enter(c, called)
		return
	}
	dest := called
	if s.exists(called) {
		if fw := s.dev(called).fwd[cstaxml.ForwardImmediate]; fw != "" && fw != called {
			dest = fw
			s.emit(called, nil, ctisim.StateNull, func(x, lo string) cstaxml.Message {
				return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: s.conn(c.ID, called),
					DivertingDevice: to, NewDestination: s.party(fw),
					LocalConnectionInfo: lo, Cause: "callForwardImmediate"}
			})
		}
	}
	s.deliver(c, dest, called, dest != called, "callForwardImmediate")
}

// deliver rings dest in c: Failed when it can't (DND, unknown number),
// else Delivered to every device in the call. redirected says the call
// came to dest from via (with cause rcause).
func (s *Sim) deliver(c *ctisim.Call, dest, via string, redirected bool, rcause string) {
	from, to := s.party(c.Calling), s.party(c.Called)
	if why := s.refuses(dest); why != "" {
		c.Parties[0].State = ctisim.StateFail
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.FailedEvent{MonitorCrossRefID: x, FailedConnection: s.conn(c.ID, dest),
				FailingDevice: s.party(dest), CallingDevice: from, CalledDevice: to,
				LocalConnectionInfo: lo, Cause: why}
		}, dest)
		return
	}
	c.Parties = append(c.Parties, &ctisim.Party{Device: dest, State: ctisim.StateAlerting})
	redir, dcause := cstaxml.NotRequiredParty(), "newCall"
	if redirected {
		redir, dcause = s.party(via), rcause
	}
	var netCaller *cstaxml.Party
	if !s.exists(c.Calling) { // from the public network
		netCaller = cstaxml.KnownParty(c.Calling)
	}
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.DeliveredEvent{MonitorCrossRefID: x, Connection: s.conn(c.ID, dest),
			AlertingDevice: s.party(dest), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: redir, LocalConnectionInfo: lo, Cause: dcause,
			NetworkCallingDevice: netCaller, Extensions: ucidData(c.ID)}
	})
}

// UCID is the simulator's Universal Call ID of a call: 20 digits, the
// same at every device (Avaya's UCID: node, sequence, timestamp; here a
// fixed node and the call id).
func UCID(callID string) string {
	n, _ := strconv.Atoi(callID)
	return fmt.Sprintf("00001%015d", n)
}

// ucidData is AES's private data carrying the UCID with a delivered call
// (the callLinkageData form AES clients read globallyUniqueCallLinkageID
// from).
func ucidData(callID string) *cstaxml.Raw {
	return &cstaxml.Raw{Inner: []byte(`<privateData><private><ns1:DeliveredEventPrivateData xmlns:ns1="http://www.avaya.com/csta">` +
		`<ns1:callLinkageData><ns1:globalCallData><ns1:globalCallLinkageID><ns1:globallyUniqueCallLinkageID>` + UCID(callID) +
		`</ns1:globallyUniqueCallLinkageID></ns1:globalCallLinkageID></ns1:globalCallData></ns1:callLinkageData>` +
		`</ns1:DeliveredEventPrivateData></private></privateData>`)}
}

// Incoming rings station to from an external number, as a trunk call
// arrives: Delivered names the network caller (networkCallingDevice).
func (s *Sim) Incoming(number, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.exists(to) {
		return
	}
	c := s.newCall(number, to)
	c.Parties = nil // the caller is beyond the trunk, not a station here
	s.deliver(c, to, to, false, "")
}

func (s *Sim) makeCall(callingID, calledID string) ctisim.Result {
	calling, ok := s.station(callingID)
	called := extension(calledID)
	if !ok || called == "" || !dialable(called) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	c := s.newCall(calling, called)
	return ctisim.Result{Msg: &cstaxml.MakeCallResponse{CallingDevice: s.conn(c.ID, calling)},
		After: []func(){func() { s.ring(c, "newCall") }}}
}

// at resolves a connection and runs op (a ctisim.Wire operation) on it.
func (s *Sim) at(cid cstaxml.ConnectionID, op func(*ctisim.Call, *ctisim.Party) ctisim.Result) ctisim.Result {
	c, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	return op(c, p)
}

// consult holds the existing call (cause consultation) and rings the
// consulted device from the same device in a new call.
func (s *Sim) consult(existing cstaxml.ConnectionID, toID string) ctisim.Result {
	c, p, e := s.find(existing)
	if e != nil {
		return ctisim.Fail(e)
	}
	to := extension(toID)
	if p.State != ctisim.StateConnected || to == "" {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	p.State = ctisim.StateHold
	nc := s.newCall(p.Device, to)
	return ctisim.Result{Msg: &cstaxml.ConsultationCallResponse{InitiatedCall: s.conn(nc.ID, p.Device)},
		After: []func(){func() {
			s.wire.Held(c, p, "consultation")
			s.ring(nc, "consultation")
		}}}
}

// join transfers (the joining device leaves) or conferences (it stays)
// the held and the active call into the active call.
func (s *Sim) join(heldID, activeID cstaxml.ConnectionID, conference bool) ctisim.Result {
	hc, hp, e := s.find(heldID)
	if e != nil {
		return ctisim.Fail(e)
	}
	ac, ap, e := s.find(activeID)
	if e != nil {
		return ctisim.Fail(e)
	}
	if hc == ac || hp.Device != ap.Device || hp.State != ctisim.StateHold {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	dev := hp.Device
	var list cstaxml.ConnectionList
	var others []*ctisim.Party
	for _, q := range hc.Parties {
		if q != hp {
			others = append(others, q)
			old, nw := s.conn(hc.ID, q.Device), s.conn(ac.ID, q.Device)
			list.Items = append(list.Items, cstaxml.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	for _, q := range ac.Parties {
		if q != ap {
			old, nw := s.conn(ac.ID, q.Device), s.conn(ac.ID, q.Device)
			list.Items = append(list.Items, cstaxml.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	delete(s.calls, hc.ID)
	ac.Parties = append(ac.Parties, others...)
	if !conference {
		ap.State = ctisim.StateNull
		s.wire.Prune(ac)
	}
	added := ac.Called
	primary, secondary := s.conn(hc.ID, dev), s.conn(ac.ID, dev)
	after := func() {
		s.emitAll(ac, func(x, lo string) cstaxml.Message {
			if conference {
				return &cstaxml.ConferencedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
					ConferencingDevice: s.party(dev), AddedParty: s.party(added),
					ConferenceConnections: &list, LocalConnectionInfo: lo, Cause: "conference"}
			}
			return &cstaxml.TransferedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
				TransferringDevice: s.party(dev), TransferredToDevice: s.party(added),
				TransferredConnections: &list, LocalConnectionInfo: lo, Cause: "transfer"}
		}, dev)
	}
	if conference {
		return ctisim.Result{Msg: &cstaxml.ConferenceCallResponse{ConferenceCall: &secondary, Connections: &list}, After: []func(){after}}
	}
	nc := s.conn(ac.ID, added)
	return ctisim.Result{Msg: &cstaxml.TransferCallResponse{TransferredCall: &nc, TransferredConnections: &list}, After: []func(){after}}
}

// singleStep transfers the device's connected call to a new destination
// without consultation: Transfered (cause singleStepTransfer) to the call's
// devices and the transferring one, then Delivered at the destination.
func (s *Sim) singleStep(active cstaxml.ConnectionID, toID string) ctisim.Result {
	c, p, e := s.find(active)
	if e != nil {
		return ctisim.Fail(e)
	}
	to := extension(toID)
	if p.State != ctisim.StateConnected || to == "" || !dialable(to) || len(c.Parties) != 2 {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	dev := p.Device
	p.State = ctisim.StateNull
	s.wire.Prune(c)
	c.Calling, c.Called = c.Parties[0].Device, to
	var list cstaxml.ConnectionList
	for _, q := range c.Parties {
		cn := s.conn(c.ID, q.Device)
		list.Items = append(list.Items, cstaxml.ConnectionListItem{OldConnection: &cn, NewConnection: &cn})
	}
	primary := s.conn(c.ID, dev)
	nc := s.conn(c.ID, to)
	return ctisim.Result{Msg: &cstaxml.SingleStepTransferCallResponse{TransferredCall: &nc}, After: []func(){func() {
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.TransferedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary,
				TransferringDevice: s.party(dev), TransferredToDevice: s.party(to),
				TransferredConnections: &list, LocalConnectionInfo: lo, Cause: "singleStepTransfer"}
		}, dev)
		s.deliver(c, to, dev, true, "singleStepTransfer")
	}}}
}

// deflect sends an alerting call on: Diverted at the deflecting device,
// then Delivered (or Failed) at the new destination.
func (s *Sim) deflect(cid cstaxml.ConnectionID, toID string) ctisim.Result {
	c, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	to := extension(toID)
	if p.State != ctisim.StateAlerting || to == "" || !dialable(to) {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	dev := p.Device
	p.State = ctisim.StateNull
	s.wire.Prune(c)
	return ctisim.Result{Msg: &cstaxml.DeflectCallResponse{}, After: []func(){func() {
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: s.conn(c.ID, dev),
				DivertingDevice: s.party(dev), NewDestination: s.party(to),
				LastRedirectionDevice: cstaxml.NotRequiredParty(), LocalConnectionInfo: lo, Cause: "redirected"}
		}, dev)
		s.deliver(c, to, dev, true, "redirected")
	}}}
}

// digits accepts DTMF on a connected connection; AES sends no event.
func (s *Sim) digits(cid cstaxml.ConnectionID, chars string) ctisim.Result {
	_, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	if p.State != ctisim.StateConnected || chars == "" {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	return ctisim.Result{Msg: &cstaxml.GenerateDigitsResponse{}}
}

func (s *Sim) setDND(devID string, on bool) ctisim.Result {
	ext, ok := s.station(devID)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	s.dev(ext).dnd = on
	return ctisim.Result{Msg: &cstaxml.SetDoNotDisturbResponse{}, After: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) cstaxml.Message {
			return &cstaxml.DoNotDisturbEvent{MonitorCrossRefID: x, Device: *s.party(ext), DoNotDisturbOn: on}
		})
	}}}
}

func (s *Sim) setForwarding(r *cstaxml.SetForwarding) ctisim.Result {
	ext, ok := s.station(r.Device.Value)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	typ := r.ForwardingType
	if typ == "" {
		typ = cstaxml.ForwardImmediate
	}
	if typ != cstaxml.ForwardImmediate && typ != cstaxml.ForwardBusy && typ != cstaxml.ForwardNoAns {
		return ctisim.Fail(ctisim.Errorf(cstaxml.CategoryOperation, "invalidForwardingType"))
	}
	to := ""
	if r.ForwardDN != nil {
		to = extension(r.ForwardDN.Value)
	}
	if r.ActivateForward && to == "" {
		return ctisim.Fail(ctisim.Errorf(cstaxml.CategoryOperation, "invalidForwardingDestination"))
	}
	if r.ActivateForward {
		s.dev(ext).fwd[typ] = to
	} else {
		delete(s.dev(ext).fwd, typ)
	}
	return ctisim.Result{Msg: &cstaxml.SetForwardingResponse{}, After: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) cstaxml.Message {
			return &cstaxml.ForwardingEvent{MonitorCrossRefID: x, Device: *s.party(ext), ForwardingType: typ,
				ForwardStatus: r.ActivateForward, ForwardTo: to}
		})
	}}}
}

func (s *Sim) setAgent(r *setAgentState) ctisim.Result {
	ext, ok := s.station(r.Device.Value)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	name := agentEventName(r.RequestedAgentState)
	if name == "" {
		return ctisim.Fail(ctisim.Errorf(cstaxml.CategoryOperation, "invalidAgentState")) // ~
	}
	d := s.dev(ext)
	if d.agent == "" && r.RequestedAgentState != agentLoggedOn || d.agent == agentLoggedOff && r.RequestedAgentState != agentLoggedOn {
		return ctisim.Fail(ctisim.ErrInvalidState) // log on first
	}
	d.agent = r.RequestedAgentState
	return ctisim.Result{Msg: &setAgentStateResponse{}, After: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) cstaxml.Message {
			return &agentEvent{name: name, MonitorCrossRefID: x,
				AgentDevice: cstaxml.DeviceID{Value: s.DeviceID(ext)}, AgentID: r.AgentID}
		})
	}}}
}

// getAgent answers GetAgentState with the station's agent: not logged on
// (agentNull) until SetAgentState logged it on; logged on with no other
// state is agentNull too (ECMA-269 AgentState).
func (s *Sim) getAgent(r *getAgentState) ctisim.Result {
	ext, ok := s.station(r.Device.Value)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	st := s.dev(ext).agent
	e := agentStateEntry{LoggedOnState: st != "" && st != agentLoggedOff}
	state := "agentNull"
	switch st {
	case agentReady:
		state = "agentReady"
	case agentNotReady:
		state = "agentNotReady"
	case agentWorkingAfterCall:
		state = "agentWorkingAfterCall"
	}
	e.Info = []agentInfoItem{{AgentState: state}}
	return ctisim.Result{Msg: &getAgentStateResponse{Entries: []agentStateEntry{e}}}
}

// avayaEvents is the private data of a session-level MonitorStart
// (f-me/dmcc: an empty deviceObject, extensions/privateData/private/
// AvayaEvents with deviceServices flags).
type avayaEvents struct {
	TransferMonitorObjects bool `xml:"privateData>private>AvayaEvents>deviceServices>transferMonitorObjects"`
}

// sessionMonitor answers a session-level MonitorStart: one asking for the
// transferMonitorObjects device service enables TransferMonitorObjects
// into the session (f-me/dmcc starts it for that). Called with s.mu held.
func (s *Sim) sessionMonitor(ss *session, r *cstaxml.MonitorStart) ctisim.Result {
	var ev avayaEvents
	if r.Extensions != nil {
		if err := xml.Unmarshal(append(append([]byte("<extensions>"), r.Extensions.Inner...), "</extensions>"...), &ev); err != nil {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
	}
	if !ev.TransferMonitorObjects {
		return ctisim.Fail(ctisim.ErrInvalidDevice) // ~ a session monitor for other services is not simulated
	}
	ss.sessMon = s.newID()
	return ctisim.Result{Msg: &cstaxml.MonitorStartResponse{MonitorCrossRefID: ss.sessMon}}
}

// swap is ReconnectCall or AlternateCall (ctisim.Wire.Swap).
func (s *Sim) swap(heldID, activeID cstaxml.ConnectionID, reconnect bool) ctisim.Result {
	hc, hp, e := s.find(heldID)
	if e != nil {
		return ctisim.Fail(e)
	}
	ac, ap, e := s.find(activeID)
	if e != nil {
		return ctisim.Fail(e)
	}
	return s.wire.Swap(hc, hp, ac, ap, reconnect)
}
