package avaya

import (
	"encoding/xml"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/lab/ctisim"
)

// ECMA-354 session handling with DMCC's SessionLoginInfo (§2.3, §3.1).

// sessionNeg is a session NegResponse of the kind the request calls for.
func sessionNeg(m csta.Message, why string) csta.Message {
	ec := csta.SessionErrorCode{DefinedError: why}
	switch m.(type) {
	case *csta.ResetApplicationSessionTimer:
		return &csta.ResetApplicationSessionTimerNegResponse{ErrorCode: ec}
	case *csta.StopApplicationSession:
		return &csta.StopApplicationSessionNegResponse{ErrorCode: ec}
	}
	return &csta.StartApplicationSessionNegResponse{ErrorCode: ec}
}

// handleSession answers the ECMA-354 session requests and
// TransferMonitorObjects; ok is false for anything else.
func (s *Sim) handleSession(l *link, id csta.InvokeID, m csta.Message) bool {
	switch r := m.(type) {
	case *csta.StartApplicationSession:
		l.SendMsg(id, s.start(l, r))
	case *csta.ResetApplicationSessionTimer:
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
		l.SendMsg(id, &csta.ResetApplicationSessionTimerPosResponse{ActualSessionDuration: dur})
	case *csta.StopApplicationSession:
		s.mu.Lock()
		ss := l.sess
		if ss == nil || r.SessionID != ss.id {
			s.mu.Unlock()
			l.SendMsg(id, sessionNeg(r, "invalidSessionID"))
			return true
		}
		s.endSession(ss)
		s.mu.Unlock()
		l.SendMsg(id, &csta.StopApplicationSessionPosResponse{})
	case *dmcc.TransferMonitorObjects:
		l.SendMsg(id, s.transferMonitors(l, r))
	default:
		return false
	}
	return true
}

// start answers StartApplicationSession: check the login, pick a protocol
// version, resume the session named in SessionLoginInfo or start one.
func (s *Sim) start(l *link, r *csta.StartApplicationSession) csta.Message {
	var li dmcc.LoginInfo
	info := r.ApplicationInfo.ApplicationSpecificInfo
	if info == nil || xml.Unmarshal(info.Inner, &li) != nil || li.UserName == "" {
		return sessionNeg(r, csta.SessionErrInvalidApplicationInfo)
	}
	if s.cfg.User != "" && (li.UserName != s.cfg.User || li.Password != s.cfg.Password) {
		return sessionNeg(r, csta.SessionErrInvalidApplicationInfo)
	}
	ver := ""
	for _, v := range r.RequestedProtocolVersions.ProtocolVersion {
		if ver == "" && slices.Contains(s.cfg.Versions, v) {
			ver = v
		}
	}
	if ver == "" {
		return sessionNeg(r, csta.SessionErrRequestedProtocolVersionNotSupported)
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
		ss.link, l.sess = l, ss
		s.resumed++
		dur := s.grant(ss, r.RequestedSessionDuration)
		return &csta.StartApplicationSessionPosResponse{SessionID: ss.id, ActualProtocolVersion: ver, ActualSessionDuration: dur}
	}
	s.started++
	ss := &session{id: fmt.Sprintf("%032X-0", s.nextID*7919+s.started), link: l}
	s.nextID++
	cleanup := min(max(li.SessionCleanupDelay, 0), s.cfg.MaxCleanupDelay)
	ss.cleanup = time.Duration(cleanup) * time.Second
	s.sessions[ss.id] = ss
	l.sess = ss
	dur := s.grant(ss, r.RequestedSessionDuration)
	return &csta.StartApplicationSessionPosResponse{SessionID: ss.id, ActualProtocolVersion: ver, ActualSessionDuration: dur}
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
func (s *Sim) transferMonitors(l *link, r *dmcc.TransferMonitorObjects) csta.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	to := l.sess
	from, ok := s.sessions[r.FromSessionID]
	if to == nil || r.ToSessionID != to.id || !ok || from.link != nil || from == to {
		return ctisim.Errorf(csta.CategoryOperation, "invalidCrossRefID") // ~ AES's value is not public
	}
	for _, m := range s.monitors {
		if m.sess == from {
			m.sess = to
		}
	}
	s.endSession(from)
	return &dmcc.TransferMonitorObjectsResponse{}
}

// deviceService answers the Avaya device ID services; ok is false for
// anything else. Called with s.mu held.
func (s *Sim) deviceService(m csta.Message) (csta.Message, bool) {
	switch r := m.(type) {
	case *dmcc.GetDeviceId:
		if r.SwitchName != s.cfg.SwitchName && (r.SwitchIPInterface == "" || r.SwitchIPInterface != s.cfg.SwitchIP) {
			return ctisim.ErrInvalidDevice, true
		}
		if !s.exists(r.Extension) {
			return ctisim.ErrInvalidDevice, true
		}
		return &dmcc.GetDeviceIdResponse{Device: csta.DeviceID{Value: s.DeviceID(r.Extension),
			TypeOfNumber: "other", MediaClass: "notKnown"}}, true
	case *dmcc.GetThirdPartyDeviceId:
		if r.SwitchName != s.cfg.SwitchName || r.Extension == "" || !dialable(r.Extension) {
			return ctisim.ErrInvalidDevice, true
		}
		return &dmcc.GetThirdPartyDeviceIdResponse{Device: csta.DeviceID{Value: dmcc.DeviceID(r.Extension, s.cfg.SwitchName, ""),
			TypeOfNumber: "other", MediaClass: "notKnown"}}, true
	case *dmcc.ReleaseDeviceId:
		return &dmcc.ReleaseDeviceIdResponse{}, true
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
