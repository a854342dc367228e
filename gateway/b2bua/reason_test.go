package b2bua

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestReasonsOf: only SIP and Q.850 Reasons (RFC 3326 §2, RFC 6432),
// printable and bounded, go to the other leg.
func TestReasonsOf(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{`Q.850;cause=16;text="Normal call clearing"`}, `Q.850;cause=16;text="Normal call clearing"`},
		{[]string{`SIP;cause=200;text="Call completed elsewhere"`, `Q.850;cause=26`}, `SIP;cause=200;text="Call completed elsewhere"|Q.850;cause=26`},
		{[]string{`SIP;cause=487, Q.850;cause=16`}, `SIP;cause=487|Q.850;cause=16`},
		{[]string{`X-Vendor;cause=1`}, ""},
		{[]string{"SIP;cause=486;text=\"" + strings.Repeat("a", 300) + "\""}, ""},
	}
	for _, tt := range tests {
		req := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", Host: "example.com"})
		for _, v := range tt.in {
			req.AppendHeader(sip.NewHeader("Reason", v))
		}
		var got []string
		for _, h := range reasonsOf(req) {
			got = append(got, h.Value())
		}
		if strings.Join(got, "|") != tt.want {
			t.Errorf("reasonsOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestReasonFor: the BYEs the gateway originates say why.
func TestReasonFor(t *testing.T) {
	gw := New(Options{Users: noUsers{}})
	c := &call{gw: gw}
	for _, tt := range []struct {
		cause error
		want  string
	}{
		{nil, ""},
		{ErrMediaTimeout, reasonMediaTimeout},
		{fmt.Errorf("refresh: %w", ErrSessionExpired), reasonSessionExpired},
		{errNoAck, reasonNoAck},
	} {
		var got string
		if hs := c.reasonFor(tt.cause); len(hs) == 1 {
			got = hs[0].Value()
		}
		if got != tt.want {
			t.Errorf("reasonFor(%v) = %q, want %q", tt.cause, got, tt.want)
		}
	}
	gw.Close()
	if hs := c.reasonFor(nil); len(hs) != 1 || hs[0].Value() != reasonShutdown {
		t.Errorf("reasonFor(nil) while stopping = %v, want %q", hs, reasonShutdown)
	}
}
