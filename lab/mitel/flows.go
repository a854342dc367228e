package mitel

import (
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// The call flows beyond a plain internal call: a busy or refusing
// destination, a call to the public network, a call to a hunt group
// (ECMA-269 §17.2, the events a switch sends for each; ~ marks a cause
// value taken from the ECMA-269 EventCause list without a trace).

// external reports whether number is one of the public network's
// (Config.ExternalPrefix). Called with s.mu held.
func (s *Sim) external(number string) bool {
	p := s.cfg.ExternalPrefix
	return p != "" && len(number) > len(p) && strings.HasPrefix(number, p)
}

// refuses returns the cause a call to dest fails with, "" if dest can be
// alerted: destNotObtainable (no such device), doNotDisturb, or busy (in
// Config.Lines calls already, or made busy with SetBusy). Called with
// s.mu held.
func (s *Sim) refuses(dest string) string {
	switch {
	case !s.exists(dest):
		return "destNotObtainable"
	case s.dev(dest).dnd:
		return "doNotDisturb"
	case s.busy(dest) || s.isBusy(dest): // Lines, or SetBusy (features.go)
		return "busy"
	}
	return ""
}

// busy reports whether dev is in as many calls as it has lines. Called
// with s.mu held.
func (s *Sim) busy(dev string) bool {
	if s.cfg.Lines <= 0 {
		return false
	}
	n := 0
	for _, c := range s.calls {
		if p := c.Party(dev); p != nil && p.State != ctisim.StateNull && p.State != ctisim.StateFail {
			n++
		}
	}
	return n >= s.cfg.Lines
}

// dialed tells the caller's monitors the digits it dialed for an
// outgoing call (DigitsDialedEvent, ECMA-269 §17.2.5 ~), its connection
// still initiated. Called with s.mu held.
func (s *Sim) dialed(c *ctisim.Call) {
	s.emit(c.Calling, nil, ctisim.StateInitiated, func(x, lo string) cstaxml.Message {
		return &cstaxml.DigitsDialedEvent{MonitorCrossRefID: x, DialingConnection: cstaxml.Conn(c.ID, c.Calling),
			DialingDevice: cstaxml.KnownParty(c.Calling), DialingSequence: c.Called, LocalConnectionInfo: lo, Cause: "normal"}
	})
}

// outgoing takes a call to the public network over the trunk: the call
// reaches the network (NetworkReachedEvent, networkInterfaceUsed the
// trunk, ECMA-269 §17.2.12), and the far end answers (Established,
// answeringDevice the number called). The caller's connection stays
// connected throughout. Called with s.mu held.
func (s *Sim) outgoing(c *ctisim.Call, cause string) {
	from, to := cstaxml.KnownParty(c.Calling), cstaxml.KnownParty(c.Called)
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.NetworkReachedEvent{MonitorCrossRefID: x, OutboundConnection: cstaxml.Conn(c.ID, s.trunk()),
			NetworkInterfaceUsed: cstaxml.KnownParty(s.trunk()), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: cstaxml.NotRequiredParty(), LocalConnectionInfo: lo, Cause: cause}
	})
	c.Parties = append(c.Parties, &ctisim.Party{Device: c.Called, State: ctisim.StateConnected})
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.EstablishedEvent{MonitorCrossRefID: x, EstablishedConnection: cstaxml.Conn(c.ID, c.Called),
			AnsweringDevice: to, CallingDevice: from, CalledDevice: to, LastRedirectionDevice: cstaxml.NotRequiredParty(),
			LocalConnectionInfo: lo, CorrelatorData: correlator(c.ID), Cause: cause}
	})
}

// enterGroup offers c to hunt group g: the group's first free member is
// alerted (Diverted at the group, then Delivered, cause distributed ~);
// with none free the call waits in the group's queue: the group holds
// a queued connection and the caller and the group get QueuedEvent with
// the queue length (numberQueued) and the calls ahead (callsInFront),
// cause enteringDistribution ~ (ECMA-269 §17.2.14). Called with s.mu held.
func (s *Sim) enterGroup(c *ctisim.Call, g string) {
	c.Parties = append(c.Parties, &ctisim.Party{Device: g, State: ctisim.StateQueued})
	if s.queues == nil {
		s.queues = map[string][]*ctisim.Call{}
	}
	s.queues[g] = append(s.queues[g], c)
	if s.distributeGroup(g) {
		return
	}
	n := len(s.queues[g])
	from, gp := cstaxml.KnownParty(c.Calling), cstaxml.KnownParty(g)
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.QueuedEvent{MonitorCrossRefID: x, QueuedConnection: cstaxml.Conn(c.ID, g), Queue: gp,
			CallingDevice: from, CalledDevice: gp, LastRedirectionDevice: cstaxml.NotRequiredParty(),
			NumberQueued: strconv.Itoa(n), CallsInFront: strconv.Itoa(n - 1), LocalConnectionInfo: lo,
			Cause: "enteringDistribution"}
	})
}

// distribute hands queued calls to group members that became free.
// Called with s.mu held, whenever a call ends.
func (s *Sim) distribute() {
	for g := range s.queues {
		for s.distributeGroup(g) {
		}
	}
}

// distributeGroup alerts g's first free member with the first call in
// g's queue; false when there is no call or no free member. Called with
// s.mu held.
func (s *Sim) distributeGroup(g string) bool {
	q := s.queues[g]
	for len(q) > 0 && s.calls[q[0].ID] != q[0] { // ended while it waited
		q = q[1:]
	}
	s.queues[g] = q
	if len(q) == 0 {
		return false
	}
	member := ""
	for _, m := range s.cfg.Groups[g] {
		if s.refuses(m) == "" {
			member = m
			break
		}
	}
	if member == "" {
		return false
	}
	c := q[0]
	s.queues[g] = q[1:]
	gp := c.Party(g)
	if gp == nil {
		return false
	}
	gp.State = ctisim.StateNull
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, g),
			DivertingDevice: cstaxml.KnownParty(g), NewDestination: cstaxml.KnownParty(member),
			LocalConnectionInfo: lo, Cause: "distributed"}
	})
	s.wire.Prune(c)
	s.deliver(c, member, cstaxml.KnownParty(g), "distributed")
	return true
}
