package cisco

import (
	"strings"

	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
)

// The call flows beyond a call between users: a busy user and a call out
// to the public network, as BroadWorks reports them in Xsi events.

// external reports whether addr is one of the public network's
// (Config.ExternalPrefix).
func (s *Sim) external(addr string) bool {
	n := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(addr), "tel:"), "+")
	p := s.cfg.ExternalPrefix
	return p != "" && len(n) > len(p) && strings.HasPrefix(n, p)
}

// busy reports whether u is in as many calls as it has lines
// (Config.Lines; 1 is call waiting off). Called with s.mu held.
func (s *Sim) busy(u *user) bool {
	if s.cfg.Lines <= 0 {
		return false
	}
	n := 0
	for _, h := range u.halves {
		if h.state != xsiwire.StateReleased {
			n++
		}
	}
	return n >= s.cfg.Lines
}

// outgoing takes the caller half hc out to the public network: its
// remote party is the number (callType Network) and the far end answers
// (CallAnsweredEvent, state Active). Called with s.mu held.
func (s *Sim) outgoing(hc *half, addr string) {
	hc.peer = nil
	hc.remote = strings.TrimPrefix(strings.TrimSpace(addr), "tel:")
	hc.state, hc.answer = xsiwire.StateActive, now()
	s.event(xsiwire.TypeCallAnsweredEvent, hc)
}

// Outage takes the Xsi servers away: every channel is dropped and every
// request is answered 503 until restore is called. Users, their calls
// and services live on.
func (s *Sim) Outage() (restore func()) {
	s.away.Store(true)
	s.DropChannels()
	return func() { s.away.Store(false) }
}
