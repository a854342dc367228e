package mitel

import (
	"slices"
	"strconv"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// The attendant services as this simulated switch answers them (ECMA-269
// §17.1: GroupPickupCall, CampOnCall, CallBackCallRelated, IntrudeCall;
// accountCode on MakeCall/ConsultationCall) and its group devices with
// queues (QueuedEvent numberQueued/callsInFront, ECMA-269 §17.2.14).

// features is the simulator's state for them. Guarded by Sim.mu.
type features struct {
	pickup    map[string][]string // pickup group → members
	busy      map[string]bool     // devices that refuse new calls as busy
	campOn    map[string]string   // call id → the busy device it waits at
	callBacks []callBack
	accounts  []string // "device:code" of every account code received
}

type callBack struct{ from, to string }

// SetPickupGroup makes members a pickup group named group.
func (s *Sim) SetPickupGroup(group string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feat.pickup == nil {
		s.feat.pickup = map[string][]string{}
	}
	s.feat.pickup[group] = members
}

// SetBusy makes dev refuse new calls as busy (on) or free again (off):
// freed, it rings the calls camped on it and places the call backs
// booked on it.
func (s *Sim) SetBusy(dev string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feat.busy == nil {
		s.feat.busy = map[string]bool{}
	}
	s.feat.busy[dev] = on
	if on {
		return
	}
	for id, at := range s.feat.campOn {
		c := s.calls[id]
		if at != dev || c == nil {
			continue
		}
		delete(s.feat.campOn, id)
		if p := c.Party(dev); p != nil {
			p.State = ctisim.StateAlerting
			s.emitAll(c, func(x, lo string) cstaxml.Message {
				return &cstaxml.DeliveredEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, dev),
					AlertingDevice: cstaxml.KnownParty(dev), CallingDevice: cstaxml.KnownParty(c.Calling),
					CalledDevice: cstaxml.KnownParty(c.Called), LastRedirectionDevice: cstaxml.NotRequiredParty(),
					LocalConnectionInfo: lo, Cause: "campOn"}
			})
		}
	}
	keep := s.feat.callBacks[:0]
	for _, cb := range s.feat.callBacks {
		if cb.to != dev {
			keep = append(keep, cb)
			continue
		}
		s.ring(s.newCall(cb.from, cb.to), "callBack")
	}
	s.feat.callBacks = keep
}

// CallBacks lists the call backs booked and not yet placed, "from>to".
func (s *Sim) CallBacks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, cb := range s.feat.callBacks {
		out = append(out, cb.from+">"+cb.to)
	}
	return out
}

// AccountCodes lists the account codes received, "device:code", in order.
func (s *Sim) AccountCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.feat.accounts)
}

// isBusy reports whether a new call to dev fails busy. Called with s.mu.
func (s *Sim) isBusy(dev string) bool { return s.feat.busy[dev] }

// Queue puts a call from number (the public network) into the queue of
// group device group: QueuedEvent to the group's monitors with how many
// wait and how many are ahead.
func (s *Sim) Queue(number, group string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newCall(number, group)
	c.Parties = append(c.Parties, &ctisim.Party{Device: group, State: "queued"})
	n := s.queued(group)
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.QueuedEvent{MonitorCrossRefID: x, QueuedConnection: cstaxml.Conn(c.ID, group),
			Queue: cstaxml.KnownParty(group), CallingDevice: cstaxml.KnownParty(number), CalledDevice: cstaxml.KnownParty(group),
			LastRedirectionDevice: cstaxml.NotRequiredParty(), NumberQueued: strconv.Itoa(len(n)),
			CallsInFront: strconv.Itoa(len(n) - 1), LocalConnectionInfo: lo, Cause: "newCall"}
	})
	return c.ID
}

