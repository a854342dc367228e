package avaya

import (
	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// The call flows beyond a plain call between stations: a busy or
// refusing destination and a call out to the public network (ECMA-269
// §17.2 events, as AES reports Communication Manager's calls).

// external reports whether number is one of the public network's
// (Config.ExternalPrefix). Called with s.mu held.
func (s *Sim) external(number string) bool {
	return ctisim.External(s.cfg.ExternalPrefix, number)
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
	return s.cfg.Lines > 0 && ctisim.InCalls(s.calls, ext) >= s.cfg.Lines
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
