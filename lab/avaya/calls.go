package avaya

import (
	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
)

// Connection states as they appear on the wire.
const (
	stNull      = "null"
	stInitiated = "initiated"
	stAlerting  = "alerting"
	stConnected = "connected"
	stHold      = "hold"
	stFail      = "fail"
)

// errorf is a CSTAErrorCode answer.
func errorf(cat, val string) *csta.CSTAErrorCode {
	return &csta.CSTAErrorCode{Category: cat, Value: val}
}

var (
	errNoSession    = errorf(csta.CategorySecurity, "generic")
	errInvalidDev   = errorf(csta.CategoryOperation, "invalidDeviceID")
	errInvalidConn  = errorf(csta.CategoryOperation, "invalidConnectionID")
	errInvalidState = errorf(csta.CategoryStateIncompatibility, "invalidObjectState")
	errLicence      = errorf(csta.CategorySystemResourceAvailability, "overallMonitorLimitExceeded")
	errInvalidXref  = errorf(csta.CategoryOperation, "invalidCrossRefID")
	errGeneric      = errorf(csta.CategoryOperation, "generic")
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
		l.SendMsg(id, errNoSession)
		return
	}
	if resp, ok := s.deviceService(m); ok {
		l.SendMsg(id, resp)
		return
	}
	resp := s.service(l.sess, m)
	l.SendMsg(id, resp.msg)
	for _, f := range resp.after {
		f()
	}
}

// result is a response plus the events to send after it.
type result struct {
	msg   csta.Message
	after []func()
}

func fail(e *csta.CSTAErrorCode) result { return result{msg: e} }

// service runs one CSTA service. Called with s.mu held.
func (s *Sim) service(ss *session, m csta.Message) result {
	switch r := m.(type) {
	case *csta.MonitorStart:
		if r.MonitorObject.DeviceObject == nil {
			return fail(errInvalidDev)
		}
		ext, ok := s.station(r.MonitorObject.DeviceObject.Value)
		if !ok {
			return fail(errInvalidDev)
		}
		if s.cfg.MonitorLimit > 0 && len(s.monitors) >= s.cfg.MonitorLimit {
			return fail(errLicence)
		}
		mon := &monitor{id: s.newID(), device: ext, sess: ss}
		s.monitors[mon.id] = mon
		return result{msg: &csta.MonitorStartResponse{MonitorCrossRefID: mon.id}}
	case *csta.MonitorStop:
		mon, ok := s.monitors[r.MonitorCrossRefID]
		if !ok || mon.sess != ss {
			return fail(errInvalidXref)
		}
		delete(s.monitors, r.MonitorCrossRefID)
		return result{msg: &csta.MonitorStopResponse{}}
	case *csta.SnapshotDevice:
		return s.snapshot(r.SnapshotObject.Value)
	case *csta.MakeCall:
		return s.makeCall(r.CallingDevice.Value, r.CalledDirectoryNumber.Value)
	case *csta.AnswerCall:
		return s.answer(r.CallToBeAnswered)
	case *csta.ClearConnection:
		return s.clear(r.ConnectionToBeCleared)
	case *csta.HoldCall:
		return s.hold(r.CallToBeHeld)
	case *csta.RetrieveCall:
		return s.retrieve(r.CallToBeRetrieved)
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
			return fail(errInvalidDev)
		}
		return result{msg: &dmcc.GetDoNotDisturbResponse{DoNotDisturbOn: s.dev(ext).dnd}}
	case *dmcc.GetForwarding:
		ext, ok := s.station(r.Device.Value)
		if !ok {
			return fail(errInvalidDev)
		}
		resp := &dmcc.GetForwardingResponse{}
		for _, t := range []string{csta.ForwardImmediate, csta.ForwardBusy, csta.ForwardNoAns} {
			to, on := s.dev(ext).fwd[t]
			resp.Items = append(resp.Items, dmcc.ForwardListItem{ForwardingType: t, ForwardStatus: on, ForwardDN: to})
		}
		return result{msg: resp}
	case *dmcc.SetAgentState:
		return s.setAgent(r)
	}
	return fail(errGeneric)
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
func (s *Sim) emit(ext string, c *call, local string, mk func(xref, local string) csta.Message) {
	if c != nil {
		if p := c.party(ext); p != nil {
			local = p.state
		}
	}
	for _, mon := range s.monitors {
		if mon.device == ext && mon.sess.link != nil {
			mon.sess.link.SendMsg(csta.EventInvokeID, mk(mon.id, local))
		}
	}
}

