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
