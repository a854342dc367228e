package b2bua

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
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
		{name: "compact form, Min-SE raises", hs: []string{"k", "timer", "x", "100;refresher=uac", "Min-SE", "120"},
			interval: 120 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt := negotiateUAS(inviteWith(tt.hs...))
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

// TestNegotiateUAC: the callee's 2xx to our INVITE (RFC 4028 §7.2).
func TestNegotiateUAC(t *testing.T) {
	tests := []struct {
		se        string
		interval  time.Duration
		weRefresh bool
	}{
		{"", sessionExpires, true}, // no timers at the far end: we probe
		{"900;refresher=uac", 900 * time.Second, true},
		{"900;refresher=uas", 900 * time.Second, false},
		{"30;refresher=uas", minSE, false},
	}
	for _, tt := range tests {
		res := sip.NewResponseFromRequest(inviteWith(), 200, "OK", nil)
		if tt.se != "" {
			res.AppendHeader(sip.NewHeader("Session-Expires", tt.se))
		}
		lt := negotiateUAC(res)
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
		if ok && d < 0 || !ok && (d != 0 || ref != "") {
			t.Errorf("%q: %v %q %v", v, d, ref, ok)
		}
	})
}
