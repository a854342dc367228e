package cisco

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
)

// channel is one streamed Xsi-Events channel.
type channel struct {
	id, set, appID string
	expires        time.Time
	queue          [][]byte          // documents to write, in order
	unacked        map[string]*unack // event ID → event waiting for its response
	wake           chan struct{}     // something to write
	done           chan struct{}     // closed when the channel ends
	closing        bool              // write the queue, then end
	stalled        bool              // write nothing
	trickle        bool              // write the queue's first document one byte per tick
	ended          bool
}

type unack struct {
	doc   []byte
	sent  time.Time
	tries int
}

func (ch *channel) kick() {
	select {
	case ch.wake <- struct{}{}:
	default:
	}
}

// subscription is one user's event subscription on a channel set, or
// with wide set, every user's of the group or service provider.
type subscription struct {
	id      string
	u       *user  // nil when wide
	wide    string // "Group" or "ServiceProvider" (XSISubscription.xsd EntityType)
	pkg     string
	set     string
	appID   string
	expires time.Time
	seq     int64
}

// openChannel answers the channel add: a 200 whose chunked body never
// ends. The first document is the Channel with its channelId; then one
// document per chunk: events, heartbeats, a ChannelTerminatedEvent.
func (s *Sim) openChannel(w http.ResponseWriter, r *http.Request) {
	var req xsiwire.Channel
	if err := s.readBody(r, &req); err != nil || req.ChannelSetID == "" {
		writeError(w, http.StatusBadRequest, 110400, "a Channel with a channelSetId is required")
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, 110500, "streaming not supported")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, 110503, "shutting down")
		return
	}
	// One channel set per application: a new set ends the old one's
	// channels (XSIChannel.xsd, applicationId).
	if req.ApplicationID != "" {
		for _, old := range s.channels {
			if old.appID == req.ApplicationID && old.set != req.ChannelSetID {
				s.terminate(old, "DuplicateChannelSet")
			}
		}
	}
	expires := s.expiry(req.Expires)
	ch := &channel{id: s.id("channel-"), set: req.ChannelSetID, appID: req.ApplicationID,
		expires: time.Now().Add(expires), unacked: map[string]*unack{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	first, _ := xsiwire.Marshal(xsiwire.Channel{ChannelID: ch.id, ChannelSetID: ch.set, Priority: max(req.Priority, 1),
		Weight: max(req.Weight, 50), Expires: int(expires / time.Second)})
	ch.queue = append(ch.queue, first)
	s.channels[ch.id] = ch
	s.stats.ChannelsOpened++
	if !s.sets[ch.set] {
		s.sets[ch.set] = true
		s.stats.ChannelSets++
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	tick := time.NewTicker(max(s.cfg.AckTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		s.mu.Lock()
		var out [][]byte
		if !ch.stalled {
			out, ch.queue = ch.queue, nil
		}
		closing := ch.closing
		s.mu.Unlock()
		for _, doc := range out {
			if _, err := w.Write(doc); err != nil {
				s.drop(ch)
				return
			}
			fl.Flush() // one document per chunk
		}
		if closing || ch.isEnded(s) {
			s.mu.Lock()
			s.removeChannel(ch, closing) // terminated by the server: its set ends
			s.mu.Unlock()
			return
		}
		select {
		case <-ch.wake:
		case <-ch.done:
			return
		case <-r.Context().Done():
			s.drop(ch)
			return
		case <-tick.C:
			s.housekeep(ch)
			if err := s.trickle(ch, w, fl); err != nil {
				s.drop(ch)
				return
			}
		}
	}
}

// trickle writes the next byte of a trickling channel.
func (s *Sim) trickle(ch *channel, w http.ResponseWriter, fl http.Flusher) error {
	s.mu.Lock()
	var b []byte
	if ch.trickle {
		if len(ch.queue) > 0 && len(ch.queue[0]) > 0 {
			b = ch.queue[0][:1]
			ch.queue[0] = ch.queue[0][1:]
		} else {
			b = []byte("x")
		}
	}
	s.mu.Unlock()
	if b == nil {
		return nil
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	fl.Flush()
	return nil
}

func (ch *channel) isEnded(s *Sim) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ch.ended
}

// drop ends a channel whose stream broke (the client went away, the
// network failed): its set's subscriptions stay until they expire, and a
// channel the client adds to the same set gets their events
// (XSIBaseEvent.xsd EventResponse 404: "BroadWorks deletes the event
// channel and sends the event over the next event channel in the set").
func (s *Sim) drop(ch *channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeChannel(ch, false)
}

// removeChannel ends ch. When endSubs is set (the client deleted the
// channel, or the server terminated it) and its set has no channel left,
// the set's subscriptions end too: the application is gone. This is the
// simulator's model; the public schemas do not say what BroadWorks does
// with the subscriptions of an empty channel set. Called with s.mu held.
func (s *Sim) removeChannel(ch *channel, endSubs bool) {
	if ch.ended {
		return
	}
	ch.ended = true
	close(ch.done)
	delete(s.channels, ch.id)
	if !endSubs {
		return
	}
	for _, other := range s.channels {
		if other.set == ch.set {
			return
		}
	}
	for id, sub := range s.subs {
		if sub.set == ch.set {
			delete(s.subs, id)
		}
	}
}

// terminate queues a ChannelTerminatedEvent (never acknowledged) and ends
// ch once it is written. Called with s.mu held.
func (s *Sim) terminate(ch *channel, reason string) {
	if ch.ended || ch.closing {
		return
	}
	// XSIChannel.xsd: a ChannelTerminatedEvent holds channelId and reason
	// only (no eventID: it is not acknowledged).
	doc, _ := xsiwire.MarshalEvent(xsiwire.Event{Type: xsiwire.TypeChannelTerminatedEvent, ChannelID: ch.id, Reason: reason})
	ch.queue = append(ch.queue, doc)
	ch.closing = true
	ch.kick()
}

// housekeep re-sends unacknowledged events, closes a channel whose events
// stay unacknowledged, and expires channels and subscriptions.
func (s *Sim) housekeep(ch *channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.After(ch.expires) {
		s.terminate(ch, "Expired")
		return
	}
	for id, sub := range s.subs {
		if now.After(sub.expires) {
			delete(s.subs, id)
		}
	}
	if ch.stalled {
		return
	}
	ids := make([]string, 0, len(ch.unacked))
	for id := range ch.unacked {
		ids = append(ids, id)
	}
	slices.Sort(ids) // resend in the order sent
	for _, id := range ids {
		u := ch.unacked[id]
		if now.Sub(u.sent) < s.cfg.AckTimeout {
			continue
		}
		if u.tries >= s.cfg.MaxResends {
			s.terminate(ch, "NonResponsiveChannel")
			return
		}
		u.tries++
		u.sent = now
		ch.queue = append(ch.queue, u.doc)
		s.stats.Resends++
		ch.kick()
	}
}

// expiry applies the minimum to a requested expires (seconds).
func (s *Sim) expiry(req int) time.Duration {
	if req < s.cfg.MinExpires {
		req = s.cfg.MinExpires
	}
	return time.Duration(req) * time.Second
}

// events answers every Xsi-Events request but the channel add. rest is
// the path after EventsRoot/.
func (s *Sim) events(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	switch {
	case rest == "channel/eventresponse" && r.Method == http.MethodPost:
		var er xsiwire.EventResponse
		if err := s.readBody(r, &er); err != nil || er.EventID == "" {
			writeError(w, http.StatusBadRequest, 110400, "an EventResponse with an eventID is required")
			return
		}
		if s.refuseAcks.Add(-1) >= 0 { // the server did not take it: the event stays unacknowledged
			s.mu.Lock()
			s.stats.AcksRefused++
			s.mu.Unlock()
			writeError(w, http.StatusInternalServerError, 110500, "event response not processed")
			return
		}
		s.refuseAcks.Store(0)
		s.ack(er.EventID)
		w.WriteHeader(http.StatusOK)
	case len(parts) == 3 && parts[0] == "channel" && parts[2] == "heartbeat" && r.Method == http.MethodPut:
		s.mu.Lock()
		ch := s.channels[parts[1]]
		if ch != nil {
			s.stats.Heartbeats++
			doc, _ := xsiwire.Marshal(xsiwire.ChannelHeartBeat{})
			ch.queue = append(ch.queue, doc)
			ch.kick()
		}
		s.mu.Unlock()
		if ch == nil {
			writeError(w, http.StatusNotFound, 110404, "channel not found")
			return
		}
		w.WriteHeader(http.StatusOK)
	case len(parts) == 2 && parts[0] == "channel":
		s.channelUpdate(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "user" && r.Method == http.MethodPost:
		s.subscribe(w, r, parts[1])
	case len(parts) == 4 && parts[0] == "serviceprovider" && parts[2] == "group" && r.Method == http.MethodPost:
		s.subscribeWide(w, r, "Group", parts[1], parts[3])
	case len(parts) == 2 && parts[0] == "serviceprovider" && r.Method == http.MethodPost:
		s.subscribeWide(w, r, "ServiceProvider", parts[1], "")
	case len(parts) == 2 && parts[0] == "subscription":
		s.subscriptionUpdate(w, r, parts[1])
	default:
		writeError(w, http.StatusNotFound, 110404, "no such resource")
	}
}

func (s *Sim) ack(eventID string) {
	if s.ignoreAcks.Add(-1) >= 0 {
		return
	}
	s.ignoreAcks.Store(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.channels {
		if _, ok := ch.unacked[eventID]; ok {
			delete(ch.unacked, eventID)
			s.stats.Acks++
			return
		}
	}
}

// channelUpdate answers PUT (new expires) and DELETE of a channel.
func (s *Sim) channelUpdate(w http.ResponseWriter, r *http.Request, id string) {
	var req xsiwire.Channel
	if r.Method == http.MethodPut {
		if err := s.readBody(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, 110400, "a Channel is required")
			return
		}
	}
	if r.Method == http.MethodPut {
		// Runs after the unlock below; the answer (unflushed) waits for it.
		defer s.slowRefresh(r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch == nil || ch.closing {
		writeError(w, http.StatusNotFound, 110404, "channel not found")
		return
	}
	switch r.Method {
	case http.MethodPut:
		ch.expires = time.Now().Add(s.expiry(req.Expires))
		s.stats.ChannelUpdates++
	case http.MethodDelete:
		s.removeChannel(ch, true)
	default:
		writeError(w, http.StatusMethodNotAllowed, 110405, "method not allowed")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// subscribe adds a subscription for user uid on a channel set and sends
// the CallSubscriptionEvent with the user's calls.
func (s *Sim) subscribe(w http.ResponseWriter, r *http.Request, uid string) {
	var req xsiwire.Subscription
	if err := s.readBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, 110400, "a Subscription is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.byID[uid]
	if u == nil {
		writeError(w, http.StatusNotFound, 110404, "user not found: "+uid)
		return
	}
	if _, ok := packages[req.Event]; !ok {
		writeError(w, http.StatusBadRequest, 110400, "unknown event package: "+req.Event)
		return
	}
	live := false
	for _, ch := range s.channels {
		live = live || ch.set == req.ChannelSetID && !ch.closing
	}
	if !live {
		writeError(w, http.StatusBadRequest, 110400, "no channel in channel set "+req.ChannelSetID)
		return
	}
	exp := s.expiry(req.Expires)
	sub := &subscription{id: s.id("subscription-"), u: u, pkg: req.Event, set: req.ChannelSetID,
		appID: req.ApplicationID, expires: time.Now().Add(exp)}
	s.subs[sub.id] = sub
	s.stats.SubscriptionsAdded++
	writeXML(w, http.StatusOK, xsiwire.Subscription{SubscriptionID: sub.id, Expires: int(exp / time.Second)})
	if !packages[sub.pkg][xsiwire.TypeCallSubscriptionEvent] {
		return // Call Center Agent: the state is read with GET services/CallCenter
	}
	data := &xsiwire.EventData{Type: xsiwire.TypeCallSubscriptionEvent, HookStatus: "On-Hook"}
	for _, h := range u.halves {
		data.Calls = append(data.Calls, h.wire())
		data.HookStatus = "Off-Hook"
	}
	s.send(sub, u, data)
}

// subscriptionUpdate answers PUT (refresh) and DELETE of a subscription.
func (s *Sim) subscriptionUpdate(w http.ResponseWriter, r *http.Request, id string) {
	var req xsiwire.Subscription
	if r.Method == http.MethodPut {
		if err := s.readBody(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, 110400, "a Subscription is required")
			return
		}
	}
	if r.Method == http.MethodPut {
		// Runs after the unlock below; the answer (unflushed) waits for it.
		defer s.slowRefresh(r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[id]
	if sub == nil {
		writeError(w, http.StatusNotFound, 110404, "subscription not found")
		return
	}
	switch r.Method {
	case http.MethodPut:
		sub.expires = time.Now().Add(s.expiry(req.Expires))
		s.stats.SubscriptionRefreshes++
	case http.MethodDelete:
		delete(s.subs, id)
	default:
		writeError(w, http.StatusMethodNotAllowed, 110405, "method not allowed")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// packages lists the event types of each event package
// (cti-protocols.md §4.2): Standard Call adds to Basic Call, Advanced Call
// to Standard Call. Service changes have packages of their own
// (XSISubscription.xsd EventPackage "Do Not Disturb", "Call Forwarding
// Always"...; their events are ServiceEvents in XSIDoNotDisturbEvents.xsd
// and XSICallForwardingEvents.xsd, not call session events).
var packages = func() map[string]map[string]bool {
	basic := []string{xsiwire.TypeCallOriginatingEvent, xsiwire.TypeCallOriginatedEvent, xsiwire.TypeCallReceivedEvent,
		xsiwire.TypeCallAnsweredEvent, xsiwire.TypeCallReleasingEvent, xsiwire.TypeCallReleasedEvent,
		xsiwire.TypeCallSubscriptionEvent, xsiwire.TypeHookStatusEvent}
	standard := append(slices.Clone(basic), xsiwire.TypeCallHeldEvent, xsiwire.TypeCallRetrievedEvent,
		xsiwire.TypeCallTransferredEvent, xsiwire.TypeCallForwardedEvent, xsiwire.TypeCallUpdatedEvent,
		xsiwire.TypeCallPickedUpEvent, xsiwire.TypeConferenceStartedEvent, xsiwire.TypeConferenceUpdatedEvent,
		xsiwire.TypeConferenceReleasedEvent)
	advanced := append(slices.Clone(standard), xsiwire.TypeCallRedirectedEvent, xsiwire.TypeCallDetachedEvent,
		xsiwire.TypeCallParkRetrievedEvent)
	set := func(l ...string) map[string]bool {
		m := map[string]bool{}
		for _, t := range l {
			m[t] = true
		}
		return m
	}
	return map[string]map[string]bool{xsiwire.PackageBasicCall: set(basic...), xsiwire.PackageStandardCall: set(standard...),
		xsiwire.PackageAdvancedCall:          set(advanced...),
		xsiwire.PackageCallCenterAgent:       set(xsiwire.TypeAgentStateEvent),
		xsiwire.PackageDoNotDisturb:          set(xsiwire.TypeDoNotDisturbEvent),
		xsiwire.PackageVoiceMailSummary:      set(xsiwire.TypeVoiceMailMessageSummaryEvent),
		xsiwire.PackageCallForwardingAlways:  set(xsiwire.TypeCallForwardingAlwaysEvent),
		xsiwire.PackageCallForwardingBusy:    set(xsiwire.TypeCallForwardingBusyEvent),
		xsiwire.PackageCallForwardingNoAnswr: set(xsiwire.TypeCallForwardingNoAnswerEvent)}
}()

// emit sends an event about u to every subscription on u whose package
// carries it. Called with s.mu held.
func (s *Sim) emit(u *user, data *xsiwire.EventData) {
	ids := make([]string, 0, len(s.subs))
	for id, sub := range s.subs {
		if (sub.u == u || sub.wide != "") && packages[sub.pkg][data.Type] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		s.send(s.subs[id], u, data)
	}
}

// send puts one event of sub about u (nil: the subscription itself) on a
// channel of its set and waits for its response. With no channel the
// event is lost. Called with s.mu held.
func (s *Sim) send(sub *subscription, u *user, data *xsiwire.EventData) {
	var ch *channel
	for _, c := range s.channels {
		if c.set == sub.set && !c.closing && (ch == nil || c.id < ch.id) {
			ch = c
		}
	}
	if ch == nil {
		s.stats.EventsLost++
		return
	}
	sub.seq++
	target := ""
	if u != nil {
		target = u.id
	}
	if s.skipSeq[target] > 0 {
		s.skipSeq[target]--
		s.stats.EventsSkipped++
		return
	}
	ev := xsiwire.Event{Type: xsiwire.TypeSubscriptionEvent, EventID: s.id("event-"), SequenceNumber: sub.seq,
		UserID: s.cfg.User, ExternalApplicationID: sub.appID, SubscriptionID: sub.id, ChannelID: ch.id,
		TargetID: target, EventData: data}
	doc, err := xsiwire.MarshalEvent(ev)
	if err != nil {
		return
	}
	ch.queue = append(ch.queue, doc)
	ch.unacked[ev.EventID] = &unack{doc: doc, sent: time.Now()}
	ch.kick()
}