// emitAll sends mk's event to every device in c, plus extra devices.
func (s *Sim) emitAll(c *call, mk func(xref, local string) csta.Message, extra ...string) {
	seen := map[string]bool{}
	for _, p := range c.parties {
		if !seen[p.device] {
			seen[p.device] = true
			s.emit(p.device, c, "", mk)
		}
	}
	for _, d := range extra {
		if !seen[d] {
			seen[d] = true
			s.emit(d, nil, stNull, mk)
		}
	}
}

func (c *call) party(ext string) *party {
	for _, p := range c.parties {
		if p.device == ext {
			return p
		}
	}
	return nil
}

// find resolves a ConnectionID to its call and party.
func (s *Sim) find(cid csta.ConnectionID) (*call, *party, *csta.CSTAErrorCode) {
	c, ok := s.calls[cid.CallID]
	if !ok {
		return nil, nil, errInvalidConn
	}
	p := c.party(dmcc.Extension(cid.Device()))
	if p == nil {
		return nil, nil, errInvalidConn
	}
	return c, p, nil
}

func (s *Sim) snapshot(devID string) result {
	ext, ok := s.station(devID)
	if !ok {
		return fail(errInvalidDev)
	}
	data := &csta.SnapshotData{}
	for _, c := range s.calls {
		if p := c.party(ext); p != nil {
			data.Items = append(data.Items, csta.SnapshotDeviceResponseInfo{
				ConnectionIdentifier: s.conn(c.id, ext),
				LocalCallState: &csta.CallState{CompoundCallState: &csta.CompoundCallState{
					LocalConnectionState: []string{p.state}}},
			})
		}
	}
	return result{msg: &csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotResult{SnapshotData: data}}}
}

// newCall allocates a call from calling to called.
func (s *Sim) newCall(calling, called string) *call {
	c := &call{id: s.newID(), calling: calling, called: called,
		parties: []*party{{device: calling, state: stConnected}}}
	s.calls[c.id] = c
	return c
}

