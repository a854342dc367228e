package avaya

import (
	"slices"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
)

// LoseEvents makes AES lose the next n events (one per monitor an event
// is for) without sending them, as a switch under overload does before
// it reports SystemStatus messagesLost (ECMA-269 §12.2.25 ~, the
// systemStatus enumeration).
func (s *Sim) LoseEvents(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose = n
}

// Lost is how many events LoseEvents made AES lose.
func (s *Sim) Lost() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// loseOne reports whether the next event is to be lost, counting it.
// Called with s.mu held.
func (s *Sim) loseOne() bool {
	if s.lose <= 0 {
		return false
	}
	s.lose--
	s.lost++
	return true
}

// SendSystemStatus sends SystemStatus with status
// (cstaxml.SystemStatusMessagesLost, ...Disabled, ...Normal) on every
// link with a session, now (the periodic one is
// Config.SystemStatusInterval).
func (s *Sim) SendSystemStatus(status string) {
	s.mu.Lock()
	var to []ctisim.Outgoing
	for l := range s.links {
		if l.sess != nil {
			to = append(to, ctisim.Outgoing{Conn: l.Conn, ID: ctisim.NextRequest(&l.nextReq)})
		}
	}
	s.mu.Unlock()
	ctisim.SendSystemStatus(status, to)
}

// CallsByDevice is CallsAt for every device at once (devices with no
// call left out), taken in one pass under the lock.
func (s *Sim) CallsByDevice() map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ctisim.CallsByDevice(s.calls)
}

// CallsAt returns the calls at extension ext as AES holds them: call ID
// → ext's localConnectionInfo. It is the truth lamps are checked against.
func (s *Sim) CallsAt(ext string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ctisim.CallsAt(s.calls, ext)
}

// SetMonitorLimit changes the number of TSAPI Basic licences (0: no
// limit), as an administrator would: monitors already started stay,
// MonitorStarts beyond it get overallMonitorLimitExceeded (chaos runs).
func (s *Sim) SetMonitorLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.MonitorLimit = n
}

// LinkedMonitors lists the extensions monitored by sessions that have a
// link now, one entry per monitor, sorted: a monitor of a session whose
// application went away (kept for its cleanup delay) sends nothing to
// anyone, so it does not count as the application monitoring the device.
func (s *Sim) LinkedMonitors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.monitors {
		if m.sess != nil && m.sess.link != nil {
			out = append(out, m.device)
		}
	}
	slices.Sort(out)
	return out
}
