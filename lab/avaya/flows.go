package avaya

import (
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// The call flows beyond a plain call between stations: a busy or
// refusing destination and a call out to the public network (ECMA-269
// §17.2 events, as AES reports Communication Manager's calls).

// external reports whether number is one of the public network's
// (Config.ExternalPrefix). Called with s.mu held.
func (s *Sim) external(number string) bool {
	p := s.cfg.ExternalPrefix
	return p != "" && len(number) > len(p) && strings.HasPrefix(number, p)
}

// refuses returns the cause a call to dest fails with, "" if dest can be
// alerted: destNotObtainable (no such station), doNotDisturb (send all
// calls), or busy (in Config.Lines calls already). Called with s.mu held.
func (s *Sim) refuses(dest string) string {
	switch {
	case !s.exists(dest):
		return "destNotObtainable"
	case s.dev(dest).dnd:
		return "doNotDisturb"
	case s.busy(dest):
		return "busy"
	}
	return ""
}

// busy reports whether ext is in as many calls as it has call
// appearances (Config.Lines). Called with s.mu held.
func (s *Sim) busy(ext string) bool {
	if s.cfg.Lines <= 0 {
		return false
	}
	n := 0
	for _, c := range s.calls {
		if p := c.Party(ext); p != nil && p.State != ctisim.StateNull && p.State != ctisim.StateFail {
			n++
		}
	}
	return n >= s.cfg.Lines
}

// outgoing takes a call to the public network over a trunk: the call
// reaches the network (NetworkReachedEvent, ECMA-269 §17.2.12; the
// trunk group is not named), then the far end answers (Established,
// answeringDevice the number called). Called with s.mu held.
func (s *Sim) outgoing(c *ctisim.Call, cause string) {
	from, to := s.party(c.Calling), s.party(c.Called)
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.NetworkReachedEvent{MonitorCrossRefID: x, OutboundConnection: s.conn(c.ID, c.Called),
			NetworkInterfaceUsed: cstaxml.NotKnownParty(), CallingDevice: from, CalledDevice: to,
			LastRedirectionDevice: cstaxml.NotRequiredParty(), LocalConnectionInfo: lo, Cause: cause}
	})
	c.Parties = append(c.Parties, &ctisim.Party{Device: c.Called, State: ctisim.StateConnected})
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.EstablishedEvent{MonitorCrossRefID: x, EstablishedConnection: s.conn(c.ID, c.Called),
			AnsweringDevice: to, CallingDevice: from, CalledDevice: to, LastRedirectionDevice: cstaxml.NotRequiredParty(),
			LocalConnectionInfo: lo, Cause: cause}
	})
}

// Outage takes AES away: every link is dropped and new ones are closed
// as they connect, until restore is called. Sessions, their monitors
// and the calls live on (a network outage, not an AES restart).
func (s *Sim) Outage() (restore func()) {
	s.mu.Lock()
	s.out = true
	s.mu.Unlock()
	s.DropLinks()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.out = false
	}
}

// SetMessageWaiting turns ext's message-waiting lamp on or off, as
// Communication Manager does when a voice mail arrives or is read, and
// tells its monitors (MessageWaitingEvent).
func (s *Sim) SetMessageWaiting(ext string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dev(ext).mwi = on
	s.emit(ext, nil, "", func(x, _ string) cstaxml.Message {
		return &cstaxml.MessageWaitingEvent{MonitorCrossRefID: x, TargetDevice: *s.party(ext), MessageWaitingOn: on}
	})
}

// enterGroup offers c to hunt group g: its first free member is alerted
// (Diverted at the group, then Delivered, cause distributed ~); with none
// free the call waits in the group's queue: the group holds a queued
// connection, and the caller and the group get QueuedEvent with the
// queue length (numberQueued) and the calls ahead (callsInFront), cause
// enteringDistribution ~ (ECMA-269 §17.2.14). Called with s.mu held.
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
	from, gp := s.party(c.Calling), s.party(g)
	s.emitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.QueuedEvent{MonitorCrossRefID: x, QueuedConnection: s.conn(c.ID, g), Queue: gp,
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
		return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: s.conn(c.ID, g),
			DivertingDevice: s.party(g), NewDestination: s.party(member), LocalConnectionInfo: lo, Cause: "distributed"}
	})
	s.wire.Prune(c)
	s.deliver(c, member, g, true, "distributed")
	return true
}
