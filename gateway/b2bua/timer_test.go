package b2bua

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

func inviteWith(hs ...string) *sip.Request {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "2000", Host: "example.com"})
	for i := 0; i+1 < len(hs); i += 2 {
		req.AppendHeader(sip.NewHeader(hs[i], hs[i+1]))
	}
	return req
}

// TestNegotiateUAS: the caller's Session-Expires and refresher (RFC 4028
// §9).
func TestNegotiateUAS(t *testing.T) {
	tests := []struct {
		name      string
		hs        []string
		none      bool
		interval  time.Duration
		weRefresh bool
		require   bool
	}{
		{name: "no timer support", none: true},
		{name: "supported, no SE: caller refreshes our interval", hs: []string{"Supported", "timer"},
			interval: sessionExpires, require: true},
		{name: "SE without refresher, caller supports", hs: []string{"Supported", "100rel, timer", "Session-Expires", "600"},
			interval: 600 * time.Second, require: true},
		{name: "SE from a proxy, caller without timers: we refresh", hs: []string{"Session-Expires", "600"},
			interval: 600 * time.Second, weRefresh: true},
		{name: "refresher=uas", hs: []string{"Supported", "timer", "Session-Expires", "300;refresher=uas"},
			interval: 300 * time.Second, weRefresh: true, require: true},
		{name: "refresher neither uac nor uas, caller without timers: we refresh", hs: []string{"Session-Expires", "600;refresher=bogus"},
			interval: 600 * time.Second, weRefresh: true},
		{name: "compact form, Min-SE raises", hs: []string{"k", "timer", "x", "100;refresher=uac", "Min-SE", "120"},
			interval: 120 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt := timerConf{se: sessionExpires, minSE: minSE}.negotiateUAS(inviteWith(tt.hs...))
			if tt.none {
				if lt != nil {
					t.Fatalf("timer %+v, want none", lt)
				}
				return
			}
			if lt == nil {
				t.Fatal("no timer")
			}
			if lt.interval != tt.interval || lt.weRefresh != tt.weRefresh {
				t.Errorf("interval %v weRefresh %v, want %v %v", lt.interval, lt.weRefresh, tt.interval, tt.weRefresh)
			}
			var require bool
			for _, h := range lt.respHeaders() {
				if h.Name() == "Require" && h.Value() == "timer" {
					require = true
				}
			}
			if require != tt.require && tt.name != "compact form, Min-SE raises" {
				t.Errorf("Require: timer %v, want %v", require, tt.require)
			}
		})
	}
}

// TestNegotiateUAC: the callee's 2xx to our INVITE (RFC 4028 §7.2): no
// Session-Expires, no session expiration on that leg.
func TestNegotiateUAC(t *testing.T) {
	tests := []struct {
		se        string
		none      bool
		interval  time.Duration
		weRefresh bool
	}{
		{se: "", none: true}, // no timers at the far end: none on its leg
		{se: "900;refresher=uac", interval: 900 * time.Second, weRefresh: true},
		{se: "900;refresher=uas", interval: 900 * time.Second},
		{se: "30;refresher=uas", interval: 120 * time.Second}, // our Min-SE
	}
	for _, tt := range tests {
		res := sip.NewResponseFromRequest(inviteWith(), 200, "OK", nil)
		if tt.se != "" {
			res.AppendHeader(sip.NewHeader("Session-Expires", tt.se))
		}
		lt := timerConf{se: 600 * time.Second, minSE: 120 * time.Second}.negotiateUAC(res, nil)
		if tt.none {
			if lt != nil {
				t.Errorf("%q: timer %+v, want none", tt.se, lt)
			}
			continue
		}
		if lt == nil {
			t.Fatalf("%q: no timer", tt.se)
		}
		if lt.interval != tt.interval || lt.weRefresh != tt.weRefresh {
			t.Errorf("%q: interval %v weRefresh %v, want %v %v", tt.se, lt.interval, lt.weRefresh, tt.interval, tt.weRefresh)
		}
	}
}

