package mitel

import (
	"encoding/xml"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/lab/ctisim"
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
		l.SendMsg(id, ctisim.ErrNoSession)
		return
	}
	resp := s.service(l, m)
	l.SendMsg(id, resp.Msg)
	for _, f := range resp.After {
		f()
	}
}

// service runs one CSTA service. Called with s.mu held.
func (s *Sim) service(l *link, m csta.Message) ctisim.Result {
	switch r := m.(type) {
	case *csta.MonitorStart:
		if r.MonitorObject.DeviceObject == nil || !s.exists(r.MonitorObject.DeviceObject.Value) {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		if s.cfg.MonitorLimit > 0 && len(s.monitors) >= s.cfg.MonitorLimit {
			return ctisim.Fail(ctisim.ErrLicence)
		}
		mon := &monitor{id: s.newID(), device: r.MonitorObject.DeviceObject.Value, link: l}
		s.monitors[mon.id] = mon
		return ctisim.Result{Msg: &csta.MonitorStartResponse{MonitorCrossRefID: mon.id}}
	case *csta.MonitorStop:
		mon, ok := s.monitors[r.MonitorCrossRefID]
		if !ok || mon.link != l {
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
	case *csta.SetDoNotDisturb:
		return s.setDND(r.Device.Value, r.DoNotDisturbOn)
	case *csta.SetForwarding:
		return s.setForwarding(r)
	case *csta.RawMessage:
		return s.raw(r)
	}
	return ctisim.Fail(ctisim.ErrGeneric)
}

// emit sends the event mk builds to every monitor of dev, with dev's
// local connection state in call c (or local, when c is nil).
func (s *Sim) emit(dev string, c *ctisim.Call, local string, mk func(xref, local string) csta.Message) {
	if c != nil {
		if p := c.Party(dev); p != nil {
			local = p.State
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
func (s *Sim) emitAll(c *ctisim.Call, mk func(xref, local string) csta.Message, extra ...string) {
	c.Tell(func(dev string) { s.emit(dev, c, "", mk) }, func(dev string) { s.emit(dev, nil, ctisim.StateNull, mk) }, extra...)
}

// find resolves a ConnectionID to its call and party.
func (s *Sim) find(cid csta.ConnectionID) (*ctisim.Call, *ctisim.Party, *csta.CSTAErrorCode) {
	c, ok := s.calls[cid.CallID]
	if !ok {
		return nil, nil, ctisim.ErrInvalidConnection
	}
	p := c.Party(cid.Device())
	if p == nil {
		return nil, nil, ctisim.ErrInvalidConnection
	}
	return c, p, nil
}

func (s *Sim) snapshot(dev string) ctisim.Result {
	if !s.exists(dev) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	data := &csta.SnapshotData{}
	for _, c := range s.calls {
		if p := c.Party(dev); p != nil {
			data.Items = append(data.Items, csta.SnapshotDeviceResponseInfo{
				ConnectionIdentifier: csta.Conn(c.ID, dev),
				LocalCallState: &csta.CallState{CompoundCallState: &csta.CompoundCallState{
					LocalConnectionState: []string{p.State}}},
			})
		}
	}
	return ctisim.Result{Msg: &csta.SnapshotDeviceResponse{CrossRefIDorSnapshotData: csta.SnapshotResult{SnapshotData: data}}}
}

// newCall allocates a call from calling to called; ring sends its events.
func (s *Sim) newCall(calling, called string) *ctisim.Call {
	c := &ctisim.Call{ID: s.newID(), Calling: calling, Called: called,
		Parties: []*ctisim.Party{{Device: calling, State: ctisim.StateConnected}}}
	s.calls[c.ID] = c
	return c
}

// ring sends a new call's events: Originated at the caller (cause), then
// Diverted (forward immediate) at the called device, then Failed (DND,
// unknown number) or Delivered, each to every device in the call.
func (s *Sim) ring(c *ctisim.Call, cause string) {
	calling, called := c.Calling, c.Called
	from, to := csta.KnownParty(calling), csta.KnownParty(called)
	s.emit(calling, c, "", func(x, lo string) csta.Message {
		return &csta.OriginatedEvent{MonitorCrossRefID: x, OriginatedConnection: csta.Conn(c.ID, calling),
			CallingDevice: from, CalledDevice: to, LocalConnectionInfo: lo, Cause: cause}
	})
	dest := called
	if s.exists(called) {
		if fw := s.dev(called).fwd[csta.ForwardImmediate]; fw != "" && fw != called {
			dest = fw
			s.emit(called, nil, ctisim.StateNull, func(x, lo string) csta.Message {
				return &csta.DivertedEvent{MonitorCrossRefID: x, Connection: csta.Conn(c.ID, called),
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
		c.Parties[0].State = ctisim.StateFail
		s.emitAll(c, func(x, lo string) csta.Message {
			return &csta.FailedEvent{MonitorCrossRefID: x, FailedConnection: csta.Conn(c.ID, dest),
				FailingDevice: csta.KnownParty(dest), CallingDevice: from, CalledDevice: to,
				LocalConnectionInfo: lo, Cause: why}
		}, dest)
		return
	}
	c.Parties = append(c.Parties, &ctisim.Party{Device: dest, State: ctisim.StateAlerting})
	redir := csta.NotRequiredParty()
	dcause := "newCall"
	if dest != called {
		redir, dcause = to, "callForwardImmediate"
	}
	s.emitAll(c, func(x, lo string) csta.Message {
		return &csta.DeliveredEvent{MonitorCrossRefID: x, Connection: csta.Conn(c.ID, dest),
			AlertingDevice: csta.KnownParty(dest), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: redir, LocalConnectionInfo: lo, Cause: dcause}
	})
}

func (s *Sim) makeCall(calling, called string) ctisim.Result {
	if !s.exists(calling) || called == "" {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	c := s.newCall(calling, called)
	return ctisim.Result{Msg: &csta.MakeCallResponse{CallingDevice: csta.Conn(c.ID, calling)},
		After: []func(){func() { s.ring(c, "makeCall") }}}
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
func (s *Sim) consult(existing csta.ConnectionID, to string) ctisim.Result {
	c, p, e := s.find(existing)
	if e != nil {
		return ctisim.Fail(e)
	}
	if p.State != ctisim.StateConnected || to == "" {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	p.State = ctisim.StateHold
	nc := s.newCall(p.Device, to)
	return ctisim.Result{Msg: &csta.ConsultationCallResponse{InitiatedCall: csta.Conn(nc.ID, p.Device)},
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
			old, nw := csta.Conn(hc.ID, q.Device), csta.Conn(ac.ID, q.Device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	for _, q := range ac.Parties {
		if q != ap {
			old, nw := csta.Conn(ac.ID, q.Device), csta.Conn(ac.ID, q.Device)
			list.Items = append(list.Items, csta.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	delete(s.calls, hc.ID)
	ac.Parties = append(ac.Parties, others...)
	if !conference {
		ap.State = ctisim.StateNull
		var keep []*ctisim.Party
		for _, q := range ac.Parties {
			if q != ap {
				keep = append(keep, q)
			}
		}
		ac.Parties = keep
	}
	added := ""
	if len(ac.Parties) > 0 {
		added = ac.Called
	}
	primary, secondary := csta.Conn(hc.ID, dev), csta.Conn(ac.ID, dev)
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
		return ctisim.Result{Msg: &csta.ConferenceCallResponse{ConferenceCall: &secondary, Connections: &list}, After: []func(){after}}
	}
	nc := csta.Conn(ac.ID, added)
	return ctisim.Result{Msg: &csta.TransferCallResponse{TransferredCall: &nc, TransferredConnections: &list}, After: []func(){after}}
}

func (s *Sim) setDND(dev string, on bool) ctisim.Result {
	if !s.exists(dev) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	s.dev(dev).dnd = on
	return ctisim.Result{Msg: &csta.SetDoNotDisturbResponse{}, After: []func(){func() {
		s.emit(dev, nil, "", func(x, _ string) csta.Message {
			return &dndEvent{MonitorCrossRefID: x, Device: *csta.KnownParty(dev), DoNotDisturbOn: on}
		})
	}}}
}

func (s *Sim) setForwarding(r *csta.SetForwarding) ctisim.Result {
	dev := r.Device.Value
	if !s.exists(dev) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
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
		return ctisim.Fail(ctisim.Errorf(csta.CategoryOperation, "invalidForwardingDestination"))
	}
	if r.ActivateForward {
		s.dev(dev).fwd[typ] = to
	} else {
		delete(s.dev(dev).fwd, typ)
	}
	return ctisim.Result{Msg: &csta.SetForwardingResponse{}, After: []func(){func() {
		s.emit(dev, nil, "", func(x, _ string) csta.Message {
			return &fwdEvent{MonitorCrossRefID: x, Device: *csta.KnownParty(dev), ForwardingType: typ,
				ForwardStatus: r.ActivateForward, ForwardTo: to}
		})
	}}}
}

// raw answers the ECMA-269 services the csta package has no type for:
// GetDoNotDisturb and GetForwarding (~).
func (s *Sim) raw(r *csta.RawMessage) ctisim.Result {
	var g getDND
	if err := xml.Unmarshal(append(append([]byte("<x>"), r.Inner...), "</x>"...), &g); err != nil || !s.exists(g.Device) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	d := s.dev(g.Device)
	switch r.RootName() {
	case "GetDoNotDisturb":
		return ctisim.Result{Msg: &getDNDResponse{DoNotDisturbOn: d.dnd}}
	case "GetForwarding":
		resp := &getFwdResponse{}
		for _, t := range []string{csta.ForwardImmediate, csta.ForwardBusy, csta.ForwardNoAns} {
			to, on := d.fwd[t]
			resp.Items = append(resp.Items, fwdItem{ForwardingType: t, ForwardStatus: on, ForwardDN: to})
		}
		return ctisim.Result{Msg: resp}
	}
	return ctisim.Fail(ctisim.ErrGeneric)
}
