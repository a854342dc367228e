package mitel

import (
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
	return ctisim.External(s.cfg.ExternalPrefix, number)
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
	return s.cfg.Lines > 0 && ctisim.InCalls(s.calls, dev) >= s.cfg.Lines
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
