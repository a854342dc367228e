package mitel

import (
	"fmt"
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
	if l.freed {
		// The link closed while this request waited (a slow spell): a
		// switch forgets a dead link's requests, and a monitor made now
		// would outlive the link that owns it.
		return
	}
	if l.session == "" && !s.cfg.NoSession {
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
func (s *Sim) service(l *link, m cstaxml.Message) ctisim.Result {
	if res, ok := s.feature(m); ok { // features.go
		return res
	}
	switch r := m.(type) {
	case *cstaxml.MonitorStart:
		if r.MonitorObject.DeviceObject == nil || !s.exists(r.MonitorObject.DeviceObject.Value) {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		if s.cfg.MonitorLimit > 0 && len(s.monitors) >= s.cfg.MonitorLimit {
			return ctisim.Fail(ctisim.ErrLicence)
		}
		mon := &monitor{id: s.newID(), device: r.MonitorObject.DeviceObject.Value, link: l}
		s.monitors[mon.id] = mon
		s.byDev.Add(mon.device, mon)
		return ctisim.Result{Msg: &cstaxml.MonitorStartResponse{MonitorCrossRefID: mon.id}}
	case *cstaxml.MonitorStop:
		mon, ok := s.monitors[r.MonitorCrossRefID]
		if !ok || mon.link != l {
			return ctisim.Fail(ctisim.ErrInvalidCrossRef)
		}
		delete(s.monitors, r.MonitorCrossRefID)
		s.byDev.Remove(mon.device, mon)
		return ctisim.Result{Msg: &cstaxml.MonitorStopResponse{}}
	case *cstaxml.SnapshotDevice:
		res := s.snapshot(r.SnapshotObject.Value)
		if s.cfg.DeferredSnapshots {
			res = s.deferSnapshot(l, res)
		}
		return res
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
	case *cstaxml.ConferenceCall:
		return s.join(r.HeldCall, r.ActiveCall, true)
	case *cstaxml.ReconnectCall:
		return s.swap(r.HeldCall, r.ActiveCall, true)
	case *cstaxml.AlternateCall:
		return s.swap(r.HeldCall, r.ActiveCall, false)
	case *cstaxml.SetDoNotDisturb:
		return s.setDND(r.Device.Value, r.DoNotDisturbOn)
	case *cstaxml.SetForwarding:
		return s.setForwarding(r)
	case *cstaxml.GetDoNotDisturb:
		if !s.exists(r.Device.Value) {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		return ctisim.Result{Msg: &cstaxml.GetDoNotDisturbResponse{DoNotDisturbOn: s.dev(r.Device.Value).dnd}}
	case *cstaxml.GetForwarding:
		return s.getForwarding(r.Device.Value)
	case *cstaxml.GetMessageWaitingIndicator:
		if !s.exists(r.Device.Value) {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		return ctisim.Result{Msg: &cstaxml.GetMessageWaitingIndicatorResponse{MessageWaitingOn: s.dev(r.Device.Value).mwi}}
	}
	return ctisim.Fail(ctisim.ErrGeneric)
}

// emit sends the event mk builds to every monitor of dev, with dev's
// local connection state in call c (or local, when c is nil).
func (s *Sim) emit(dev string, c *ctisim.Call, local string, mk func(xref, local string) cstaxml.Message) {
	if c != nil {
		if p := c.Party(dev); p != nil {
			local = p.State
		}
	}
	if s.lose > 0 {
		s.lose--
		s.lost++
		return // lost on the way, as a switch under overload loses them
	}
	for _, mon := range s.byDev[dev] {
		m := mk(mon.id, local)
		s.stamp(m)
		mon.link.SendMsg(cstaxml.EventInvokeID, m)
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
	data := &cstaxml.SnapshotData{}
	for _, c := range s.calls {
		if p := c.Party(dev); p != nil {
			data.Items = append(data.Items, cstaxml.SnapshotDeviceResponseInfo{
				ConnectionIdentifier: cstaxml.Conn(c.ID, dev),
				LocalCallState: &cstaxml.CallState{CompoundCallState: &cstaxml.CompoundCallState{
					LocalConnectionState: []string{p.State}}},
			})
		}
	}
	return ctisim.Result{Msg: &cstaxml.SnapshotDeviceResponse{CrossRefIDorSnapshotData: cstaxml.SnapshotResult{SnapshotData: data}}}
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
// busy, unknown number) or Delivered, each to every device in the call.
// A call to the public network leaves over the trunk instead (see
// outgoing); one to a hunt group is distributed or queued (ctisim.Hunt).
func (s *Sim) ring(c *ctisim.Call, cause string) {
	calling, called := c.Calling, c.Called
	from, to := cstaxml.KnownParty(calling), cstaxml.KnownParty(called)
	ext := s.external(called) && s.exists(calling)
	if ext {
		s.dialed(c)
	}
	s.emit(calling, c, "", func(x, lo string) cstaxml.Message {
		return &cstaxml.OriginatedEvent{MonitorCrossRefID: x, OriginatedConnection: cstaxml.Conn(c.ID, calling),
			CallingDevice: from, CalledDevice: to, LocalConnectionInfo: lo, Cause: cause}
	})
	if ext {
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
				return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, called),
					DivertingDevice: to, NewDestination: cstaxml.KnownParty(fw),
					LocalConnectionInfo: lo, Cause: "callForwardImmediate"}
			})
		}
	}
	if why := s.refuses(dest); why != "" {
		c.Parties[0].State = ctisim.StateFail
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.FailedEvent{MonitorCrossRefID: x, FailedConnection: cstaxml.Conn(c.ID, dest),
				FailingDevice: cstaxml.KnownParty(dest), CallingDevice: from, CalledDevice: to,
				LocalConnectionInfo: lo, Cause: why}
		}, dest)
		return
	}
	redir := cstaxml.NotRequiredParty()
	dcause := "newCall"
	if dest != called {
		redir, dcause = to, "callForwardImmediate"
	}
	s.deliver(c, dest, redir, dcause)
}

