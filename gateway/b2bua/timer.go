package b2bua

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028), negotiated on each leg apart. On a leg where
// we are the refresher we send a refresh (UPDATE without SDP when the far
// end allows UPDATE, else a re-INVITE with the unchanged SDP) at half the
// interval (§7.4, §9); where the far end is, we wait for its refresh and
// end the call on both legs when none came in time (§10). A refresh that
// fails with 408 or 481, or gets no answer, ends the call too (§10).

const (
	// sessionExpires is the interval we ask for by default
	// (calls.session_expires): RFC 4028 §4 recommends 1800 s.
	sessionExpires = 1800 * time.Second
	// minSE is the smallest interval we accept by default (calls.min_se):
	// RFC 4028 §4, §5 (90 s is the least any UA may ask for).
	minSE = 90 * time.Second
	// refreshRetry is when a refresh that could not be sent (an offer was
	// under way, a 491) is tried again.
	refreshRetry = 4 * time.Second
)

// ErrSessionExpired means a leg's session timer ran out without a refresh,
// or a refresh failed (RFC 4028 §10): the call was ended on both legs.
var ErrSessionExpired = errors.New("b2bua: session expired")

// timerConf is the session timer configuration: the interval we ask for
// and the smallest we accept (calls.session_expires, calls.min_se).
type timerConf struct {
	se, minSE time.Duration
}

// timerConf returns the configured intervals, RFC 4028's defaults for
// the ones not set.
func (b *B2BUA) timerConf() timerConf {
	lv := b.live()
	tc := timerConf{se: lv.SessionExpires, minSE: lv.MinSE}
	if tc.minSE <= 0 {
		tc.minSE = minSE
	}
	if tc.se <= 0 {
		tc.se = sessionExpires
	}
	tc.se = max(tc.se, tc.minSE)
	return tc
}

// legTimer is the session timer of one leg. Its fields are guarded by
// the call's est.mu.
type legTimer struct {
	interval  time.Duration
	weRefresh bool // we send the refreshes; else the far end does
	peerTimer bool // the far end supports timers: Require: timer in our 2xx (RFC 4028 §9)
	update    bool // the far end allows UPDATE: refresh without SDP
	// minSE is the leg's Min-SE: ours, raised to the largest its far end
	// said (its INVITE or refreshes, a 422's; RFC 4028 §7.4); sent in
	// Min-SE and the floor of interval.
	minSE time.Duration
	t     *time.Timer
}

// sessionExpiresOf reads Session-Expires (compact x, RFC 4028 §4):
// interval and refresher ("uac", "uas" or "").
func sessionExpiresOf(m headers) (d time.Duration, refresher string, ok bool) {
	h := m.GetHeader("Session-Expires")
	if h == nil {
		h = m.GetHeader("x")
	}
	if h == nil {
		return 0, "", false
	}
	parts := strings.Split(h.Value(), ";")
	secs, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil {
		return 0, "", false
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		// refresher-param = "refresher" EQUAL ("uas" / "uac"); any other
		// value names no side and counts as absent.
		if v = strings.ToLower(strings.TrimSpace(v)); strings.EqualFold(strings.TrimSpace(k), "refresher") && (v == "uac" || v == "uas") {
			refresher = v
		}
	}
	return time.Duration(secs) * time.Second, refresher, true
}