// ServeQueue delivers the call that waited longest at group to agent:
// Diverted at the group (its connection ends), Delivered at the agent.
func (s *Sim) ServeQueue(group, agent string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queued(group)
	if len(q) == 0 {
		return ""
	}
	c := q[0]
	p := c.Party(group)
	p.State = ctisim.StateNull
	s.emit(group, nil, ctisim.StateNull, func(x, lo string) cstaxml.Message {
		return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, group),
			DivertingDevice: cstaxml.KnownParty(group), NewDestination: cstaxml.KnownParty(agent),
			LocalConnectionInfo: lo, Cause: "distributed"}
	})
	p.Device, p.State = agent, ctisim.StateAlerting
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.DeliveredEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, agent),
			AlertingDevice: cstaxml.KnownParty(agent), CallingDevice: cstaxml.KnownParty(c.Calling),
			CalledDevice: cstaxml.KnownParty(group), LastRedirectionDevice: cstaxml.KnownParty(group),
			LocalConnectionInfo: lo, Cause: "distributed"}
	})
	return c.ID
}

// queued lists the calls waiting at group, oldest first (call ids grow).
func (s *Sim) queued(group string) []*ctisim.Call {
	var out []*ctisim.Call
	for _, c := range s.calls {
		if p := c.Party(group); p != nil && p.State == "queued" {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *ctisim.Call) int {
		x, _ := strconv.Atoi(a.ID)
		y, _ := strconv.Atoi(b.ID)
		return x - y
	})
	return out
}

// feature runs the attendant services; ok is false for other requests
// (an account code is noted and the request runs as usual). Called with
// s.mu held.
func (s *Sim) feature(m cstaxml.Message) (ctisim.Result, bool) {
	switch r := m.(type) {
	case *cstaxml.MakeCall:
		if r.AccountCode != "" {
			s.feat.accounts = append(s.feat.accounts, r.CallingDevice.Value+":"+r.AccountCode)
		}
	case *cstaxml.ConsultationCall:
		if r.AccountCode != "" {
			s.feat.accounts = append(s.feat.accounts, r.ExistingCall.Device()+":"+r.AccountCode)
		}
	case *cstaxml.GroupPickupCall:
		return s.groupPickup(r.NewDestination.Value, r.PickGroup), true
	case *cstaxml.CampOnCall:
		return s.busyCall(r.CamponConnection, s.campOnCall), true
	case *cstaxml.CallBackCallRelated:
		return s.busyCall(r.CallBackConnection, s.callBackCall), true
	case *cstaxml.IntrudeCall:
		return s.busyCall(r.Intrude, s.intrudeCall), true
	case *cstaxml.DeflectCall:
		return s.deflect(r.CallToBeDiverted, r.NewDestination.Value), true // deflect.go
	}
	return ctisim.Result{}, false
}

// groupPickup moves a call alerting at a member of the pickup group to
// dest: Diverted at the member (cause callPickup), Established at dest.
func (s *Sim) groupPickup(dest string, pick *cstaxml.DeviceID) ctisim.Result {
	if !s.exists(dest) {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	var members []string
	if pick != nil {
		m, ok := s.feat.pickup[pick.Value]
		if !ok {
			return ctisim.Fail(ctisim.ErrInvalidDevice)
		}
		members = m
	} else {
		for _, m := range s.feat.pickup {
			if slices.Contains(m, dest) {
				members = append(members, m...)
			}
		}
	}
	var c *ctisim.Call
	var p *ctisim.Party
	for _, cc := range s.calls {
		for _, pp := range cc.Parties {
			if pp.State == ctisim.StateAlerting && slices.Contains(members, pp.Device) && (c == nil || cc.ID < c.ID) {
				c, p = cc, pp
			}
		}
	}
	if c == nil {
		return ctisim.Fail(ctisim.ErrInvalidState) // nothing rings in the group
	}
	from := p.Device
	return ctisim.Result{Msg: &cstaxml.GroupPickupCallResponse{PickedCall: ptr(cstaxml.Conn(c.ID, dest))}, After: []func(){func() {
		p.State = ctisim.StateNull
		s.emit(from, nil, ctisim.StateNull, func(x, lo string) cstaxml.Message {
			return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, from),
				DivertingDevice: cstaxml.KnownParty(from), NewDestination: cstaxml.KnownParty(dest),
				LocalConnectionInfo: lo, Cause: "callPickup"}
		})
		p.Device, p.State = dest, ctisim.StateConnected
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.EstablishedEvent{MonitorCrossRefID: x, EstablishedConnection: cstaxml.Conn(c.ID, dest),
				AnsweringDevice: cstaxml.KnownParty(dest), CallingDevice: cstaxml.KnownParty(c.Calling),
				CalledDevice: cstaxml.KnownParty(c.Called), LastRedirectionDevice: cstaxml.KnownParty(from),
				LocalConnectionInfo: lo, Cause: "callPickup"}
		})
	}}}
}

