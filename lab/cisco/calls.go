package cisco

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
)

// user is a BroadWorks user: an extension with its call halves and
// services.
type user struct {
	ext, id string
	name    string // remoteParty/name others see (Config.Names)
	dnd     bool
	fwd     map[string]xsiwire.Forwarding // service name → setting
	acd     xsiwire.CallCenter            // call center agent state (starts Sign-Out)
	halves  []*half
	digits  string // DTMF sent on its calls
}

// half is one user's half of a call: what Xsi calls a call (callId).
// Halves of one call share extTrackingId and point at each other (peer).
type half struct {
	id, ext     string
	u           *user
	personality string
	state       string
	peer        *half
	remote      string // the remote address when there is no peer half
	remoteName  string // the network's name for remote (Config.NetworkNames)
	start       int64
	answer      int64
	held        int64
	redirect    *xsiwire.Redirect
	hops        []*user // caller half: the users that forwarded the call, in order
	redirs      []*user // terminator half: the users that redirected it here, in order
	cause       *xsiwire.ReleaseCause
	releasing   string
}

func now() int64 { return time.Now().UnixMilli() }

// wire renders h as an Xsi Call.
func (h *half) wire() xsiwire.Call {
	c := xsiwire.Call{CallID: h.id, ExtTrackingID: h.ext, Personality: h.personality, State: h.state,
		StartTime: h.start, AnswerTime: h.answer, HeldTime: h.held, Redirect: h.redirect,
		ReleaseCause: h.cause, ReleasingParty: h.releasing}
	if h.peer != nil {
		c.RemoteParty = xsiwire.Party{Name: h.peer.u.name, Address: "tel:" + h.peer.u.ext, UserID: h.peer.u.id, CallType: "Group"}
	} else {
		c.RemoteParty = xsiwire.Party{Name: h.remoteName, Address: "tel:" + h.remote, CallType: "Network"}
	}
	if len(h.redirs) > 0 { // RedirectionList: the most recent first
		c.Redirections = &xsiwire.RedirectionList{}
		for i := len(h.redirs) - 1; i >= 0; i-- {
			u := h.redirs[i]
			c.Redirections.Items = append(c.Redirections.Items, xsiwire.Redirection{
				Party: &xsiwire.Party{Name: u.name, Address: "tel:" + u.ext, UserID: u.id, CallType: "Group"}, Reason: "unconditional"})
		}
	}
	if c.State == xsiwire.StateReleased {
		c.ReleaseTime = now()
	}
	return c
}

// event emits a call event about h to h's user. Called with s.mu held.
func (s *Sim) event(typ string, h *half) {
	c := h.wire()
	s.emit(h.u, &xsiwire.EventData{Type: typ, Call: &c})
}

// lookup finds the user an address names: "201", "tel:201",
// "sip:201@host" or a user ID.
func (s *Sim) lookup(addr string) *user {
	addr = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(addr), "tel:"), "sip:")
	if u := s.byID[addr]; u != nil {
		return u
	}
	if at := strings.IndexByte(addr, '@'); at >= 0 {
		addr = addr[:at]
	}
	return s.users[strings.TrimPrefix(addr, "+")]
}

func (s *Sim) newHalf(u *user, ext, personality string) *half {
	h := &half{id: s.id("callhalf-") + ":0", ext: ext, u: u, personality: personality, state: xsiwire.StateAlerting, start: now()}
	s.halves[h.id] = h
	u.halves = append(u.halves, h)
	return h
}

// release ends h with an event to its user. Called with s.mu held.
func (s *Sim) release(h *half, releasing string, cause *xsiwire.ReleaseCause) {
	if _, ok := s.halves[h.id]; !ok {
		return
	}
	delete(s.halves, h.id)
	h.u.halves = slices.DeleteFunc(h.u.halves, func(x *half) bool { return x == h })
	h.state, h.releasing, h.cause = xsiwire.StateReleased, releasing, cause
	if h.peer != nil && h.peer.peer == h {
		h.peer.peer = nil
		h.peer.remote = h.u.ext
	}
	s.event(xsiwire.TypeCallReleasedEvent, h)
}

