package avaya

import (
	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/lab/ctisim"
)

// handle answers one request from l and emits the events it causes. It
// holds s.mu throughout, so responses and events leave in one order.
func (s *Sim) handle(l *link, id csta.InvokeID, m csta.Message) {
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
func (s *Sim) service(ss *session, m csta.Message) ctisim.Result {
	switch r := m.(type) {
	case *csta.MonitorStart:
		if r.MonitorObject.DeviceObject == nil {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
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
		return ctisim.Result{Msg: &csta.MonitorStartResponse{MonitorCrossRefID: mon.id}}
	case *csta.MonitorStop:
		mon, ok := s.monitors[r.MonitorCrossRefID]
		if !ok || mon.sess != ss {
			return ctisim.Fail(ctisim.ErrInvalidCrossRef)
		}
		delete(s.monitors, r.MonitorCrossRefID)
		return ctisim.Result{Msg: &csta.MonitorStopResponse{}}
	case *csta.SnapshotDevice:
		return s.snapshot(r.SnapshotObject.Value)
	case *csta.MakeCall:
		return s.makeCall(r.CallingDevice.Value, r.CalledDirectoryNumber.Value)
	case *csta.AnswerCall:
		return s.at(r.CallToBeAnswered, s.wire.Answer)
	case *csta.ClearConnection:
		return s.at(r.ConnectionToBeCleared, s.wire.Clear)
	case *csta.HoldCall:
		return s.at(r.CallToBeHeld, s.wire.Hold)
	case *csta.RetrieveCall:
		return s.at(r.CallToBeRetrieved, s.wire.Retrieve)
	case *csta.ConsultationCall:
		return s.consult(r.ExistingCall, r.ConsultedDevice.Value)
	case *csta.TransferCall:
		return s.join(r.HeldCall, r.ActiveCall, false)
	case *csta.ConferenceCall:
		return s.join(r.HeldCall, r.ActiveCall, true)
	case *csta.SingleStepTransferCall:
		return s.singleStep(r.ActiveCall, r.TransferredTo.Value)
	case *csta.DeflectCall:
		return s.deflect(r.CallToBeDiverted, r.NewDestination.Value)
	case *csta.GenerateDigits:
		return s.digits(r.ConnectionToSendDigits, r.CharactersToSend)
	case *csta.SetDoNotDisturb:
		return s.setDND(r.Device.Value, r.DoNotDisturbOn)
	case *csta.SetForwarding:
		return s.setForwarding(r)
	case *dmcc.GetDoNotDisturb:
		ext, ok := s.station(r.Device.Value)
		if !ok {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		return ctisim.Result{Msg: &dmcc.GetDoNotDisturbResponse{DoNotDisturbOn: s.dev(ext).dnd}}
	case *dmcc.GetForwarding:
		ext, ok := s.station(r.Device.Value)
		if !ok {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		resp := &dmcc.GetForwardingResponse{}
		for _, t := range []string{csta.ForwardImmediate, csta.ForwardBusy, csta.ForwardNoAns} {
			to, on := s.dev(ext).fwd[t]
			resp.Items = append(resp.Items, dmcc.ForwardListItem{ForwardingType: t, ForwardStatus: on, ForwardDN: to})
		}
		return ctisim.Result{Msg: resp}
	case *dmcc.SetAgentState:
		return s.setAgent(r)
	}
	return ctisim.Fail(ctisim.ErrGeneric)
}

// party returns a device's event party: its DMCC device ID for a station,
// the dialled digits otherwise.
func (s *Sim) party(ext string) *csta.Party {
	if s.exists(ext) {
		return &csta.Party{DeviceIdentifier: &csta.DeviceID{Value: s.DeviceID(ext), TypeOfNumber: "other", MediaClass: "notKnown"}}
	}
	return csta.KnownParty(ext)
}

// conn is a ConnectionID as AES writes it.
func (s *Sim) conn(callID, ext string) csta.ConnectionID {
	id := s.DeviceID(ext)
	if !s.exists(ext) {
		id = ext
	}
	return csta.ConnectionID{CallID: callID, DeviceID: &csta.DeviceID{Value: id, TypeOfNumber: "other", MediaClass: "notKnown"}}
}

// emit sends the event mk builds to every monitor of ext whose session
// has a link, with ext's local connection state in call c (or local, when
// c is nil).
func (s *Sim) emit(ext string, c *ctisim.Call, local string, mk func(xref, local string) csta.Message) {
	if c != nil {
		if p := c.Party(ext); p != nil {
			local = p.State
		}
	}
	for _, mon := range s.monitors {
		if mon.device == ext && mon.sess.link != nil {
			mon.sess.link.SendMsg(csta.EventInvokeID, mk(mon.id, local))
		}
	}
}

// emitAll sends mk's event to every device in c, plus extra devices.
func (s *Sim) emitAll(c *ctisim.Call, mk func(xref, local string) csta.Message, extra ...string) {
	c.Tell(func(dev string) { s.emit(dev, c, "", mk) }, func(dev string) { s.emit(dev, nil, ctisim.StateNull, mk) }, extra...)
}

// find resolves a ConnectionID to its call and party.
func (s *Sim) find(cid csta.ConnectionID) (*ctisim.Call, *ctisim.Party, *csta.CSTAErrorCode) {
	c, ok := s.calls[cid.CallID]
	if !ok {
		return nil, nil, ctisim.ErrInvalidConnection
	}
	p := c.Party(dmcc.Extension(cid.Device()))
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
	data := &csta.SnapshotData{}
	for _, c := range s.calls {
		if p := c.Party(ext); p != nil {
			data.Items = append(data.Items, csta.SnapshotDeviceResponseInfo{
				ConnectionIdentifier: s.conn(c.ID, ext),
				LocalCallState: &csta.CallState{CompoundCallState: &csta.CompoundCallState{
					LocalConnectionState: []string{p.State}}},
			})
		}
	}
	return ctisim.Result{Msg: &csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotResult{SnapshotData: data}}}
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
	s.emit(calling, nil, ctisim.StateInitiated, func(x, lo string) csta.Message {
		return &csta.ServiceInitiatedEvent{MonitorCrossRefID: x, InitiatedConnection: s.conn(c.ID, calling),
			InitiatingDevice: from, LocalConnectionInfo: lo, Cause: cause}
	})
	s.emit(calling, c, "", func(x, lo string) csta.Message {
		return &csta.OriginatedEvent{MonitorCrossRefID: x, OriginatedConnection: s.conn(c.ID, calling),
			CallingDevice: from, CalledDevice: to, LocalConnectionInfo: lo, Cause: cause}
	})
	dest := called
	if s.exists(called) {
		if fw := s.dev(called).fwd[csta.ForwardImmediate]; fw != "" && fw != called {
			dest = fw
			s.emit(called, nil, ctisim.StateNull, func(x, lo string) csta.Message {
				return &csta.DivertedEvent{MonitorCrossRefID: x, Connection: s.conn(c.ID, called),
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
	if !s.exists(dest) || s.dev(dest).dnd {
		why := "destNotObtainable"
		if s.exists(dest) {
			why = "doNotDisturb"
		}
		c.Parties[0].State = ctisim.StateFail
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.FailedEvent{MonitorCrossRefID: x, FailedConnection: s.conn(c.ID, dest),
				FailingDevice: s.party(dest), CallingDevice: from, CalledDevice: to,
				LocalConnectionInfo: lo, Cause: why}
		}, dest)
		return
	}
	c.Parties = append(c.Parties, &ctisim.Party{Device: dest, State: ctisim.StateAlerting})
	redir, dcause := csta.NotRequiredParty(), "newCall"
	if redirected {
		redir, dcause = s.party(via), rcause
	}
	s.emitAll(c, func(x, lo string) csta.Message {
		return &csta.DeliveredEvent{MonitorCrossRefID: x, Connection: s.conn(c.ID, dest),
			AlertingDevice: s.party(dest), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: redir, LocalConnectionInfo: lo, Cause: dcause}
	})
}

func (s *Sim) makeCall(callingID, calledID string) ctisim.Result {
	calling, ok := s.station(callingID)
	called := dmcc.Extension(calledID)
	if !ok || called == "" || !dialable(called) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	c := s.newCall(calling, called)
	return ctisim.Result{Msg: &csta.MakeCallResponse{CallingDevice: s.conn(c.ID, calling)},
		After: []func(){func() { s.ring(c, "newCall") }}}
}

// at resolves a connection and runs op (a ctisim.Wire operation) on it.
func (s *Sim) at(cid csta.ConnectionID, op func(*ctisim.Call, *ctisim.Party) ctisim.Result) ctisim.Result {
	c, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	return op(c, p)
}

// consult holds the existing call (cause consultation) and rings the
// consulted device from the same device in a new call.
func (s *Sim) consult(existing csta.ConnectionID, toID string) ctisim.Result {
	c, p, e := s.find(existing)
	if e != nil {
		return ctisim.Fail(e)
	}
	to := dmcc.Extension(toID)
	if p.State != ctisim.StateConnected || to == "" {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	p.State = ctisim.StateHold
	nc := s.newCall(p.Device, to)
	return ctisim.Result{Msg: &csta.ConsultationCallResponse{InitiatedCall: s.conn(nc.ID, p.Device)},
		After: []func(){func() {
			s.wire.Held(c, p, "consultation")
			s.ring(nc, "consultation")
		}}}
}

// join transfers (the joining device leaves) or conferences (it stays)
// the held and the active call into the active call.
func (s *Sim) join(heldID, activeID csta.ConnectionID, conference bool) ctisim.Result {
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
	var list csta.ConnectionList
	var others []*ctisim.Party
	for _, q := range hc.Parties {
		if q != hp {
			others = append(others, q)
			old, nw := s.conn(hc.ID, q.Device), s.conn(ac.ID, q.Device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	for _, q := range ac.Parties {
		if q != ap {
			old, nw := s.conn(ac.ID, q.Device), s.conn(ac.ID, q.Device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
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
		s.emitAll(ac, func(x, lo string) csta.Message {
			if conference {
				return &csta.ConferencedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
					ConferencingDevice: s.party(dev), AddedParty: s.party(added),
					ConferenceConnections: &list, LocalConnectionInfo: lo, Cause: "conference"}
			}
			return &csta.TransferedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
				TransferringDevice: s.party(dev), TransferredToDevice: s.party(added),
				TransferredConnections: &list, LocalConnectionInfo: lo, Cause: "transfer"}
		}, dev)
	}
	if conference {
		return ctisim.Result{Msg: &csta.ConferenceCallResponse{ConferenceCall: &secondary, Connections: &list}, After: []func(){after}}
	}
	nc := s.conn(ac.ID, added)
	return ctisim.Result{Msg: &csta.TransferCallResponse{TransferredCall: &nc, TransferredConnections: &list}, After: []func(){after}}
}

// singleStep transfers the device's connected call to a new destination
// without consultation: Transfered (cause singleStepTransfer) to the call's
// devices and the transferring one, then Delivered at the destination.
func (s *Sim) singleStep(active csta.ConnectionID, toID string) ctisim.Result {
	c, p, e := s.find(active)
	if e != nil {
		return ctisim.Fail(e)
	}
	to := dmcc.Extension(toID)
	if p.State != ctisim.StateConnected || to == "" || !dialable(to) || len(c.Parties) != 2 {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	dev := p.Device
	p.State = ctisim.StateNull
	s.wire.Prune(c)
	c.Calling, c.Called = c.Parties[0].Device, to
	var list csta.ConnectionList
	for _, q := range c.Parties {
		cn := s.conn(c.ID, q.Device)
		list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &cn, NewConnection: &cn})
	}
	primary := s.conn(c.ID, dev)
	nc := s.conn(c.ID, to)
	return ctisim.Result{Msg: &csta.SingleStepTransferCallResponse{TransferredCall: &nc}, After: []func(){func() {
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.TransferedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary,
				TransferringDevice: s.party(dev), TransferredToDevice: s.party(to),
				TransferredConnections: &list, LocalConnectionInfo: lo, Cause: "singleStepTransfer"}
		}, dev)
		s.deliver(c, to, dev, true, "singleStepTransfer")
	}}}
}

// deflect sends an alerting call on: Diverted at the deflecting device,
// then Delivered (or Failed) at the new destination.
func (s *Sim) deflect(cid csta.ConnectionID, toID string) ctisim.Result {
	c, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	to := dmcc.Extension(toID)
	if p.State != ctisim.StateAlerting || to == "" || !dialable(to) {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	dev := p.Device
	p.State = ctisim.StateNull
	s.wire.Prune(c)
	return ctisim.Result{Msg: &csta.DeflectCallResponse{}, After: []func(){func() {
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.DivertedEvent{MonitorCrossRefID: x, Connection: s.conn(c.ID, dev),
				DivertingDevice: s.party(dev), NewDestination: s.party(to),
				LastRedirectionDevice: csta.NotRequiredParty(), LocalConnectionInfo: lo, Cause: "redirected"}
		}, dev)
		s.deliver(c, to, dev, true, "redirected")
	}}}
}

// digits accepts DTMF on a connected connection; AES sends no event.
func (s *Sim) digits(cid csta.ConnectionID, chars string) ctisim.Result {
	_, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	if p.State != ctisim.StateConnected || chars == "" {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	return ctisim.Result{Msg: &csta.GenerateDigitsResponse{}}
}

func (s *Sim) setDND(devID string, on bool) ctisim.Result {
	ext, ok := s.station(devID)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	s.dev(ext).dnd = on
	return ctisim.Result{Msg: &csta.SetDoNotDisturbResponse{}, After: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) csta.Message {
			return &dmcc.DoNotDisturbEvent{MonitorCrossRefID: x, Device: *s.party(ext), DoNotDisturbOn: on}
		})
	}}}
}

func (s *Sim) setForwarding(r *csta.SetForwarding) ctisim.Result {
	ext, ok := s.station(r.Device.Value)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	typ := r.ForwardingType
	if typ == "" {
		typ = csta.ForwardImmediate
	}
	if typ != csta.ForwardImmediate && typ != csta.ForwardBusy && typ != csta.ForwardNoAns {
		return ctisim.Fail(ctisim.Errorf(csta.CategoryOperation, "invalidForwardingType"))
	}
	to := ""
	if r.ForwardDN != nil {
		to = dmcc.Extension(r.ForwardDN.Value)
	}
	if r.ActivateForward && to == "" {
		return ctisim.Fail(ctisim.Errorf(csta.CategoryOperation, "invalidForwardingDestination"))
	}
	if r.ActivateForward {
		s.dev(ext).fwd[typ] = to
	} else {
		delete(s.dev(ext).fwd, typ)
	}
	return ctisim.Result{Msg: &csta.SetForwardingResponse{}, After: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) csta.Message {
			return &dmcc.ForwardingEvent{MonitorCrossRefID: x, Device: *s.party(ext), ForwardingType: typ,
				ForwardStatus: r.ActivateForward, ForwardTo: to}
		})
	}}}
}

func (s *Sim) setAgent(r *dmcc.SetAgentState) ctisim.Result {
	ext, ok := s.station(r.Device.Value)
	if !ok {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	name := dmcc.AgentEventName(r.RequestedAgentState)
	if name == "" {
		return ctisim.Fail(ctisim.Errorf(csta.CategoryOperation, "invalidAgentState")) // ~
	}
	d := s.dev(ext)
	if d.agent == "" && r.RequestedAgentState != dmcc.AgentLoggedOn || d.agent == dmcc.AgentLoggedOff && r.RequestedAgentState != dmcc.AgentLoggedOn {
		return ctisim.Fail(ctisim.ErrInvalidState) // log on first
	}
	d.agent = r.RequestedAgentState
	return ctisim.Result{Msg: &dmcc.SetAgentStateResponse{}, After: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) csta.Message {
			return &dmcc.AgentEvent{Name: name, MonitorCrossRefID: x,
				AgentDevice: csta.DeviceID{Value: s.DeviceID(ext)}, AgentID: r.AgentID}
		})
	}}}
}
