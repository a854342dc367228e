package mitel

import (
	"encoding/xml"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

// Connection states and causes as they appear on the wire.
const (
	stNull      = "null"
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

// dndEvent is ECMA-323 DoNotDisturbEvent (~ element names from ECMA-323's
// logical device feature events).
type dndEvent struct {
	MonitorCrossRefID string     `xml:"monitorCrossRefID"`
	Device            csta.Party `xml:"device"`
	DoNotDisturbOn    bool       `xml:"doNotDisturbOn"`
}

func (*dndEvent) RootName() string { return "DoNotDisturbEvent" }

// fwdEvent is ECMA-323 ForwardingEvent (~).
type fwdEvent struct {
	MonitorCrossRefID string     `xml:"monitorCrossRefID"`
	Device            csta.Party `xml:"device"`
	ForwardingType    string     `xml:"forwardingType"`
	ForwardStatus     bool       `xml:"forwardStatus"`
	ForwardTo         string     `xml:"forwardTo,omitempty"`
}

func (*fwdEvent) RootName() string { return "ForwardingEvent" }

// getDND / getDNDResponse are ECMA-323 GetDoNotDisturb (~).
type getDND struct {
	Device string `xml:"device"`
}

type getDNDResponse struct {
	DoNotDisturbOn bool `xml:"doNotDisturbOn"`
}

func (*getDNDResponse) RootName() string { return "GetDoNotDisturbResponse" }

// getFwdResponse is ECMA-323 GetForwardingResponse (~).
type getFwdResponse struct {
	Items []fwdItem `xml:"forwardingList>forwardListItem"`
}

type fwdItem struct {
	ForwardingType string `xml:"forwardingType"`
	ForwardStatus  bool   `xml:"forwardStatus"`
	ForwardDN      string `xml:"forwardDN,omitempty"`
}

func (*getFwdResponse) RootName() string { return "GetForwardingResponse" }

// handle answers one request from l and emits the events it causes. It
// holds s.mu throughout, so responses and events leave in one order.
func (s *Sim) handle(l *link, id csta.InvokeID, m csta.Message) {
	if s.handleSession(l, id, m) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.session == "" {
		l.SendMsg(id, errNoSession)
		return
	}
	resp := s.service(l, m)
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
func (s *Sim) service(l *link, m csta.Message) result {
	switch r := m.(type) {
	case *csta.MonitorStart:
		if r.MonitorObject.DeviceObject == nil || !s.exists(r.MonitorObject.DeviceObject.Value) {
			return fail(errInvalidDev)
		}
		if s.cfg.MonitorLimit > 0 && len(s.monitors) >= s.cfg.MonitorLimit {
			return fail(errLicence)
		}
		mon := &monitor{id: s.newID(), device: r.MonitorObject.DeviceObject.Value, link: l}
		s.monitors[mon.id] = mon
		return result{msg: &csta.MonitorStartResponse{MonitorCrossRefID: mon.id}}
	case *csta.MonitorStop:
		mon, ok := s.monitors[r.MonitorCrossRefID]
		if !ok || mon.link != l {
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
		return s.hold(r.CallToBeHeld, "", &csta.HoldCallResponse{})
	case *csta.RetrieveCall:
		return s.retrieve(r.CallToBeRetrieved)
	case *csta.ConsultationCall:
		return s.consult(r.ExistingCall, r.ConsultedDevice.Value)
	case *csta.TransferCall:
		return s.join(r.HeldCall, r.ActiveCall, false)
	case *csta.ConferenceCall:
		return s.join(r.HeldCall, r.ActiveCall, true)
	case *csta.SetDoNotDisturb:
		return s.setDND(r.Device.Value, r.DoNotDisturbOn)
	case *csta.SetForwarding:
		return s.setForwarding(r)
	case *csta.RawMessage:
		return s.raw(r)
	}
	return fail(errGeneric)
}

// emit sends the event mk builds to every monitor of dev, with dev's
// local connection state in call c (or local, when c is nil).
func (s *Sim) emit(dev string, c *call, local string, mk func(xref, local string) csta.Message) {
	if c != nil {
		if p := c.party(dev); p != nil {
			local = p.state
		}
	}
	for _, mon := range s.monitors {
		if mon.device == dev {
			m := mk(mon.id, local)
			s.stamp(m)
			mon.link.SendMsg(csta.EventInvokeID, m)
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

func (c *call) party(dev string) *party {
	for _, p := range c.parties {
		if p.device == dev {
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
	p := c.party(cid.Device())
	if p == nil {
		return nil, nil, errInvalidConn
	}
	return c, p, nil
}

func (s *Sim) snapshot(dev string) result {
	if !s.exists(dev) {
		return fail(errInvalidDev)
	}
	data := &csta.SnapshotData{}
	for _, c := range s.calls {
		if p := c.party(dev); p != nil {
			data.Items = append(data.Items, csta.SnapshotDeviceResponseInfo{
				ConnectionIdentifier: csta.Conn(c.id, dev),
				LocalCallState: &csta.CallState{CompoundCallState: &csta.CompoundCallState{
					LocalConnectionState: []string{p.state}}},
			})
		}
	}
	return result{msg: &csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotResult{SnapshotData: data}}}
}

// newCall allocates a call from calling to called; ring sends its events.
func (s *Sim) newCall(calling, called string) *call {
	c := &call{id: s.newID(), calling: calling, called: called,
		parties: []*party{{device: calling, state: stConnected}}}
	s.calls[c.id] = c
	return c
}

// ring sends a new call's events: Originated at the caller (cause), then
// Diverted (forward immediate) at the called device, then Failed (DND,
// unknown number) or Delivered, each to every device in the call.
func (s *Sim) ring(c *call, cause string) {
	calling, called := c.calling, c.called
	from, to := csta.KnownParty(calling), csta.KnownParty(called)
	s.emit(calling, c, "", func(x, lo string) csta.Message {
		return &csta.OriginatedEvent{MonitorCrossRefID: x, OriginatedConnection: csta.Conn(c.id, calling),
			CallingDevice: from, CalledDevice: to, LocalConnectionInfo: lo, Cause: cause}
	})
	dest := called
	if s.exists(called) {
		if fw := s.dev(called).fwd[csta.ForwardImmediate]; fw != "" && fw != called {
			dest = fw
			s.emit(called, nil, stNull, func(x, lo string) csta.Message {
				return &csta.DivertedEvent{MonitorCrossRefID: x, Connection: csta.Conn(c.id, called),
					DivertingDevice: to, NewDestination: csta.KnownParty(fw),
					LocalConnectionInfo: lo, Cause: "callForwardImmediate"}
			})
		}
	}
	if !s.exists(dest) || s.dev(dest).dnd {
		why := "destNotObtainable"
		if s.exists(dest) {
			why = "doNotDisturb"
		}
		c.parties[0].state = stFail
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.FailedEvent{MonitorCrossRefID: x, FailedConnection: csta.Conn(c.id, dest),
				FailingDevice: csta.KnownParty(dest), CallingDevice: from, CalledDevice: to,
				LocalConnectionInfo: lo, Cause: why}
		}, dest)
		return
	}
	c.parties = append(c.parties, &party{device: dest, state: stAlerting})
	redir := csta.NotRequiredParty()
	dcause := "newCall"
	if dest != called {
		redir, dcause = to, "callForwardImmediate"
	}
	s.emitAll(c, func(x, lo string) csta.Message {
		return &csta.DeliveredEvent{MonitorCrossRefID: x, Connection: csta.Conn(c.id, dest),
			AlertingDevice: csta.KnownParty(dest), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: redir, LocalConnectionInfo: lo, Cause: dcause}
	})
}

func (s *Sim) makeCall(calling, called string) result {
	if !s.exists(calling) || called == "" {
		return fail(errInvalidDev)
	}
	c := s.newCall(calling, called)
	return result{msg: &csta.MakeCallResponse{CallingDevice: csta.Conn(c.id, calling)},
		after: []func(){func() { s.ring(c, "makeCall") }}}
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
			return &csta.EstablishedEvent{MonitorCrossRefID: x, EstablishedConnection: csta.Conn(c.id, p.device),
				AnsweringDevice: csta.KnownParty(p.device), CallingDevice: csta.KnownParty(c.calling),
				CalledDevice: csta.KnownParty(c.called), LastRedirectionDevice: csta.NotRequiredParty(),
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
			return &csta.ConnectionClearedEvent{MonitorCrossRefID: x, DroppedConnection: csta.Conn(c.id, q.device),
				ReleasingDevice: csta.KnownParty(q.device), LocalConnectionInfo: lo, Cause: cause}
		})
	}
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
func (s *Sim) hold(cid csta.ConnectionID, cause string, resp csta.Message) result {
	c, p, e := s.find(cid)
	if e != nil {
		return fail(e)
	}
	if p.state != stConnected {
		return fail(errInvalidState)
	}
	p.state = stHold
	return result{msg: resp, after: []func(){func() { s.held(c, p, cause) }}}
}

func (s *Sim) held(c *call, p *party, cause string) {
	s.emitAll(c, func(x, lo string) csta.Message {
		return &csta.HeldEvent{MonitorCrossRefID: x, HeldConnection: csta.Conn(c.id, p.device),
			HoldingDevice: csta.KnownParty(p.device), LocalConnectionInfo: lo, Cause: cause}
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
			return &csta.RetrievedEvent{MonitorCrossRefID: x, RetrievedConnection: csta.Conn(c.id, p.device),
				RetrievingDevice: csta.KnownParty(p.device), LocalConnectionInfo: lo}
		})
	}}}
}

// consult holds the existing call (cause consultation) and rings the
// consulted device from the same device in a new call.
func (s *Sim) consult(existing csta.ConnectionID, to string) result {
	c, p, e := s.find(existing)
	if e != nil {
		return fail(e)
	}
	if p.state != stConnected || to == "" {
		return fail(errInvalidState)
	}
	p.state = stHold
	nc := s.newCall(p.device, to)
	return result{msg: &csta.ConsultationCallResponse{InitiatedCall: csta.Conn(nc.id, p.device)},
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
			old, nw := csta.Conn(hc.id, q.device), csta.Conn(ac.id, q.device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	for _, q := range ac.parties {
		if q != ap {
			old, nw := csta.Conn(ac.id, q.device), csta.Conn(ac.id, q.device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	delete(s.calls, hc.id)
	ac.parties = append(ac.parties, others...)
	if !conference {
		ap.state = stNull
		var keep []*party
		for _, q := range ac.parties {
			if q != ap {
				keep = append(keep, q)
			}
		}
		ac.parties = keep
	}
	added := ""
	if len(ac.parties) > 0 {
		added = ac.called
	}
	primary, secondary := csta.Conn(hc.id, dev), csta.Conn(ac.id, dev)
	after := func() {
		s.emitAll(ac, func(x, lo string) csta.Message {
			if conference {
				return &csta.ConferencedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
					ConferencingDevice: csta.KnownParty(dev), AddedParty: csta.KnownParty(added),
					ConferenceConnections: &list, LocalConnectionInfo: lo, Cause: "conference"}
			}
			return &csta.TransferedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
				TransferringDevice: csta.KnownParty(dev), TransferredToDevice: csta.KnownParty(added),
				TransferredConnections: &list, LocalConnectionInfo: lo, Cause: "transfer"}
		}, dev)
	}
	if conference {
		return result{msg: &csta.ConferenceCallResponse{ConferenceCall: &secondary, Connections: &list}, after: []func(){after}}
	}
	nc := csta.Conn(ac.id, added)
	return result{msg: &csta.TransferCallResponse{TransferredCall: &nc, TransferredConnections: &list}, after: []func(){after}}
}

func (s *Sim) setDND(dev string, on bool) result {
	if !s.exists(dev) {
		return fail(errInvalidDev)
	}
	s.dev(dev).dnd = on
	return result{msg: &csta.SetDoNotDisturbResponse{}, after: []func(){func() {
		s.emit(dev, nil, "", func(x, _ string) csta.Message {
			return &dndEvent{MonitorCrossRefID: x, Device: *csta.KnownParty(dev), DoNotDisturbOn: on}
		})
	}}}
}

func (s *Sim) setForwarding(r *csta.SetForwarding) result {
	dev := r.Device.Value
	if !s.exists(dev) {
		return fail(errInvalidDev)
	}
	typ := r.ForwardingType
	if typ == "" {
		typ = csta.ForwardImmediate
	}
	to := ""
	if r.ForwardDN != nil {
		to = r.ForwardDN.Value
	}
	if r.ActivateForward && to == "" {
		return fail(errorf(csta.CategoryOperation, "invalidForwardingDestination"))
	}
	if r.ActivateForward {
		s.dev(dev).fwd[typ] = to
	} else {
		delete(s.dev(dev).fwd, typ)
	}
	return result{msg: &csta.SetForwardingResponse{}, after: []func(){func() {
		s.emit(dev, nil, "", func(x, _ string) csta.Message {
			return &fwdEvent{MonitorCrossRefID: x, Device: *csta.KnownParty(dev), ForwardingType: typ,
				ForwardStatus: r.ActivateForward, ForwardTo: to}
		})
	}}}
}

// raw answers the ECMA-269 services the csta package has no type for:
// GetDoNotDisturb and GetForwarding (~).
func (s *Sim) raw(r *csta.RawMessage) result {
	var g getDND
	if err := xml.Unmarshal(append(append([]byte("<x>"), r.Inner...), "</x>"...), &g); err != nil || !s.exists(g.Device) {
		return fail(errInvalidDev)
	}
	d := s.dev(g.Device)
	switch r.RootName() {
	case "GetDoNotDisturb":
		return result{msg: &getDNDResponse{DoNotDisturbOn: d.dnd}}
	case "GetForwarding":
		resp := &getFwdResponse{}
		for _, t := range []string{csta.ForwardImmediate, csta.ForwardBusy, csta.ForwardNoAns} {
			to, on := d.fwd[t]
			resp.Items = append(resp.Items, fwdItem{ForwardingType: t, ForwardStatus: on, ForwardDN: to})
		}
		return result{msg: resp}
	}
	return fail(errGeneric)
}