// deliver alerts dest in c: Offered first when the switch offers calls,
// then Delivered to every device in the call, naming the device that last
// redirected it (redir) and why (cause). Called with s.mu held.
func (s *Sim) deliver(c *ctisim.Call, dest string, redir *cstaxml.Party, dcause string) {
	calling := c.Calling
	from, to := cstaxml.KnownParty(calling), cstaxml.KnownParty(c.Called)
	c.Parties = append(c.Parties, &ctisim.Party{Device: dest, State: ctisim.StateAlerting})
	var netCaller, trunk *cstaxml.Party
	if !s.exists(calling) || s.incoming[c.ID] { // from the public network, over the trunk
		netCaller, trunk = cstaxml.KnownParty(s.cfg.NetworkPrefix+calling), cstaxml.KnownParty(s.trunk())
	}
	if s.cfg.Offer {
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.OfferedEvent{MonitorCrossRefID: x, OfferedConnection: cstaxml.Conn(c.ID, dest),
				OfferedDevice: cstaxml.KnownParty(dest), CallingDevice: from, CalledDevice: to,
				LastRedirectionDevice: redir, LocalConnectionInfo: lo, CorrelatorData: correlator(c.ID), Cause: dcause,
				NetworkCallingDevice: netCaller, AssociatedCallingDevice: trunk}
		})
	}
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.DeliveredEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, dest),
			AlertingDevice: cstaxml.KnownParty(dest), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: redir, LocalConnectionInfo: lo, CorrelatorData: correlator(c.ID), Cause: dcause,
			NetworkCallingDevice: netCaller, AssociatedCallingDevice: trunk}
	})
}

// correlator is the correlatorData the simulator sends with a call's
// events: the same at every device (ECMA-269 CorrelatorData, an octet
// string; hex on the wire).
func correlator(callID string) string { return fmt.Sprintf("%X", "SIM"+callID) }