func TestExpiry(t *testing.T) {
	// RFC 4028 §10: BYE at the interval less min(32 s, interval/3).
	for in, want := range map[time.Duration]time.Duration{
		90 * time.Second:   60 * time.Second,
		1800 * time.Second: 1768 * time.Second,
	} {
		if got := expiry(in); got != want {
			t.Errorf("expiry(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestSessionExpiresOf(t *testing.T) {
	for _, tt := range []struct {
		v   string
		d   time.Duration
		ref string
		ok  bool
	}{
		{"1800", 1800 * time.Second, "", true},
		{"90 ; refresher=UAS", 90 * time.Second, "uas", true},
		{"abc", 0, "", false},
		{"1800;refresher=bogus", 1800 * time.Second, "", true}, // RFC 4028 §4: uac or uas only
		{"90;refresher = uac", 90 * time.Second, "uac", true},  // EQUAL = SWS "=" SWS (RFC 3261 §25.1)
	} {
		d, ref, ok := sessionExpiresOf(inviteWith("Session-Expires", tt.v))
		if d != tt.d || ref != tt.ref || ok != tt.ok {
			t.Errorf("%q: %v %q %v", tt.v, d, ref, ok)
		}
	}
}

func FuzzSessionExpiresOf(f *testing.F) {
	f.Add("1800;refresher=uac")
	f.Add("90 ; refresher=UAS;x=y")
	f.Fuzz(func(t *testing.T, v string) {
		d, ref, ok := sessionExpiresOf(inviteWith("Session-Expires", v))
		if !ok {
			if d != 0 || ref != "" {
				t.Fatalf("%q refused, yet read as %v %q", v, d, ref)
			}
			return
		}
		// RFC 4028 §4: delta-seconds, and a refresher of "uac" or "uas"
		// only: anything else the callers would take for a side.
		if d%time.Second != 0 || d > math.MaxUint32*time.Second || ref != "" && ref != "uac" && ref != "uas" {
			t.Fatalf("%q: %v %q", v, d, ref)
		}
		// What we write in our own headers reads back the same.
		w := secs(d)
		if ref != "" {
			w += ";refresher=" + ref
		}
		if d2, ref2, ok2 := sessionExpiresOf(inviteWith("x", w)); !ok2 || d2 != d || ref2 != ref {
			t.Fatalf("%q: %v %q, written %q reads %v %q %v", v, d, ref, w, d2, ref2, ok2)
		}
	})
}

// cdrs records CDRs for tests.
type cdrs struct {
	mu  sync.Mutex
	got []cdr.Record
}

func (r *cdrs) Record(rec cdr.Record) {
	r.mu.Lock()
	r.got = append(r.got, rec)
	r.mu.Unlock()
}

func (r *cdrs) causes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.got {
		out = append(out, rec.Cause)
	}
	return out
}

// TestSessionTimers: short intervals against a fake far end. As the
// refresher we send UPDATE (allowed) or re-INVITE with our last SDP; a
// 481 to a refresh ends the call, and so does a refresh the far end owes
// that never comes (RFC 4028 §10). Timing is only bounded, never
// asserted.
func TestSessionTimers(t *testing.T) {
	tests := []struct {
		name   string
		lt     legTimer
		status int
		method sip.RequestMethod // of the refresh; "" when the far end refreshes
		ends   bool
	}{
		{"we refresh with UPDATE", legTimer{interval: 200 * time.Millisecond, weRefresh: true, update: true}, 200, sip.UPDATE, false},
		{"we refresh with re-INVITE", legTimer{interval: 200 * time.Millisecond, weRefresh: true}, 200, sip.INVITE, false},
		{"refresh answered 481", legTimer{interval: 200 * time.Millisecond, weRefresh: true, update: true}, 481, sip.UPDATE, true},
		{"the far end never refreshes", legTimer{interval: 300 * time.Millisecond}, 200, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			peer := newFakePeer(t, func(r *sip.Request) (int, string) {
				if r.Method == sip.BYE {
					return 200, ""
				}
				if r.Method == sip.INVITE {
					return status, mirrorAnswer(string(r.Body()))
				}
				return status, ""
			})
			a := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
			rec := &cdrs{}
			c, _ := testCallWith(t, a, peer, rec)
			c.est.mu.Lock()
			c.est.sent[c.b] = []byte(testSDP(40000, 1, "", 0))
			c.est.mu.Unlock()
			lt := tt.lt
			_, bl := c.legs(true)
			bl.armTimer(&lt)
			if tt.ends {
				select {
				case <-c.done:
				case <-time.After(10 * time.Second):
					t.Fatal("call not ended")
				}
				if got := rec.causes(); len(got) != 1 || got[0] != string(CauseSessionExpired) {
					t.Errorf("CDR causes %v, want [%s]", got, CauseSessionExpired)
				}
				// both legs get a BYE saying why (RFC 3326; issue 11: the
				// Reason of a session-expiry BYE had no test)
				for _, p := range []struct {
					name string
					peer *fakePeer
				}{{"caller", a}, {"callee", peer}} {
					var bye *sip.Request
					for deadline := time.Now().Add(10 * time.Second); bye == nil && time.Now().Before(deadline); {
						for _, r := range p.peer.requests() {
							if r.Method == sip.BYE {
								bye = r
							}
						}
						time.Sleep(10 * time.Millisecond)
					}
					if bye == nil {
						t.Errorf("%s got no BYE", p.name)
						continue
					}
					if h := bye.GetHeader("Reason"); h == nil || h.Value() != reasonSessionExpired {
						t.Errorf("%s's BYE Reason %v, want %s", p.name, h, reasonSessionExpired)
					}
				}
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				var n int
				for _, r := range peer.requests() {
					if r.Method == tt.method {
						n++
						if se := r.GetHeader("Session-Expires"); se == nil || !strings.HasSuffix(se.Value(), ";refresher=uac") {
							t.Errorf("refresh Session-Expires %v, want refresher=uac", se)
						}
						if tt.method == sip.INVITE && len(r.Body()) == 0 {
							t.Error("refresh re-INVITE without SDP")
						}
					}
				}
				if n >= 2 { // refreshed, and re-armed after the 2xx
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d refreshes", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if isClosed(c.done) {
				t.Error("call ended though the refreshes succeeded")
			}
			c.end(false, false, nil)
			<-c.done
		})
	}
}

// TestTimerTurnedOn: a leg without a session timer (its 2xx had no
// Session-Expires, RFC 4028 §7.2) whose far end refreshes with one gets
// a timer as for a new session (§9): our 2xx says what was agreed.
func TestTimerTurnedOn(t *testing.T) {
	peer := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	c, _ := testCall(t, peer)
	_, bl := c.legs(true)
	if hs := bl.timerRefreshed(inviteWith()); hs != nil {
		t.Errorf("refresh without Session-Expires: headers %v, want none", hs)
	}
	hs := bl.timerRefreshed(inviteWith("Supported", "timer", "Session-Expires", "600;refresher=uac"))
	var se string
	for _, h := range hs {
		if h.Name() == "Session-Expires" {
			se = h.Value()
		}
	}
	if se != "600;refresher=uac" {
		t.Errorf("2xx Session-Expires %q, want 600;refresher=uac", se)
	}
	c.est.mu.Lock()
	lt := c.est.timers[c.b]
	c.est.mu.Unlock()
	if lt == nil || lt.weRefresh || lt.interval != 600*time.Second {
		t.Errorf("timer %+v, want 600 s with the far end refreshing", lt)
	}
	c.end(false, false, nil)
	<-c.done
}

// TestLegMinSE: each leg's refreshes say the Min-SE agreed with that
// leg's far end (RFC 4028 §7.4: the largest Min-SE it said, in its
// INVITE, a 422 or a refresh), not the gateway's own floor: the phone's
// leg and the PBX's leg have their own. Ours is 1 s here; intervals of
// 2-3 s keep the refreshes quick. Timing is only bounded.
func TestLegMinSE(t *testing.T) {
	tc := timerConf{se: 2 * time.Second, minSE: time.Second}
	ok200 := func(*sip.Request, int) []sip.Header { return nil }
	tests := []struct {
		name    string
		lt      func() *legTimer
		isA     bool
		headers func(*sip.Request, int) []sip.Header
		// status answers the n-th refresh (from 1).
		status func(n int) int
		// the refresh that must carry minSE and se.
		nth       int
		minSE, se string
	}{
		{name: "the caller's Min-SE in its INVITE", isA: true,
			lt: func() *legTimer {
				return tc.negotiateUAS(inviteWith("Session-Expires", "2;refresher=uas", "Min-SE", "2", "Allow", "INVITE, ACK, BYE, UPDATE"))
			},
			headers: ok200, status: func(int) int { return 200 }, nth: 1, minSE: "2", se: "2;refresher=uac"},
		{name: "the callee's 422 to our INVITE",
			lt: func() *legTimer {
				inv := inviteWith("Session-Expires", "2", "Min-SE", "2") // sent again after its 422 (redirect.go)
				res := sip.NewResponseFromRequest(inv, 200, "OK", nil)
				res.AppendHeader(sip.NewHeader("Session-Expires", "2;refresher=uac"))
				res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, UPDATE"))
				return tc.negotiateUAC(res, inv)
			},
			headers: ok200, status: func(int) int { return 200 }, nth: 1, minSE: "2", se: "2;refresher=uac"},
		{name: "the callee's 422 to our refresh",
			lt: func() *legTimer {
				return &legTimer{interval: 2 * time.Second, weRefresh: true, update: true, peerTimer: true, minSE: time.Second}
			},
			headers: func(_ *sip.Request, code int) []sip.Header {
				if code == 422 {
					return []sip.Header{sip.NewHeader("Min-SE", "3")}
				}
				return nil
			},
			status: func(n int) int {
				if n == 1 {
					return 422
				}
				return 200
			},
			nth: 2, minSE: "3", se: "3;refresher=uac"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			reply := func(r *sip.Request) (int, string) {
				if r.Method != sip.UPDATE {
					return 200, ""
				}
				mu.Lock()
				defer mu.Unlock()
				n++
				return tt.status(n), ""
			}
			pa, pb := newFakePeer(t, reply), newFakePeer(t, reply)
			pa.headers, pb.headers = tt.headers, tt.headers
			c, _ := testCallWith(t, pa, pb, nil)
			peer := pb
			if tt.isA {
				peer = pa
			}
			x, _ := c.legs(tt.isA)
			lt := tt.lt()
			if lt == nil {
				t.Fatal("no timer agreed")
			}
			x.armTimer(lt)
			var got *sip.Request
			for deadline := time.Now().Add(15 * time.Second); got == nil; {
				var ups []*sip.Request
				for _, r := range peer.requests() {
					if r.Method == sip.UPDATE {
						ups = append(ups, r)
					}
				}
				if len(ups) >= tt.nth {
					got = ups[tt.nth-1]
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d refreshes, want %d", len(ups), tt.nth)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if h := got.GetHeader("Min-SE"); h == nil || h.Value() != tt.minSE {
				t.Errorf("refresh %d: Min-SE %v, want %s", tt.nth, headerValue(h), tt.minSE)
			}
			if h := got.GetHeader("Session-Expires"); h == nil || h.Value() != tt.se {
				t.Errorf("refresh %d: Session-Expires %v, want %s", tt.nth, headerValue(h), tt.se)
			}
			c.end(false, false, nil)
			<-c.done
		})
	}
}

// headerValue is h's value, "(none)" when absent.
func headerValue(h sip.Header) string {
	if h == nil {
		return "(none)"
	}
	return h.Value()
}