// ring sends a new call's events as AES does for a third-party MakeCall:
// ServiceInitiated (initiated) and Originated at the caller, then Diverted
// at the called station when it forwards immediately, then Failed (DND,
// unknown number) or Delivered to every device in the call.
func (s *Sim) ring(c *call, cause string) {
	calling, called := c.calling, c.called
	from, to := s.party(calling), s.party(called)
	s.emit(calling, nil, stInitiated, func(x, lo string) csta.Message {
		return &csta.ServiceInitiatedEvent{MonitorCrossRefID: x, InitiatedConnection: s.conn(c.id, calling),
			InitiatingDevice: from, LocalConnectionInfo: lo, Cause: cause}
	})
	s.emit(calling, c, "", func(x, lo string) csta.Message {
		return &csta.OriginatedEvent{MonitorCrossRefID: x, OriginatedConnection: s.conn(c.id, calling),
			CallingDevice: from, CalledDevice: to, LocalConnectionInfo: lo, Cause: cause}
	})
	dest := called
	if s.exists(called) {
		if fw := s.dev(called).fwd[csta.ForwardImmediate]; fw != "" && fw != called {
			dest = fw
			s.emit(called, nil, stNull, func(x, lo string) csta.Message {
				return &csta.DivertedEvent{MonitorCrossRefID: x, Connection: s.conn(c.id, called),
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
func (s *Sim) deliver(c *call, dest, via string, redirected bool, rcause string) {
	from, to := s.party(c.calling), s.party(c.called)
	if !s.exists(dest) || s.dev(dest).dnd {
		why := "destNotObtainable"
		if s.exists(dest) {
			why = "doNotDisturb"
		}
		c.parties[0].state = stFail
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.FailedEvent{MonitorCrossRefID: x, FailedConnection: s.conn(c.id, dest),
				FailingDevice: s.party(dest), CallingDevice: from, CalledDevice: to,
				LocalConnectionInfo: lo, Cause: why}
		}, dest)
		return
	}
	c.parties = append(c.parties, &party{device: dest, state: stAlerting})
	redir, dcause := csta.NotRequiredParty(), "newCall"
	if redirected {
		redir, dcause = s.party(via), rcause
	}
	s.emitAll(c, func(x, lo string) csta.Message {
		return &csta.DeliveredEvent{MonitorCrossRefID: x, Connection: s.conn(c.id, dest),
			AlertingDevice: s.party(dest), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: redir, LocalConnectionInfo: lo, Cause: dcause}
	})
}

func (s *Sim) makeCall(callingID, calledID string) result {
	calling, ok := s.station(callingID)
	called := dmcc.Extension(calledID)
	if !ok || called == "" || !dialable(called) {
		return fail(errInvalidDev)
	}
	c := s.newCall(calling, called)
	return result{msg: &csta.MakeCallResponse{CallingDevice: s.conn(c.id, calling)},
		after: []func(){func() { s.ring(c, "newCall") }}}
}

// answer: Established to every device in the call.
func (s *Sim) answer(cid csta.ConnectionID) result {
	c, p, e := s.find(cid)
	if e != nil {
		return fail(e)
	}
	if p.state != stAlerting {
		return fail(errInvalidState)
	}
	p.state = stConnected
	return result{msg: &csta.AnswerCallResponse{}, after: []func(){func() {
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.EstablishedEvent{MonitorCrossRefID: x, EstablishedConnection: s.conn(c.id, p.device),
				AnsweringDevice: s.party(p.device), CallingDevice: s.party(c.calling),
				CalledDevice: s.party(c.called), LastRedirectionDevice: csta.NotRequiredParty(),
				LocalConnectionInfo: lo, Cause: "newCall"}
		})
	}}}
}

// clear drops a connection: ConnectionCleared to every device; a call
// left with one party is cleared too (ConnectionCleared per connection).
func (s *Sim) clear(cid csta.ConnectionID) result {
	c, p, e := s.find(cid)
	if e != nil {
		return fail(e)
	}
	return result{msg: &csta.ClearConnectionResponse{}, after: []func(){func() { s.drop(c, p, "normalClearing") }}}
}

// drop removes p from c with events, and clears what is left of a
// two-party call.
func (s *Sim) drop(c *call, p *party, cause string) {
	order := []*party{p}
	if len(c.parties) <= 2 {
		for _, q := range c.parties {
			if q != p {
				order = append(order, q)
			}
		}
	}
	for _, q := range order {
		q.state = stNull
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.ConnectionClearedEvent{MonitorCrossRefID: x, DroppedConnection: s.conn(c.id, q.device),
				ReleasingDevice: s.party(q.device), LocalConnectionInfo: lo, Cause: cause}
		})
	}
	s.prune(c)
}

// prune removes null parties and forgets an empty call.
func (s *Sim) prune(c *call) {
	var keep []*party
	for _, q := range c.parties {
		if q.state != stNull {
			keep = append(keep, q)
		}
	}
	c.parties = keep
	if len(keep) == 0 {
		delete(s.calls, c.id)
	}
}

// hold: Held to every device in the call.
func (s *Sim) hold(cid csta.ConnectionID) result {
	c, p, e := s.find(cid)
	if e != nil {
		return fail(e)
	}
	if p.state != stConnected {
		return fail(errInvalidState)
	}
	p.state = stHold
	return result{msg: &csta.HoldCallResponse{}, after: []func(){func() { s.held(c, p, "") }}}
}