// route offers the call of caller half hc to addr, applying forwarding
// always and DND of the destination. Called with s.mu held.
func (s *Sim) route(hc *half, addr string, depth int) {
	t := s.lookup(addr)
	switch {
	case t == nil && s.external(addr):
		s.outgoing(hc, addr)
		return
	case t == nil:
		s.release(hc, "remoteRelease", &xsiwire.ReleaseCause{InternalReleaseCause: "Temporarily Unavailable", CDRTerminationCause: "041"})
		return
	case depth < 5 && t.fwd[xsiwire.ServiceCallForwardingAlways].Active:
		to := t.fwd[xsiwire.ServiceCallForwardingAlways].ForwardToPhoneNumber
		hc.peer, hc.remote = nil, to
		hc.redirect = &xsiwire.Redirect{Address: "tel:" + t.ext, Reason: "unconditional", RedirectTime: now()}
		hc.hops = append(hc.hops, t)
		s.event(xsiwire.TypeCallForwardedEvent, hc)
		s.route(hc, to, depth+1)
		return
	case t.dnd, s.busy(t):
		s.release(hc, "remoteRelease", &xsiwire.ReleaseCause{InternalReleaseCause: "Busy", CDRTerminationCause: "017"})
		return
	}
	ht := s.newHalf(t, hc.ext, xsiwire.PersonalityTerminator)
	ht.peer, hc.peer = hc, ht
	ht.redirs = slices.Clone(hc.hops)
	s.event(xsiwire.TypeCallReceivedEvent, ht)
}