// minSEOf reads Min-SE (RFC 4028 §5); 0 when absent.
func minSEOf(m headers) time.Duration {
	h := m.GetHeader("Min-SE")
	if h == nil {
		return 0
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	secs, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// rejectSmallSE answers 422 with our Min-SE to a request whose
// Session-Expires is below it (RFC 4028 §9; §7.4: a refresh is a request
// like any other) and reports whether it did. Used for the caller's
// INVITE and for re-INVITEs and UPDATEs inside a dialog, whose timer it
// leaves as it was: the refresh did not happen.
func (b *B2BUA) rejectSmallSE(req *sip.Request, tx sip.ServerTransaction) bool {
	se, _, ok := sessionExpiresOf(req)
	floor := b.timerConf().minSE
	if !ok || se >= floor {
		return false
	}
	b.respond(tx, req, 422, "Session Interval Too Small", nil, sip.NewHeader("Min-SE", secs(floor)))
	return true
}

// negotiateUAS is the A leg's timer from the caller's INVITE (RFC 4028
// §9): its Session-Expires (raised to our minimum), the refresher it
// chose, else the caller when it supports timers and we otherwise. A
// caller that neither asked for nor supports timers gets none. nil: no
// timer.
func (tc timerConf) negotiateUAS(req *sip.Request) *legTimer {
	se, ref, ok := sessionExpiresOf(req)
	lt := &legTimer{peerTimer: hasOption(req, "Supported", "timer") || hasOption(req, "Require", "timer"),
		update: allows(req, sip.UPDATE), minSE: max(tc.minSE, minSEOf(req))}
	if !ok {
		if !lt.peerTimer {
			return nil
		}
		se, ref = tc.se, "uac"
	}
	lt.interval = max(se, lt.minSE)
	if ref == "" {
		ref = "uas"
		if lt.peerTimer {
			ref = "uac"
		}
	}
	lt.weRefresh = ref == "uas"
	return lt
}

// negotiateUAC is a leg's timer from the 2xx to inv, an INVITE we sent
// with timerOfferB's headers (RFC 4028 §7.2): the interval and refresher
// it says. A 2xx without Session-Expires means there is no session
// expiration on that leg (§7.2: the far end does not do timers, and no
// proxy asked for them): nil, no refreshes and no expiry. The other leg
// keeps what was agreed with it (the caller's timer, negotiateUAS): the
// legs are negotiated apart. inv's Min-SE (raised after a 422, §7.3) is
// the leg's from then on (§7.4); inv nil: ours.
func (tc timerConf) negotiateUAC(res *sip.Response, inv *sip.Request) *legTimer {
	se, ref, ok := sessionExpiresOf(res)
	if !ok {
		return nil
	}
	floor := tc.minSE
	if inv != nil {
		floor = max(floor, minSEOf(inv))
	}
	return &legTimer{peerTimer: hasOption(res, "Require", "timer") || hasOption(res, "Supported", "timer"),
		update: allows(res, sip.UPDATE), interval: max(se, floor), weRefresh: ref != "uas", minSE: floor}
}

// respHeaders are the headers of our 2xx to a request from the far end
// (the initial INVITE or a refresh): it is the UAC, we the UAS.
func (lt *legTimer) respHeaders() []sip.Header {
	ref := "uac"
	if lt.weRefresh {
		ref = "uas"
	}
	hs := []sip.Header{sip.NewHeader("Session-Expires", secs(lt.interval)+";refresher="+ref)}
	if lt.peerTimer {
		hs = append(hs, sip.NewHeader("Require", "timer"))
	}
	return append(hs, sip.NewHeader("Supported", "timer"))
}

// reqHeaders are the headers of a re-INVITE or UPDATE we send (we are the
// UAC).
func (lt *legTimer) reqHeaders() []sip.Header {
	ref := "uas"
	if lt.weRefresh {
		ref = "uac"
	}
	return []sip.Header{
		sip.NewHeader("Supported", "timer"),
		sip.NewHeader("Session-Expires", secs(lt.interval)+";refresher="+ref),
		sip.NewHeader("Min-SE", secs(lt.floor())),
	}
}

// floor is the smallest interval the leg takes: our Min-SE.
func (lt *legTimer) floor() time.Duration {
	if lt.minSE > 0 {
		return lt.minSE
	}
	return minSE
}

func secs(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }

// expiry is when the far end's refresh must have come: the interval less
// a third of it, at most 32 s (RFC 4028 §10).
func expiry(interval time.Duration) time.Duration {
	return interval - min(32*time.Second, interval/3)
}

// timerA returns the session timer headers for the 2xx to the caller
// (RFC 4028 §9) and keeps what was agreed on the A leg, armed by
// startTimers.
func (c *call) timerA(req *sip.Request) []sip.Header {
	lt := c.gw.timerConf().negotiateUAS(req)
	if lt == nil {
		return []sip.Header{sip.NewHeader("Supported", "timer")}
	}
	c.est.mu.Lock()
	c.est.init()
	c.est.timers[c.a] = lt // not armed: the 2xx may not go out (crossedCancel)
	c.est.mu.Unlock()
	return lt.respHeaders()
}

// timerOfferB returns the session timer headers of the B leg's INVITE
// (RFC 4028 §7.1): we support timers and ask for our interval, leaving the
// refresher to the callee.
func (c *call) timerOfferB() []sip.Header {
	tc := c.gw.timerConf()
	return []sip.Header{
		sip.NewHeader("Supported", "timer"),
		sip.NewHeader("Session-Expires", secs(tc.se)),
		sip.NewHeader("Min-SE", secs(tc.minSE)),
	}
}

// startTimers runs once the call is answered: resA is our 2xx to the
// caller, resB the callee's 2xx to invB (nil: not an INVITE we sent, a
// pickup's). It records the session each leg has (for re-INVITEs and
// transfers) and starts both legs' session timers, each as agreed with
// its own far end (timerA; negotiateUAC).
func (c *call) startTimers(resA *sip.Response, resB *sip.Response, invB *sip.Request) {
	var offerB []byte
	if c.offerB != nil {
		offerB, _ = c.offerB.Marshal()
	}
	e := &c.est
	e.mu.Lock()
	e.init()
	e.up = true
	e.sent[c.a], e.from[c.a] = resA.Body(), offerB
	e.sent[c.b], e.from[c.b] = offerB, resB.Body()
	if len(resB.Body()) == 0 {
		// The answer came in a reliable 18x (RFC 3262): what we sent the
		// caller carries the callee's codecs and direction.
		e.from[c.b] = resA.Body()
	}
	if cs := resA.CSeq(); cs != nil {
		e.seq[c.a] = cs.SeqNo
	}
	lta := e.timers[c.a]
	e.mu.Unlock()
	a, b := c.legs(true)
	a.armTimer(lta)
	b.armTimer(c.gw.timerConf().negotiateUAC(resB, invB))
	go func() {
		<-c.done
		e.mu.Lock()
		for _, lt := range e.timers {
			if lt.t != nil {
				lt.t.Stop()
			}
		}
		e.mu.Unlock()
	}()
}

// The session timer of a leg is the leg's own (issue 11 "Shape"): kept by
// its dialog in the call's established state, as the leg's SDP is
// (leg.keep), and agreed with that leg's far end alone: interval,
// refresher, Min-SE and the way to refresh.

// timer is a copy of l's session timer, nil when it has none (an
// attended transfer moves a leg to another call with it).
func (l *leg) timer() *legTimer {
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	lt := e.timers[l.d]
	if lt == nil {
		return nil
	}
	return &legTimer{interval: lt.interval, weRefresh: lt.weRefresh, peerTimer: lt.peerTimer, update: lt.update, minSE: lt.minSE}
}

// armTimer (re)starts l's session timer as lt says: a refresh at half the
// interval, or the expiry check. nil lt: none.
func (l *leg) armTimer(lt *legTimer) {
	if lt == nil {
		return
	}
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	e.init()
	if old := e.timers[l.d]; old != nil && old.t != nil {
		old.t.Stop()
	}
	e.timers[l.d] = lt
	l.scheduleLocked(lt, 0)
}

// stopTimer stops l's session timer (a leg about to be released: no
// refresh towards it, no expiry of the call because of it).
func (l *leg) stopTimer() {
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	if lt := e.timers[l.d]; lt != nil && lt.t != nil {
		lt.t.Stop()
	}
}

// scheduleLocked sets lt's timer; after 0 means the normal time. Called
// with est.mu held.
func (l *leg) scheduleLocked(lt *legTimer, after time.Duration) {
	if lt.t != nil {
		lt.t.Stop()
	}
	if isClosed(l.c.done) {
		return
	}
	t := &leg{c: l.c, d: l.d} // the timer needs only the call and dialog
	if lt.weRefresh {
		if after == 0 {
			after = lt.interval / 2
		}
		lt.t = time.AfterFunc(after, func() { t.refresh(lt) })
		return
	}
	lt.t = time.AfterFunc(expiry(lt.interval), t.expired)
}

// timerRefreshed is told of a re-INVITE or UPDATE from l's far end: it
// refreshes l's session (RFC 4028 §7.4, §9), taking a new interval or
// refresher it asks for and a larger Min-SE it says, and returns the
// headers for our 2xx.
func (l *leg) timerRefreshed(req *sip.Request) []sip.Header {
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	lt := e.timers[l.d]
	if lt == nil {
		// A leg without a timer (its 2xx had no Session-Expires, §7.2)
		// whose far end now asks for one: agreed as for a new session
		// (§9).
		if lt = l.c.gw.timerConf().negotiateUAS(req); lt == nil {
			return nil
		}
		e.init()
		e.timers[l.d] = lt
		l.scheduleLocked(lt, 0)
		return lt.respHeaders()
	}
	lt.minSE = max(lt.minSE, minSEOf(req))
	if se, ref, ok := sessionExpiresOf(req); ok {
		lt.interval = max(se, lt.floor())
		switch ref {
		case "uac":
			lt.weRefresh = false
		case "uas":
			lt.weRefresh = true
		}
	}
	l.scheduleLocked(lt, 0)
	return lt.respHeaders()
}

// timerHeaders adds l's session timer headers to a re-INVITE or UPDATE we
// send on it: it refreshes the session too.
func (l *leg) timerHeaders(req *sip.Request) {
	l.c.est.mu.Lock()
	lt := l.c.est.timers[l.d]
	var hs []sip.Header
	if lt != nil {
		hs = lt.reqHeaders()
	}
	l.c.est.mu.Unlock()
	for _, h := range hs {
		req.AppendHeader(h)
	}
}

// timerAnswered is told of the 2xx to a re-INVITE or UPDATE we sent on l:
// the session was refreshed, with what the 2xx says (RFC 4028 §7.2). A
// far end that does timers and answers without Session-Expires turns
// them off on its leg (§7.2, "turned off in mid dialog"); one that never
// did timers (a leg where we refresh because the caller's proxy asked)
// never says Session-Expires, and we go on refreshing.
func (l *leg) timerAnswered(res *sip.Response) {
	e := &l.c.est
	e.mu.Lock()
	defer e.mu.Unlock()
	lt := e.timers[l.d]
	if lt == nil {
		return
	}
	se, ref, ok := sessionExpiresOf(res)
	switch {
	case ok:
		lt.interval = max(se, lt.floor())
		lt.weRefresh = ref != "uas"
	case lt.peerTimer:
		if lt.t != nil {
			lt.t.Stop()
		}
		delete(e.timers, l.d)
		return
	}
	l.scheduleLocked(lt, 0)
}

// refresh sends a session refresh on l (RFC 4028 §7.4, §9).
func (l *leg) refresh(lt *legTimer) {
	c, d := l.c, l.d
	c.est.mu.Lock()
	current := c.est.timers[d] == lt
	c.est.mu.Unlock()
	if isClosed(c.done) || !current {
		return
	}
	if !c.est.begin() {
		// An offer is under way on the call: it refreshes; try shortly.
		c.est.mu.Lock()
		l.scheduleLocked(lt, refreshRetry)
		c.est.mu.Unlock()
		return
	}
	defer c.est.finish()
	c.est.mu.Lock()
	useUpdate, body := lt.update, c.est.sent[d]
	c.est.mu.Unlock()
	method := sip.INVITE
	if useUpdate || len(body) == 0 {
		method = sip.UPDATE
	}
	req := d.newRequest(method)
	req.AppendHeader(sip.NewHeader("Allow", allowInDialog))
	l.timerHeaders(req)
	if method == sip.INVITE {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(c.browserRefresh(d, body)) // WebRTC towards a browser (webrtc.go)
	}
	res, err := c.send(req)
	switch {
	case err != nil, res.StatusCode == 408, res.StatusCode == 481:
		// RFC 4028 §10: the far end is gone; so is the call.
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		c.gw.log.Info("session refresh failed", "call_id", d.callID, "status", status, "error", err)
		c.end(true, true, ErrSessionExpired)
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if method == sip.INVITE {
			c.gw.ack2xx(d, res)
		}
		refreshTarget(d, res)
		l.timerAnswered(res)
	case res.StatusCode == 422:
		// RFC 4028 §7.3 (and §8 for our UAC role): ask again with its
		// Min-SE, which this leg's refreshes say from now on (§7.4).
		c.est.mu.Lock()
		lt.minSE = max(lt.minSE, minSEOf(res))
		lt.interval = max(lt.interval, lt.floor())
		l.scheduleLocked(lt, time.Millisecond)
		c.est.mu.Unlock()
	case method == sip.UPDATE && (res.StatusCode == 405 || res.StatusCode == 501):
		c.est.mu.Lock()
		lt.update = false
		l.scheduleLocked(lt, time.Millisecond)
		c.est.mu.Unlock()
	case res.StatusCode == 491:
		// Glare with the far end's own offer (RFC 3261 §14.1): soon again.
		c.est.mu.Lock()
		l.scheduleLocked(lt, refreshRetry)
		c.est.mu.Unlock()
	default:
		// Refused, but the dialog lives: the session goes on; next
		// refresh at the usual time, not a retry loop.
		c.gw.log.Debug("session refresh refused", "call_id", d.callID, "status", res.StatusCode)
		c.est.mu.Lock()
		l.scheduleLocked(lt, 0)
		c.est.mu.Unlock()
	}
}

// expired ends the call when l's far end did not refresh in time (RFC 4028
// §10): BYE on both legs.
func (l *leg) expired() {
	if isClosed(l.c.done) {
		return
	}
	l.c.gw.log.Info("session expired", "call_id", l.d.callID)
	l.c.end(true, true, ErrSessionExpired)
}