func (s *Sim) held(c *call, p *party, cause string) {
	s.emitAll(c, func(x, lo string) csta.Message {
		return &csta.HeldEvent{MonitorCrossRefID: x, HeldConnection: s.conn(c.id, p.device),
			HoldingDevice: s.party(p.device), LocalConnectionInfo: lo, Cause: cause}
	})
}

// retrieve: Retrieved to every device in the call.
func (s *Sim) retrieve(cid csta.ConnectionID) result {
	c, p, e := s.find(cid)
	if e != nil {
		return fail(e)
	}
	if p.state != stHold {
		return fail(errInvalidState)
	}
	p.state = stConnected
	return result{msg: &csta.RetrieveCallResponse{}, after: []func(){func() {
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.RetrievedEvent{MonitorCrossRefID: x, RetrievedConnection: s.conn(c.id, p.device),
				RetrievingDevice: s.party(p.device), LocalConnectionInfo: lo}
		})
	}}}
}

// consult holds the existing call (cause consultation) and rings the
// consulted device from the same device in a new call.
func (s *Sim) consult(existing csta.ConnectionID, toID string) result {
	c, p, e := s.find(existing)
	if e != nil {
		return fail(e)
	}
	to := dmcc.Extension(toID)
	if p.state != stConnected || to == "" {
		return fail(errInvalidState)
	}
	p.state = stHold
	nc := s.newCall(p.device, to)
	return result{msg: &csta.ConsultationCallResponse{InitiatedCall: s.conn(nc.id, p.device)},
		after: []func(){func() {
			s.held(c, p, "consultation")
			s.ring(nc, "consultation")
		}}}
}

