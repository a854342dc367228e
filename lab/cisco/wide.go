package cisco

import (
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
)

// subscribeWide adds a subscription to every user of a group (scope
// "Group") or of a service provider or enterprise ("ServiceProvider"):
// POST …/xsi-events/v2.0/serviceprovider/{sp}[/group/{group}]
// (XSISubscription.xsd EntityType). Its events name their user in
// targetId; one sequence of sequenceNumbers runs over all of them. An
// account not allowed to (Config.WideSubscriptions off) gets 403.
func (s *Sim) subscribeWide(w http.ResponseWriter, r *http.Request, scope, sp, group string) {
	var req xsiwire.Subscription
	if err := s.readBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, 110400, "a Subscription is required")
		return
	}
	if !s.cfg.WideSubscriptions {
		writeError(w, http.StatusForbidden, 110403, "not authorized to subscribe to a "+scope)
		return
	}
	if sp != s.cfg.ServiceProvider || scope == "Group" && group != s.cfg.Group {
		writeError(w, http.StatusNotFound, 110404, scope+" not found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	sub := &subscription{id: s.id("subscription-"), wide: scope, pkg: req.Event, set: req.ChannelSetID,
		appID: req.ApplicationID, expires: time.Now().Add(exp)}
	s.subs[sub.id] = sub
	s.stats.SubscriptionsAdded++
	s.stats.WideSubscriptions++
	writeXML(w, http.StatusOK, xsiwire.Subscription{SubscriptionID: sub.id, Expires: int(exp / time.Second)})
}

// covers lists the users sub gets events of. Called with s.mu held.
func (s *Sim) covers(sub *subscription) []*user {
	if sub.wide == "" {
		return []*user{sub.u}
	}
	out := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	return out
}
