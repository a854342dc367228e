package b2bua

import (
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestAckKeepsCSeqContiguous: the ACK of a re-INVITE's 2xx carries the
// INVITE's CSeq number and takes none of the dialog's (RFC 3261
// §13.2.2.4); the next request on the dialog is numbered one more than
// the INVITE (§12.2.1.1: contiguous). The ACK builder that took a number
// from the dialog left a gap after every re-INVITE.
func TestAckKeepsCSeqContiguous(t *testing.T) {
	peer := newFakePeer(t, func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) })
	c, l := testCall(t, peer)
	if _, _, err := c.exchange(l, []byte(testSDP(30000, 2, "sendonly", 0)), sip.INVITE, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.exchange(l, []byte(testSDP(30000, 3, "", 0)), sip.INVITE, nil); err != nil {
		t.Fatal(err)
	}
	reqs := peer.requests()
	for deadline := time.Now().Add(5 * time.Second); len(reqs) < 4 && time.Now().Before(deadline); reqs = peer.requests() {
		time.Sleep(5 * time.Millisecond) // the last ACK is sent without waiting (a bound, not a timing)
	}
	// The handlers of a UDP peer may see an ACK after the next INVITE:
	// compare numbers per method.
	var invites, acks []uint32
	for _, r := range reqs {
		switch r.Method {
		case sip.INVITE:
			invites = append(invites, r.CSeq().SeqNo)
		case sip.ACK:
			acks = append(acks, r.CSeq().SeqNo)
		}
	}
	slices.Sort(invites)
	slices.Sort(acks)
	if len(invites) != 2 || !slices.Equal(invites, acks) {
		t.Fatalf("INVITE CSeq %v, ACK CSeq %v: want two INVITEs, each ACKed with its number", invites, acks)
	}
	if invites[1] != invites[0]+1 {
		t.Errorf("INVITE CSeq %v: the second re-INVITE must be numbered one more than the first (RFC 3261 §12.2.1.1)", invites)
	}
}
