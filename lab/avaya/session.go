package avaya

import (
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// ECMA-354 session handling with DMCC's SessionLoginInfo (§2.3, §3.1).

// sessionNeg is a session NegResponse of the kind the request calls for.
func sessionNeg(m cstaxml.Message, why string) cstaxml.Message {
	ec := cstaxml.SessionErrorCode{DefinedError: why}
	switch m.(type) {
	case *cstaxml.ResetApplicationSessionTimer:
		return &cstaxml.ResetApplicationSessionTimerNegResponse{ErrorCode: ec}
	case *cstaxml.StopApplicationSession:
		return &cstaxml.StopApplicationSessionNegResponse{ErrorCode: ec}
	}
	return &cstaxml.StartApplicationSessionNegResponse{ErrorCode: ec}
}

// handleSession answers the ECMA-354 session requests and
// TransferMonitorObjects; ok is false for anything else.
func (s *Sim) handleSession(l *link, id cstaxml.InvokeID, m cstaxml.Message) bool {
	switch r := m.(type) {
	case *startRequest:
		l.SendMsg(id, s.start(l, r))
	case *cstaxml.ResetApplicationSessionTimer:
		s.mu.Lock()
		ss := l.sess
		if ss == nil || r.SessionID != ss.id {
			s.mu.Unlock()
			l.SendMsg(id, sessionNeg(r, "invalidSessionID"))
			return true
		}
		dur := s.grant(ss, r.RequestedSessionDuration)
		s.mu.Unlock()
		s.resets.Add(1)
		l.SendMsg(id, &cstaxml.ResetApplicationSessionTimerPosResponse{ActualSessionDuration: dur})
	case *cstaxml.StopApplicationSession:
		// ECMA-354 names the session to stop by its sessionID: the link's
		// own, or (~ as resuming by sessionID does) another session of the
		// application, such as one left behind on a link AES still thinks
		// alive; that session's link, if any, is closed.
		s.mu.Lock()
		ss, ok := s.sessions[r.SessionID]
		if l.sess == nil || !ok {
			s.mu.Unlock()
			l.SendMsg(id, sessionNeg(r, "invalidSessionID"))
			return true
		}
		other := ss.link
		s.endSession(ss)
		s.stopped++
		s.mu.Unlock()
		l.SendMsg(id, &cstaxml.StopApplicationSessionPosResponse{})
		if other != nil && other != l {
			other.Close()
		}
	case *transferMonitorObjects:
		l.SendMsg(id, s.transferMonitors(l, r))
	default:
		return false
	}
	return true
}

// start answers StartApplicationSession: check the login, pick a protocol
// version, resume the session named in SessionLoginInfo or start one.
func (s *Sim) start(l *link, req *startRequest) cstaxml.Message {
	r, li := req.StartApplicationSession, req.login
	if req.loginErr != nil {
		s.refused.Add(req.loginErr)
		return sessionNeg(r, cstaxml.SessionErrInvalidApplicationInfo)
	}
	if s.cfg.User != "" && (li.UserName != s.cfg.User || li.Password != s.cfg.Password) {
		return sessionNeg(r, cstaxml.SessionErrInvalidApplicationInfo)
	}
	ver := ""
	for _, v := range r.RequestedProtocolVersions.ProtocolVersion {
		if ver == "" && slices.Contains(s.cfg.Versions, v) {
			ver = v
		}
	}
	if ver == "" {
		return sessionNeg(r, cstaxml.SessionErrRequestedProtocolVersionNotSupported)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.sess != nil {
		return sessionNeg(r, "sessionAlreadyStarted") // ~
	}
	if li.SessionID != "" {
		ss, ok := s.sessions[li.SessionID]
		if !ok || ss.link != nil || s.cfg.NoResume {
			return sessionNeg(r, "invalidSessionID") // ~
		}
		ss.link, l.sess, l.version = l, ss, ver
		s.resumed++
		dur := s.grant(ss, r.RequestedSessionDuration)
		return &cstaxml.StartApplicationSessionPosResponse{SessionID: ss.id, ActualProtocolVersion: ver, ActualSessionDuration: dur}
	}
	s.started++
	ss := &session{id: fmt.Sprintf("%032X-0", s.nextID*7919+s.started), link: l}
	s.nextID++
	cleanup := min(max(li.SessionCleanupDelay, 0), s.cfg.MaxCleanupDelay)
	ss.cleanup = time.Duration(cleanup) * time.Second
	s.sessions[ss.id] = ss
	l.sess, l.version = ss, ver
	dur := s.grant(ss, r.RequestedSessionDuration)
	return &cstaxml.StartApplicationSessionPosResponse{SessionID: ss.id, ActualProtocolVersion: ver, ActualSessionDuration: dur}
}

// grant sets the session timer. Called with s.mu held.
func (s *Sim) grant(ss *session, requested int) int {
	d := requested
	if d <= 0 || d > s.cfg.MaxSessionDuration {
		d = s.cfg.MaxSessionDuration
	}
	ss.expires = time.Now().Add(time.Duration(d) * time.Second)
	return d
}

// transferMonitors moves the monitors of an orphaned session to the
// link's session and ends the old one.
func (s *Sim) transferMonitors(l *link, r *transferMonitorObjects) cstaxml.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	to := l.sess
	from, ok := s.sessions[r.FromSessionID]
	if to == nil || r.ToSessionID != to.id || !ok || from.link != nil || from == to || to.sessMon == "" {
		// f-me/dmcc: the new session needs its session-level monitor
		// (deviceServices/transferMonitorObjects) first.
		return ctisim.Errorf(cstaxml.CategoryOperation, "invalidCrossRefID") // ~ AES's value is not public
	}
	for _, m := range s.monitors {
		if m.sess == from {
			m.sess = to
		}
	}
	s.endSession(from)
	return &emptyResponse{root: "TransferMonitorObjectsResponse"}
}

// deviceService answers the Avaya device ID services; ok is false for
// anything else. Called with s.mu held.
func (s *Sim) deviceService(m cstaxml.Message) (cstaxml.Message, bool) {
	switch r := m.(type) {
	case *getDeviceID:
		if r.SwitchName != s.cfg.SwitchName && (r.SwitchIPInterface == "" || r.SwitchIPInterface != s.cfg.SwitchIP) {
			return ctisim.ErrInvalidDevice, true
		}
		if !s.exists(r.Extension) {
			return ctisim.ErrInvalidDevice, true
		}
		return &deviceResponse{root: "GetDeviceIdResponse", Device: cstaxml.DeviceID{Value: s.DeviceID(r.Extension),
			TypeOfNumber: "other", MediaClass: "notKnown"}}, true
	case *getThirdPartyDeviceID:
		if r.SwitchName != s.cfg.SwitchName || r.Extension == "" || !dialable(r.Extension) {
			return ctisim.ErrInvalidDevice, true
		}
		return &deviceResponse{root: "GetThirdPartyDeviceIdResponse", Device: cstaxml.DeviceID{Value: dmccDeviceID(r.Extension, s.cfg.SwitchName, ""),
			TypeOfNumber: "other", MediaClass: "notKnown"}}, true
	case *releaseDeviceID:
		return &emptyResponse{root: "ReleaseDeviceIdResponse"}, true
	}
	return nil, false
}

func dialable(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '*' && c != '#' && c != '+' {
			return false
		}
	}
	return true
}