// trunk is the trunk device external calls arrive on.
func (s *Sim) trunk() string {
	if s.cfg.Trunk != "" {
		return s.cfg.Trunk
	}
	return "T1"
}

// Incoming rings device to from an external number over the trunk, as a
// call from the public network arrives: Delivered carries the network
// calling number (networkCallingDevice) and the trunk
// (associatedCallingDevice).
func (s *Sim) Incoming(number, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newCall(number, to)
	if s.incoming == nil {
		s.incoming = map[string]bool{}
	}
	s.incoming[c.ID] = true
	s.ring(c, "newCall")
}

// SetMessageWaiting turns dev's message-waiting lamp on or off and tells
// its monitors (MessageWaitingEvent; the voicemail pilot holds the
// message).
func (s *Sim) SetMessageWaiting(dev string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dev(dev).mwi = on
	s.emit(dev, nil, "", func(x, _ string) cstaxml.Message {
		return &cstaxml.MessageWaitingEvent{MonitorCrossRefID: x, TargetDevice: *cstaxml.KnownParty(dev),
			DeviceForMessage: s.voicemail(), MessageWaitingOn: on}
	})
}

func (s *Sim) voicemail() string {
	if s.cfg.Voicemail != "" {
		return s.cfg.Voicemail
	}
	return "7000"
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

func (s *Sim) makeCall(calling, called string) ctisim.Result {
	if !s.exists(calling) || called == "" {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	if f := s.cfg.DeviceIDForm; f != "" && !s.exists(called) && s.exists(fmt.Sprintf(f, called)) {
		called = fmt.Sprintf(f, called) // a dialed extension rings its device
	}
	c := s.newCall(calling, called)
	return ctisim.Result{Msg: &cstaxml.MakeCallResponse{CallingDevice: cstaxml.Conn(c.ID, calling)},
		After: []func(){func() { s.ring(c, "makeCall") }}}
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
func (s *Sim) consult(existing cstaxml.ConnectionID, to string) ctisim.Result {
	c, p, e := s.find(existing)
	if e != nil {
		return ctisim.Fail(e)
	}
	if p.State != ctisim.StateConnected || to == "" {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	p.State = ctisim.StateHold
	nc := s.newCall(p.Device, to)
	return ctisim.Result{Msg: &cstaxml.ConsultationCallResponse{InitiatedCall: cstaxml.Conn(nc.ID, p.Device)},
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
			old, nw := cstaxml.Conn(hc.ID, q.Device), cstaxml.Conn(ac.ID, q.Device)
			list.Items = append(list.Items, cstaxml.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
		}
	}
	for _, q := range ac.Parties {
		if q != ap {
			old, nw := cstaxml.Conn(ac.ID, q.Device), cstaxml.Conn(ac.ID, q.Device)
			list.Items = append(list.Items, cstaxml.ConnectionListItem{OldConnection: &old, NewConnection: &nw})
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
	primary, secondary := cstaxml.Conn(hc.ID, dev), cstaxml.Conn(ac.ID, dev)
	after := func() {
		s.emitAll(ac, func(x, lo string) cstaxml.Message {
			if conference {
				return &cstaxml.ConferencedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
					ConferencingDevice: cstaxml.KnownParty(dev), AddedParty: cstaxml.KnownParty(added),
					ConferenceConnections: &list, LocalConnectionInfo: lo, Cause: "conference"}
			}
			return &cstaxml.TransferedEvent{MonitorCrossRefID: x, PrimaryOldCall: primary, SecondaryOldCall: &secondary,
				TransferringDevice: cstaxml.KnownParty(dev), TransferredToDevice: cstaxml.KnownParty(added),
				TransferredConnections: &list, LocalConnectionInfo: lo, Cause: "transfer"}
		}, dev)
	}
	if conference {
		return ctisim.Result{Msg: &cstaxml.ConferenceCallResponse{ConferenceCall: &secondary, Connections: &list}, After: []func(){after}}
	}
	nc := cstaxml.Conn(ac.ID, added)
	return ctisim.Result{Msg: &cstaxml.TransferCallResponse{TransferredCall: &nc, TransferredConnections: &list}, After: []func(){after}}
}

func (s *Sim) setDND(dev string, on bool) ctisim.Result {
	if !s.exists(dev) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	s.dev(dev).dnd = on
	return ctisim.Result{Msg: &cstaxml.SetDoNotDisturbResponse{}, After: []func(){func() {
		s.emit(dev, nil, "", func(x, _ string) cstaxml.Message {
			return &cstaxml.DoNotDisturbEvent{MonitorCrossRefID: x, Device: *cstaxml.KnownParty(dev), DoNotDisturbOn: on}
		})
	}}}
}

func (s *Sim) setForwarding(r *cstaxml.SetForwarding) ctisim.Result {
	dev := r.Device.Value
	if !s.exists(dev) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	typ := r.ForwardingType
	if typ == "" {
		typ = cstaxml.ForwardImmediate
	}
	to := ""
	if r.ForwardDN != nil {
		to = r.ForwardDN.Value
	}
	if r.ActivateForward && to == "" {
		return ctisim.Fail(ctisim.Errorf(cstaxml.CategoryOperation, "invalidForwardingDestination"))
	}
	if r.ActivateForward {
		s.dev(dev).fwd[typ] = to
	} else {
		delete(s.dev(dev).fwd, typ)
	}
	return ctisim.Result{Msg: &cstaxml.SetForwardingResponse{}, After: []func(){func() {
		s.emit(dev, nil, "", func(x, _ string) cstaxml.Message {
			return &cstaxml.ForwardingEvent{MonitorCrossRefID: x, Device: *cstaxml.KnownParty(dev), ForwardingType: typ,
				ForwardStatus: r.ActivateForward, ForwardTo: to}
		})
	}}}
}

// getForwarding answers GetForwarding with the three forwarding types
// the simulator keeps.
func (s *Sim) getForwarding(dev string) ctisim.Result {
	if !s.exists(dev) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	d := s.dev(dev)
	resp := &cstaxml.GetForwardingResponse{}
	for _, t := range []string{cstaxml.ForwardImmediate, cstaxml.ForwardBusy, cstaxml.ForwardNoAns} {
		to, on := d.fwd[t]
		resp.Items = append(resp.Items, cstaxml.ForwardListItem{ForwardingType: t, ForwardStatus: on, ForwardDN: to})
	}
	return ctisim.Result{Msg: resp}
}

// deferSnapshot answers a SnapshotDevice with a serviceCrossRefID only and
// sends the data after the response in SnapshotDeviceData events, one
// connection per segment (ECMA-269 §16.1.3 ~). Called with s.mu held.
func (s *Sim) deferSnapshot(l *link, res ctisim.Result) ctisim.Result {
	resp, ok := res.Msg.(*cstaxml.SnapshotDeviceResponse)
	if !ok {
		return res // an error
	}
	items := resp.CrossRefIDorSnapshotData.SnapshotData.Items
	id := s.newID()
	var segs []*cstaxml.SnapshotDeviceData
	for i := range max(len(items), 1) {
		sd := &cstaxml.SnapshotDeviceData{ServiceCrossRefID: id, SegmentID: fmt.Sprint(i + 1), LastSegment: i >= len(items)-1,
			SnapshotData: &cstaxml.SnapshotData{}}
		if i < len(items) {
			sd.SnapshotData.Items = items[i : i+1]
		}
		segs = append(segs, sd)
	}
	return ctisim.Result{Msg: &cstaxml.SnapshotDeviceResponse{CrossRefIDorSnapshotData: cstaxml.SnapshotResult{ServiceCrossRefID: id}},
		After: []func(){func() {
			for _, sd := range segs {
				l.SendMsg(cstaxml.EventInvokeID, sd)
			}
		}}}
}
