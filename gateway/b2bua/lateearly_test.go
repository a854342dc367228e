package b2bua

import (
	"testing"

	psdp "github.com/pion/sdp/v3"
)

// TestEarlyBodyLateOffer: a 18x to a caller whose INVITE had SDP carries
// the answer; to a late-offer caller it carries our offer once, only when
// the 18x goes reliably (RFC 3261 §13.2.1, RFC 3262 §5), and no SDP after
// that (one offer at a time, RFC 3264 §4).
func TestEarlyBodyLateOffer(t *testing.T) {
	out := []byte("v=0\r\n")
	tests := []struct {
		name     string
		late     bool
		reliable bool
		want     []bool // SDP in the first, second 18x
	}{
		{"offer in the INVITE", false, false, []bool{true, true}},
		{"late, unreliable 18x", true, false, []bool{false, false}},
		{"late, reliable 18x", true, true, []bool{true, false}},
	}
	for _, tt := range tests {
		c := &call{}
		c.late.offerA = &psdp.SessionDescription{} // c.answer made it
		c.late.on, c.relA.on = tt.late, tt.reliable
		for i, want := range tt.want {
			if got := c.earlyBody(out) != nil; got != want {
				t.Errorf("%s: 18x #%d with SDP %v, want %v", tt.name, i+1, got, want)
			}
		}
		if c.late.earlyAnswered() != nil {
			t.Errorf("%s: answered before any PRACK", tt.name)
		}
	}
}
