package cisco

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestStateMapping is cti-protocols.md §1's table, Xsi column.
func TestStateMapping(t *testing.T) {
	for _, tc := range []struct {
		state, personality string
		want               plugins.ConnectionState
	}{
		{"Alerting", "Click-to-Dial", plugins.StateInitiated},
		{"Alerting", "Originator", plugins.StateConnected},
		{"Alerting", "Terminator", plugins.StateAlerting},
		{"Active", "Originator", plugins.StateConnected},
		{"Held", "Terminator", plugins.StateHold},
		{"Remote Held", "Originator", plugins.StateConnected},
		{"Released", "Originator", plugins.StateNull},
		{"Detached", "Terminator", plugins.StateNull},
		{"Idle", "", plugins.StateNull},
		{"Queued?", "", plugins.StateUnspecified},
	} {
		if got := mapState(tc.state, tc.personality); got != tc.want {
			t.Errorf("%s/%s → %s, want %s", tc.state, tc.personality, got, tc.want)
		}
	}
}

func TestCauseMapping(t *testing.T) {
	for _, tc := range []struct {
		internal string
		want     plugins.Cause
		failed   bool
	}{
		{"", plugins.CauseNormalClearing, false},
		{"Busy", plugins.CauseBusy, true},
		{"Temporarily Unavailable", plugins.CauseDestinationNotObtainable, true},
		{"Forbidden", plugins.CauseBlocked, true},
		{"No Answer", plugins.CauseNoAnswer, true},
		{"Something New", plugins.CauseUnspecified, false},
	} {
		var rc *xsi.ReleaseCause
		if tc.internal != "" {
			rc = &xsi.ReleaseCause{InternalReleaseCause: tc.internal}
		}
		got, raw := releaseCause(rc)
		if got != tc.want || raw != tc.internal || failure(got) != tc.failed {
			t.Errorf("%q → %s (%q, failed %v)", tc.internal, got, raw, failure(got))
		}
	}
	for reason, want := range map[string]plugins.Cause{"unconditional": plugins.CauseCallForwardImmediate,
		"user-busy": plugins.CauseCallForwardBusy, "no-answer": plugins.CauseCallForwardNoAnswer,
		"deflection": plugins.CauseRedirected, "odd": plugins.CauseRedirected} {
		if got, _ := redirectCause(&xsi.Redirect{Reason: reason}); got != want {
			t.Errorf("redirect %q → %s, want %s", reason, got, want)
		}
	}
}

func TestDedupe(t *testing.T) {
	d := newDedupe(2)
	if d.seen("a") || d.seen("b") || !d.seen("a") || d.seen("c") || d.seen("a") {
		t.Fatal("dedupe window of 2 wrong") // "a" fell out when "c" came
	}
}

// TestReleaseCauseEnumeration maps every value of XSIDataTypes.xsd's
// InternalReleaseCause enumeration (the Xsi XSDs, public copy in
// spr-plusnet/libxsi) to a model cause, and every failure to connect to a
// cause the console shows as a failed call.
func TestReleaseCauseEnumeration(t *testing.T) {
	for internal, want := range map[string]plugins.Cause{
		"Busy":                    plugins.CauseBusy,
		"Forbidden":               plugins.CauseBlocked,
		"Routing Failure":         plugins.CauseDestinationNotObtainable,
		"Global Failure":          plugins.CauseDestinationNotObtainable,
		"Request Failure":         plugins.CauseDestinationNotObtainable,
		"Server Failure":          plugins.CauseNetworkCongestion,
		"Translation Failure":     plugins.CauseInvalidNumberFormat,
		"Temporarily Unavailable": plugins.CauseDestinationNotObtainable,
		"User Not Found":          plugins.CauseDestinationNotObtainable,
		"Request Timeout":         plugins.CauseNoAnswer,
		"Dial Tone Timeout":       plugins.CauseCallCancelled,
		"Insufficient Credits":    plugins.CauseBlocked,
	} {
		got, raw := releaseCause(&xsi.ReleaseCause{InternalReleaseCause: internal})
		if got != want || raw != internal {
			t.Errorf("%q → %s, want %s", internal, got, want)
		}
		if wantFailed := internal != "Dial Tone Timeout"; failure(got) != wantFailed {
			t.Errorf("%q: failed %v, want %v", internal, failure(got), wantFailed)
		}
	}
}

// TestSequenceGap walks one subscription's sequenceNumbers: the first
// starts the count, a resent or older number is no gap, a skipped one is
// (counted once per gap), and each subscription counts on its own.
func TestSequenceGap(t *testing.T) {
	d := New()
	steps := []struct {
		sub  string
		seq  int64
		want bool
	}{
		{"s1", 3, false}, // first seen: the snapshot covers 1 and 2
		{"s1", 4, false},
		{"s1", 4, false}, // sent again
		{"s1", 6, true},  // 5 lost
		{"s1", 5, false}, // late, older than the last: no new gap
		{"s1", 7, false},
		{"s2", 1, false},
		{"s2", 2, false},
		{"s2", 9, true},
		{"", 50, false}, // no subscription: nothing to count against
		{"s1", 0, false},
	}
	for i, s := range steps {
		if got := d.gap(&xsi.Event{SubscriptionID: s.sub, SequenceNumber: s.seq}); got != s.want {
			t.Fatalf("step %d (%s #%d): gap %v, want %v", i, s.sub, s.seq, got, s.want)
		}
	}
	if n := d.Stats().SeqGaps; n != 2 {
		t.Fatalf("%d gaps counted, want 2", n)
	}
}

// TestResyncCoalesced floods one device with gaps: one resync is queued
// until the server loop takes it, not one per event.
func TestResyncCoalesced(t *testing.T) {
	d := New()
	l := &link{gen: 1, resync: make(chan string, 1024)}
	d.cur, d.gen = l, 1
	for range 100 {
		d.resync(1, "201", partCalls)
	}
	d.resync(1, "201", partDND) // joins the queued one
	d.resync(1, "202", partCalls)
	d.resync(2, "203", partCalls) // an older channel's: dropped
	if n := len(l.resync); n != 2 {
		t.Fatalf("%d resyncs queued for 100 gaps at 201 and one at 202, want 2", n)
	}
	if p := d.resyncing["201"]; p != partCalls|partDND {
		t.Fatalf("201's resync reads parts %b, want calls and DND", p)
	}
}
