package b2bua

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestTagKeptForLateRetransmission: the 407 to a retransmission of the
// challenged INVITE (CSeq 1) handled after the retried INVITE (CSeq 2)
// formed the dialog carries the dialog's To tag, as the first 407 did
// (RFC 3261 §8.2.6.2; seen in the calls benchmark: SIPp took a new tag
// into its BYE and got 481). Another INVITE of the same Call-ID and From
// tag (CSeq 2 again, or 3) still gets a tag of its own (TestLocalTags).
// Before, the dialog forgot the tag and the late 407 got a new one.
func TestTagKeptForLateRetransmission(t *testing.T) {
	b := newTestB2BUA(Options{})
	invite := func(seq uint32) *sip.Request {
		req := tagInvite(t, "cid-late", "ft-late", "127.0.0.1:5060")
		req.CSeq().SeqNo = seq
		return req
	}
	tag407 := b.localTag(invite(1))
	if got := b.dialogTag(invite(2)); got != tag407 {
		t.Fatalf("the dialog's tag %q, want the 407's %q", got, tag407)
	}
	for _, tc := range []struct {
		seq  uint32
		same bool
	}{
		{1, true},  // the challenged INVITE, late
		{2, false}, // another INVITE of the dialog's CSeq
		{3, false},
	} {
		if got := b.localTag(invite(tc.seq)); (got == tag407) != tc.same {
			t.Errorf("CSeq %d: tag %q, the dialog's %q, want the same: %v", tc.seq, got, tag407, tc.same)
		}
	}
}