func ptr[T any](v T) *T { return &v }

// busyCall resolves the caller's connection of a call that failed on a
// busy device and runs op on it.
func (s *Sim) busyCall(cid cstaxml.ConnectionID, op func(c *ctisim.Call, caller *ctisim.Party, busy string) ctisim.Result) ctisim.Result {
	c, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	if p.State != ctisim.StateFail || !s.isBusy(c.Called) {
		return ctisim.Fail(ctisim.ErrInvalidState) // only a call that met a busy device
	}
	return op(c, p, c.Called)
}

// campOnCall queues c at the busy device: the caller hears ringback
// (connected) and the call waits there (Queued, cause campOn) until the
// device is free (SetBusy off).
func (s *Sim) campOnCall(c *ctisim.Call, caller *ctisim.Party, busy string) ctisim.Result {
	return ctisim.Result{Msg: &cstaxml.CampOnCallResponse{}, After: []func(){func() {
		caller.State = ctisim.StateConnected
		c.Parties = append(c.Parties, &ctisim.Party{Device: busy, State: "queued"})
		if s.feat.campOn == nil {
			s.feat.campOn = map[string]string{}
		}
		s.feat.campOn[c.ID] = busy
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.QueuedEvent{MonitorCrossRefID: x, QueuedConnection: cstaxml.Conn(c.ID, busy),
				Queue: cstaxml.KnownParty(busy), CallingDevice: cstaxml.KnownParty(c.Calling), CalledDevice: cstaxml.KnownParty(busy),
				LastRedirectionDevice: cstaxml.NotRequiredParty(), LocalConnectionInfo: lo, Cause: "campOn"}
		})
	}}}
}

// callBackCall books a call back from the busy device and clears the
// caller's failed call.
func (s *Sim) callBackCall(c *ctisim.Call, caller *ctisim.Party, busy string) ctisim.Result {
	s.feat.callBacks = append(s.feat.callBacks, callBack{from: caller.Device, to: busy})
	return ctisim.Result{Msg: &cstaxml.CallBackCallRelatedResponse{}, After: []func(){func() {
		s.wire.Drop(c, caller, "normalClearing")
	}}}
}

// intrudeCall joins the caller into the call the busy device is talking
// in: its failed call is cleared, it is connected in the other call
// (Established, cause intrude ~).
func (s *Sim) intrudeCall(c *ctisim.Call, caller *ctisim.Party, busy string) ctisim.Result {
	var target *ctisim.Call
	for _, o := range s.calls {
		if p := o.Party(busy); o != c && p != nil && p.State == ctisim.StateConnected {
			target = o
		}
	}
	if target == nil {
		return ctisim.Fail(ctisim.ErrInvalidState) // busy, but in no call to join
	}
	who := caller.Device
	return ctisim.Result{Msg: &cstaxml.IntrudeCallResponse{ConferencedCall: ptr(cstaxml.Conn(target.ID, who))}, After: []func(){func() {
		s.wire.Drop(c, caller, "normalClearing")
		target.Parties = append(target.Parties, &ctisim.Party{Device: who, State: ctisim.StateConnected})
		s.emitAll(target, func(x, lo string) cstaxml.Message {
			return &cstaxml.EstablishedEvent{MonitorCrossRefID: x, EstablishedConnection: cstaxml.Conn(target.ID, who),
				AnsweringDevice: cstaxml.KnownParty(busy), CallingDevice: cstaxml.KnownParty(who),
				CalledDevice: cstaxml.KnownParty(busy), LastRedirectionDevice: cstaxml.NotRequiredParty(),
				LocalConnectionInfo: lo, Cause: "intrude"}
		})
	}}}
}
