package b2bua

import (
	"errors"
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, number string
		want            bool
	}{
		{"2000", "2000", true},
		{"2000", "20001", false},
		{"9x", "9123", true},
		{"9x", "9", false},
		{"9x", "8123", false},
		{"9x", "9abc", false},
		{"+4930x", "+493012345", true},
	}
	for _, tt := range tests {
		if got := matches(tt.pattern, tt.number); got != tt.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tt.pattern, tt.number, got, tt.want)
		}
	}
	pbx, other := &dnssrv.Trunk{}, &dnssrv.Trunk{}
	rs := Routes{{Trunk: pbx, Match: []string{"2000"}}, {Trunk: other, Match: []string{"2x"}}}
	if rs.Route("2000") != pbx || rs.Route("2001") != other || rs.Route("3000") != nil {
		t.Error("routes: first match must win, no match gives nil")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err    error
		status int
		cause  Cause
	}{
		{nil, 200, CauseNormal},
		{&statusError{486, "Busy Here"}, 486, CauseBusy},
		{&statusError{407, "Proxy Authentication Required"}, 403, CauseUnavailable},
		{&statusError{401, "Unauthorized"}, 403, CauseUnavailable},
		{&statusError{404, "Not Found"}, 404, CauseRejected},
		{fmt.Errorf("%w: x", ErrNoRoute), 404, CauseNoRoute},
		{fmt.Errorf("%w: x", dnssrv.ErrAllFailed), 503, CauseUnavailable},
		{ErrCancelled, 487, CauseCancelled},
		{fmt.Errorf("%w: bad", sdp.ErrMalformed), 488, CauseMedia},
		{fmt.Errorf("%w: x", ErrNoDialog), 481, CauseInternal},
		{errors.New("boom"), 500, CauseInternal},
	}
	for _, tt := range tests {
		o := classify(tt.err)
		if o.Status != tt.status || o.Cause != tt.cause {
			t.Errorf("classify(%v) = %d %s, want %d %s", tt.err, o.Status, o.Cause, tt.status, tt.cause)
		}
	}
	if o := classify(fmt.Errorf("%w: bad", sdp.ErrMalformed)); o.Warning == "" {
		t.Error("488 without Warning")
	}
	// Issue 11: a callee's status keeps the headers that make it useful
	// (relayed.go), also when wrapped.
	re := &relayedError{se: &statusError{503, "Service Unavailable"}, hs: []sip.Header{sip.NewHeader("Retry-After", "60")}}
	if o := classify(fmt.Errorf("trunk: %w", re)); o.Status != 503 || o.Cause != CauseUnavailable || len(o.Headers) != 1 {
		t.Errorf("classify(503 with Retry-After) = %d %s %v", o.Status, o.Cause, o.Headers)
	}
}