// join transfers (the joining device leaves) or conferences (it stays)
// the held and the active call into the active call.
func (s *Sim) join(heldID, activeID csta.ConnectionID, conference bool) result {
	hc, hp, e := s.find(heldID)
	if e != nil {
		return fail(e)
	}
	ac, ap, e := s.find(activeID)
	if e != nil {
		return fail(e)
	}
	if hc == ac || hp.device != ap.device || hp.state != stHold {
		return fail(errInvalidState)
	}
	dev := hp.device
	var list csta.ConnectionList
	var others []*party
	for _, q := range hc.parties {
		if q != hp {
			others = append(others, q)
			old, nw := s.conn(hc.id, q.device), s.conn(ac.id, q.device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	for _, q := range ac.parties {
		if q != ap {
			old, nw := s.conn(ac.id, q.device), s.conn(ac.id, q.device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	delete(s.calls, hc.id)
	ac.parties = append(ac.parties, others...)
	if !conference {
		ap.state = stNull
		s.prune(ac)
	}
	added := ac.called
	primary, secondary := s.conn(hc.id, dev), s.conn(ac.id, dev)
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
		return result{msg: &csta.ConferenceCallResponse{ConferenceCall: &secondary, Connections: &list}, after: []func(){after}}
	}
	nc := s.conn(ac.id, added)
	return result{msg: &csta.TransferCallResponse{TransferredCall: &nc, TransferredConnections: &list}, after: []func(){after}}
}

// singleStep transfers the device's connected call to a new destination
// without consultation: Transfered (cause singleStepTransfer) to the call's
// devices and the transferring one, then Delivered at the destination.
func (s *Sim) singleStep(active csta.ConnectionID, toID string) result {
	c, p, e := s.find(active)
	if e != nil {
		return fail(e)
	}
	to := dmcc.Extension(toID)
	if p.state != stConnected || to == "" || !dialable(to) || len(c.parties) != 2 {
		return fail(errInvalidState)
	}
	dev := p.device
	p.state = stNull
	s.prune(c)
	c.calling, c.called = c.parties[0].device, to
	var list csta.ConnectionList
	for _, q := range c.parties {
		cn := s.conn(c.id, q.device)
		list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &cn, NewConnection: &cn})
	}
	primary := s.conn(c.id, dev)
	nc := s.conn(c.id, to)
	return result{msg: &csta.SingleStepTransferCallResponse{TransferredCall: &nc}, after: []func(){func() {
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
func (s *Sim) deflect(cid csta.ConnectionID, toID string) result {
	c, p, e := s.find(cid)
	if e != nil {
		return fail(e)
	}
	to := dmcc.Extension(toID)
	if p.state != stAlerting || to == "" || !dialable(to) {
		return fail(errInvalidState)
	}
	dev := p.device
	p.state = stNull
	s.prune(c)
	return result{msg: &csta.DeflectCallResponse{}, after: []func(){func() {
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.DivertedEvent{MonitorCrossRefID: x, Connection: s.conn(c.id, dev),
				DivertingDevice: s.party(dev), NewDestination: s.party(to),
				LastRedirectionDevice: csta.NotRequiredParty(), LocalConnectionInfo: lo, Cause: "redirected"}
		}, dev)
		s.deliver(c, to, dev, true, "redirected")
	}}}
}

// digits accepts DTMF on a connected connection; AES sends no event.
func (s *Sim) digits(cid csta.ConnectionID, chars string) result {
	_, p, e := s.find(cid)
	if e != nil {
		return fail(e)
	}
	if p.state != stConnected || chars == "" {
		return fail(errInvalidState)
	}
	return result{msg: &csta.GenerateDigitsResponse{}}
}

func (s *Sim) setDND(devID string, on bool) result {
	ext, ok := s.station(devID)
	if !ok {
		return fail(errInvalidDev)
	}
	s.dev(ext).dnd = on
	return result{msg: &csta.SetDoNotDisturbResponse{}, after: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) csta.Message {
			return &dmcc.DoNotDisturbEvent{MonitorCrossRefID: x, Device: *s.party(ext), DoNotDisturbOn: on}
		})
	}}}
}

func (s *Sim) setForwarding(r *csta.SetForwarding) result {
	ext, ok := s.station(r.Device.Value)
	if !ok {
		return fail(errInvalidDev)
	}
	typ := r.ForwardingType
	if typ == "" {
		typ = csta.ForwardImmediate
	}
	if typ != csta.ForwardImmediate && typ != csta.ForwardBusy && typ != csta.ForwardNoAns {
		return fail(errorf(csta.CategoryOperation, "invalidForwardingType"))
	}
	to := ""
	if r.ForwardDN != nil {
		to = dmcc.Extension(r.ForwardDN.Value)
	}
	if r.ActivateForward && to == "" {
		return fail(errorf(csta.CategoryOperation, "invalidForwardingDestination"))
	}
	if r.ActivateForward {
		s.dev(ext).fwd[typ] = to
	} else {
		delete(s.dev(ext).fwd, typ)
	}
	return result{msg: &csta.SetForwardingResponse{}, after: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) csta.Message {
			return &dmcc.ForwardingEvent{MonitorCrossRefID: x, Device: *s.party(ext), ForwardingType: typ,
				ForwardStatus: r.ActivateForward, ForwardTo: to}
		})
	}}}
}

func (s *Sim) setAgent(r *dmcc.SetAgentState) result {
	ext, ok := s.station(r.Device.Value)
	if !ok {
		return fail(errInvalidDev)
	}
	name := dmcc.AgentEventName(r.RequestedAgentState)
	if name == "" {
		return fail(errorf(csta.CategoryOperation, "invalidAgentState")) // ~
	}
	d := s.dev(ext)
	if d.agent == "" && r.RequestedAgentState != dmcc.AgentLoggedOn || d.agent == dmcc.AgentLoggedOff && r.RequestedAgentState != dmcc.AgentLoggedOn {
		return fail(errInvalidState) // log on first
	}
	d.agent = r.RequestedAgentState
	return result{msg: &dmcc.SetAgentStateResponse{}, after: []func(){func() {
		s.emit(ext, nil, "", func(x, _ string) csta.Message {
			return &dmcc.AgentEvent{Name: name, MonitorCrossRefID: x,
				AgentDevice: csta.DeviceID{Value: s.DeviceID(ext)}, AgentID: r.AgentID}
		})
	}}}
}