// actions answers the Xsi-Actions requests; rest is the path after
// ActionsRoot/user/.
func (s *Sim) actions(w http.ResponseWriter, r *http.Request, rest string) {
	uid, rest, _ := strings.Cut(rest, "/")
	parts := strings.Split(rest, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byID[uid]
	if u == nil {
		writeError(w, http.StatusNotFound, 110404, "user not found: "+uid)
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodGet {
		switch {
		case parts[0] == "services":
			s.stats.ServiceQueries++
		case parts[0] == "calls" && len(parts) <= 2:
			s.stats.CallQueries++
		}
	}
	switch {
	case parts[0] == "services" && len(parts) == 2:
		s.service(w, r, u, parts[1])
	case parts[0] == "directories" && len(parts) == 2 && parts[1] == "Enterprise" && r.Method == http.MethodGet:
		s.directory(w, r)
	case parts[0] != "calls":
		writeError(w, http.StatusNotFound, 110404, "no such resource")
	case len(parts) == 1 && r.Method == http.MethodGet:
		var out xsiwire.Calls
		for _, h := range u.halves {
			out.Calls = append(out.Calls, xsiwire.CallItem{CallID: h.id, ExtTrackingID: h.ext})
		}
		writeXML(w, http.StatusOK, out)
	case len(parts) == 2 && parts[1] == "new" && r.Method == http.MethodPost:
		h, err := s.dial(u, q.Get("address"))
		if err != nil {
			writeErr(w, err)
			return
		}
		writeXML(w, http.StatusCreated, xsiwire.CallStartInfo{CallID: h.id, ExternalTrackingID: h.ext})
	case len(parts) == 2 && parts[1] == "Conference" && r.Method == http.MethodPost:
		var c xsiwire.Conference
		if err := s.readBody(r, &c); err != nil {
			writeErr(w, err)
			return
		}
		if err := s.conference(u, c.Participants); err != nil {
			writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	case len(parts) == 2 && (parts[1] == "ParkRetrieve" || parts[1] == "DirectedCallPickup") && r.Method == http.MethodPost:
		pick := s.parkRetrieve
		if parts[1] == "DirectedCallPickup" {
			pick = s.pickup
		}
		h, err := pick(u, q.Get("address"))
		if err != nil {
			writeErr(w, err)
			return
		}
		writeXML(w, http.StatusCreated, xsiwire.CallStartInfo{CallID: h.id, ExternalTrackingID: h.ext})
	default:
		h := s.halves[parts[1]]
		if h == nil || h.u != u {
			writeError(w, http.StatusNotFound, 110404, "call not found: "+parts[1])
			return
		}
		var err error
		switch {
		case len(parts) == 2 && r.Method == http.MethodGet:
			writeXML(w, http.StatusOK, xsiwire.CallDoc{Call: h.wire()})
			return
		case len(parts) == 2 && r.Method == http.MethodDelete:
			s.clear(h)
		case len(parts) == 3 && r.Method == http.MethodPut && parts[2] == "Talk":
			err = s.talk(h)
		case len(parts) == 3 && r.Method == http.MethodPut && parts[2] == "Hold":
			err = s.hold(h)
		case len(parts) == 3 && r.Method == http.MethodPut && parts[2] == "BlindTransfer":
			err = s.blindTransfer(h, q.Get("address"))
		case len(parts) == 4 && r.Method == http.MethodPut && parts[2] == "ConsultTransfer":
			err = s.consultTransfer(h, s.halves[parts[3]])
		case len(parts) == 3 && r.Method == http.MethodPut && parts[2] == "TransmitDTMF":
			err = s.dtmf(h, q.Get("playdtmf"))
		case len(parts) == 3 && r.Method == http.MethodPut && parts[2] == "Park":
			err = s.park(h, q.Get("address"))
		default:
			err = notFound("no such call action")
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

// dial is calls/new, click-to-dial: the user's phone is alerted first
// (CallOriginatingEvent, personality Click-to-Dial); the lab phones answer
// such a call at once, so the call becomes the user's own
// (CallOriginatedEvent, Originator, Alerting) and is offered to the
// destination (CallReceivedEvent there).
func (s *Sim) dial(u *user, addr string) (*half, error) {
	if strings.TrimSpace(addr) == "" {
		return nil, badState("address is required")
	}
	h := s.newHalf(u, s.id("")+":"+"1", xsiwire.PersonalityClickToDial)
	h.remote = strings.TrimPrefix(addr, "tel:")
	s.event(xsiwire.TypeCallOriginatingEvent, h)
	h.personality = xsiwire.PersonalityOriginator
	s.event(xsiwire.TypeCallOriginatedEvent, h)
	s.route(h, addr, 0)
	return h, nil
}

// talk answers an alerting call or retrieves a held one.
func (s *Sim) talk(h *half) error {
	switch {
	case h.state == xsiwire.StateAlerting && h.personality == xsiwire.PersonalityTerminator:
		h.state, h.answer = xsiwire.StateActive, now()
		if p := h.peer; p != nil {
			p.state, p.answer = xsiwire.StateActive, h.answer
			s.event(xsiwire.TypeCallAnsweredEvent, p)
		}
		s.event(xsiwire.TypeCallAnsweredEvent, h)
	case h.state == xsiwire.StateHeld:
		h.state, h.held = xsiwire.StateActive, 0
		s.event(xsiwire.TypeCallRetrievedEvent, h)
		if p := h.peer; p != nil && p.state == xsiwire.StateRemoteHeld {
			p.state = xsiwire.StateActive
			s.event(xsiwire.TypeCallRetrievedEvent, p)
		}
	default:
		return badState("call %s is %s: nothing to answer or retrieve", h.id, h.state)
	}
	return nil
}

func (s *Sim) hold(h *half) error {
	if h.state != xsiwire.StateActive {
		return badState("call %s is %s, not Active", h.id, h.state)
	}
	h.state, h.held = xsiwire.StateHeld, now()
	s.event(xsiwire.TypeCallHeldEvent, h)
	if p := h.peer; p != nil && p.state == xsiwire.StateActive {
		p.state = xsiwire.StateRemoteHeld
		s.event(xsiwire.TypeCallHeldEvent, p)
	}
	return nil
}

// clear releases h (localRelease) and its peer (remoteRelease).
func (s *Sim) clear(h *half) {
	p := h.peer
	s.release(h, "localRelease", nil)
	if p != nil {
		s.release(p, "remoteRelease", nil)
	}
}

// blindTransfer redirects an alerting call (deflection: CallRedirected to
// the user, CallForwarded to the caller) or transfers an answered one
// (CallReleased to the user, CallTransferred to the other party, now
// alerting the new destination as Originator).
func (s *Sim) blindTransfer(h *half, addr string) error {
	if s.lookup(addr) == nil {
		return notFound("no such destination: %s", addr)
	}
	p := h.peer
	if p == nil {
		return badState("call %s has no party to transfer", h.id)
	}
	to := strings.TrimPrefix(addr, "tel:")
	switch {
	case h.state == xsiwire.StateAlerting && h.personality == xsiwire.PersonalityTerminator:
		h.redirect = &xsiwire.Redirect{Address: "tel:" + to, Reason: "deflection", RedirectTime: now()}
		h.state = xsiwire.StateDetached
		s.event(xsiwire.TypeCallRedirectedEvent, h)
		h.peer, p.peer = nil, nil
		s.release(h, "localRelease", nil)
		p.redirect = &xsiwire.Redirect{Address: "tel:" + h.u.ext, Reason: "deflection", RedirectTime: now()}
		p.remote = to
		s.event(xsiwire.TypeCallForwardedEvent, p)
		s.route(p, to, 0)
	case h.state == xsiwire.StateActive || h.state == xsiwire.StateHeld:
		h.peer, p.peer = nil, nil
		s.release(h, "localRelease", nil)
		p.state, p.personality, p.remote = xsiwire.StateAlerting, xsiwire.PersonalityOriginator, to
		s.event(xsiwire.TypeCallTransferredEvent, p)
		s.route(p, to, 0)
	default:
		return badState("call %s is %s", h.id, h.state)
	}
	return nil
}

// consultTransfer joins the parties of the user's calls h (held) and a
// (active, or still alerting at its far end). The user's halves are
// released; both parties get CallTransferredEvent, and the held party's
// half takes the consulted call's extTrackingId, so the joined call has
// one.
func (s *Sim) consultTransfer(h, a *half) error {
	if a == nil || a.u != h.u || a == h {
		return notFound("no second call to transfer to")
	}
	pb, pc := h.peer, a.peer
	if pb == nil || pc == nil {
		return badState("both calls need a remote party")
	}
	h.peer, a.peer = nil, nil
	s.release(h, "localRelease", nil)
	s.release(a, "localRelease", nil)
	pb.peer, pc.peer = pc, pb
	pb.ext = pc.ext
	if pc.state == xsiwire.StateAlerting {
		pb.state, pb.personality = xsiwire.StateAlerting, xsiwire.PersonalityOriginator
	} else {
		pb.state = xsiwire.StateActive
		if pc.state == xsiwire.StateRemoteHeld {
			pc.state = xsiwire.StateActive
		}
	}
	s.event(xsiwire.TypeCallTransferredEvent, pb)
	s.event(xsiwire.TypeCallTransferredEvent, pc)
	return nil
}

// conference joins two or more of the user's calls: held ones are
// retrieved (CallRetrievedEvent to the user and the party), then the user
// gets ConferenceStartedEvent with the participant halves.
func (s *Sim) conference(u *user, parts []xsiwire.Participant) error {
	if len(parts) < 2 {
		return badState("a conference needs two calls or more")
	}
	var hs []*half
	for _, p := range parts {
		h := s.halves[strings.TrimSpace(p.CallID)]
		if h == nil || h.u != u {
			return notFound("call not found: %s", p.CallID)
		}
		if h.state != xsiwire.StateActive && h.state != xsiwire.StateHeld {
			return badState("call %s is %s", h.id, h.state)
		}
		hs = append(hs, h)
	}
	info := xsiwire.ConferenceInfo{State: xsiwire.StateActive}
	for _, h := range hs {
		if h.state == xsiwire.StateHeld {
			_ = s.talk(h)
		}
		info.Participants = append(info.Participants, xsiwire.Participant{CallID: h.id})
	}
	s.emit(u, &xsiwire.EventData{Type: xsiwire.TypeConferenceStartedEvent, Conference: &info})
	return nil
}

func (s *Sim) dtmf(h *half, digits string) error {
	if h.state != xsiwire.StateActive {
		return badState("call %s is %s, not Active", h.id, h.state)
	}
	if digits == "" || strings.Trim(digits, "0123456789*#ABCD,") != "" {
		return badState("bad playdtmf %q", digits)
	}
	h.u.digits += digits
	return nil
}

// park parks the party of h against the user slot: the user's half is
// released and the party is held (Remote Held) until retrieved.
func (s *Sim) park(h *half, slot string) error {
	t := s.lookup(slot)
	switch {
	case t == nil:
		return notFound("no such park slot: %s", slot)
	case s.parked[t.ext] != nil:
		return badState("a call is already parked against %s", t.ext)
	case h.peer == nil || h.state != xsiwire.StateActive && h.state != xsiwire.StateHeld:
		return badState("call %s can't be parked", h.id)
	}
	p := h.peer
	h.peer, p.peer = nil, nil
	s.release(h, "localRelease", nil)
	p.remote, p.state = t.ext, xsiwire.StateRemoteHeld
	s.event(xsiwire.TypeCallHeldEvent, p)
	s.parked[t.ext] = p
	return nil
}

// parkRetrieve connects u to the call parked against addr: u gets
// CallParkRetrievedEvent then CallAnsweredEvent (the lab phone answers),
// the parked party CallRetrievedEvent. The sim keeps the extTrackingId.
func (s *Sim) parkRetrieve(u *user, addr string) (*half, error) {
	t := s.lookup(addr)
	if t == nil || s.parked[t.ext] == nil {
		return nil, notFound("no call parked against %s", addr)
	}
	p := s.parked[t.ext]
	delete(s.parked, t.ext)
	h := s.newHalf(u, p.ext, xsiwire.PersonalityTerminator)
	h.peer, p.peer = p, h
	s.event(xsiwire.TypeCallParkRetrievedEvent, h)
	h.state, h.answer = xsiwire.StateActive, now()
	s.event(xsiwire.TypeCallAnsweredEvent, h)
	p.state = xsiwire.StateActive
	s.event(xsiwire.TypeCallRetrievedEvent, p)
	return h, nil
}

// pickup is Directed Call Pickup of the call alerting at addr: that half
// is released, u gets CallPickedUpEvent then CallAnsweredEvent, the
// caller CallAnsweredEvent.
func (s *Sim) pickup(u *user, addr string) (*half, error) {
	t := s.lookup(addr)
	if t == nil {
		return nil, notFound("no such user: %s", addr)
	}
	var ht *half
	for _, h := range t.halves {
		if h.state == xsiwire.StateAlerting && h.personality == xsiwire.PersonalityTerminator && h.peer != nil {
			ht = h
			break
		}
	}
	if ht == nil {
		return nil, notFound("no call alerting at %s", addr)
	}
	p := ht.peer
	ht.peer = nil
	s.release(ht, "localRelease", nil)
	h := s.newHalf(u, p.ext, xsiwire.PersonalityTerminator)
	h.peer, p.peer = p, h
	s.event(xsiwire.TypeCallPickedUpEvent, h)
	h.state, h.answer = xsiwire.StateActive, now()
	p.state, p.answer = xsiwire.StateActive, h.answer
	s.event(xsiwire.TypeCallAnsweredEvent, p)
	s.event(xsiwire.TypeCallAnsweredEvent, h)
	return h, nil
}

// service answers GET and PUT of services/DoNotDisturb and
// services/CallForwarding{Always,Busy,NoAnswer}; a PUT emits the service
// event.
func (s *Sim) service(w http.ResponseWriter, r *http.Request, u *user, name string) {
	switch name {
	case "DoNotDisturb":
		if r.Method == http.MethodPut {
			var d xsiwire.DoNotDisturb
			if err := s.readBody(r, &d); err != nil {
				writeErr(w, err)
				return
			}
			u.dnd = d.Active
			s.emit(u, &xsiwire.EventData{Type: xsiwire.TypeDoNotDisturbEvent, Info: &xsiwire.ServiceInfo{Active: d.Active}})
			w.WriteHeader(http.StatusOK)
			return
		}
		writeXML(w, http.StatusOK, xsiwire.DoNotDisturb{Active: u.dnd})
	case xsiwire.ServiceCallForwardingAlways, xsiwire.ServiceCallForwardingBusy, xsiwire.ServiceCallForwardingNoAnswer:
		if r.Method == http.MethodPut {
			var f xsiwire.Forwarding
			if err := s.readBody(r, &f); err != nil || f.XMLName.Local != name {
				writeError(w, http.StatusBadRequest, 110400, "a "+name+" document is required")
				return
			}
			if f.Active && f.ForwardToPhoneNumber == "" {
				f.ForwardToPhoneNumber = u.fwd[name].ForwardToPhoneNumber
			}
			if f.Active && f.ForwardToPhoneNumber == "" {
				writeError(w, http.StatusBadRequest, 110400, "forwardToPhoneNumber is required")
				return
			}
			u.fwd[name] = f
			s.emit(u, &xsiwire.EventData{Type: name + "Event",
				Info: &xsiwire.ServiceInfo{Active: f.Active, ForwardToPhoneNumber: f.ForwardToPhoneNumber}})
			w.WriteHeader(http.StatusOK)
			return
		}
		f := u.fwd[name]
		f.XMLName.Space, f.XMLName.Local = xsiwire.Namespace, name
		writeXML(w, http.StatusOK, f)
	case xsiwire.ServiceCallCenter:
		s.callCenter(w, r, u)
	default:
		writeError(w, http.StatusNotFound, 110404, "service not assigned: "+name)
	}
}

// callCenter answers GET and PUT of services/CallCenter. A PUT that
// changes the agent's ACD state emits AgentStateEvent on the user's
// "Call Center Agent" subscriptions; an unknown state is a 400.
func (s *Sim) callCenter(w http.ResponseWriter, r *http.Request, u *user) {
	cur := u.acd
	if cur.AgentACDState == "" {
		cur.AgentACDState = xsiwire.ACDSignOut
	}
	if r.Method != http.MethodPut {
		writeXML(w, http.StatusOK, cur)
		return
	}
	var c xsiwire.CallCenter
	if err := s.readBody(r, &c); err != nil {
		writeErr(w, err)
		return
	}
	switch c.AgentACDState {
	case xsiwire.ACDSignIn, xsiwire.ACDAvailable, xsiwire.ACDUnavailable, xsiwire.ACDWrapUp, xsiwire.ACDSignOut:
	case "":
		c.AgentACDState = cur.AgentACDState
	default:
		writeError(w, http.StatusBadRequest, 110400, "invalid agentACDState: "+c.AgentACDState)
		return
	}
	if c.AgentACDState != xsiwire.ACDUnavailable {
		c.AgentUnavailableCode = ""
	}
	u.acd = c
	if c != cur {
		s.emit(u, &xsiwire.EventData{Type: xsiwire.TypeAgentStateEvent,
			AgentState: &xsiwire.AgentStateInfo{State: c.AgentACDState, StateTimestamp: xsiwire.Stamp{Value: now()},
				UnavailableCode: c.AgentUnavailableCode}})
	}
	w.WriteHeader(http.StatusOK)
}

// AgentState reports ext's call center ACD state.
func (s *Sim) AgentState(ext string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[ext]; u != nil && u.acd.AgentACDState != "" {
		return u.acd.AgentACDState
	}
	return xsiwire.ACDSignOut
}

// DND reports ext's Do Not Disturb setting.
func (s *Sim) DND(ext string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[ext]
	return u != nil && u.dnd
}

// Forwarding returns where ext forwards with service (e.g.
// "CallForwardingAlways"), "" when off.
func (s *Sim) Forwarding(ext, service string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[ext]
	if u == nil || !u.fwd[service].Active {
		return ""
	}
	return u.fwd[service].ForwardToPhoneNumber
}

// Digits returns the DTMF digits sent on ext's calls so far.
func (s *Sim) Digits(ext string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[ext]; u != nil {
		return u.digits
	}
	return ""
}

// CallStates returns ext's call halves as "extTrackingId:state" in order.
func (s *Sim) CallStates(ext string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if u := s.users[ext]; u != nil {
		for _, h := range u.halves {
			out = append(out, h.ext+":"+h.state)
		}
	}
	return out
}
