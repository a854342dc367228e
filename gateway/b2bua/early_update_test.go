package b2bua

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// recTx is a server transaction that records the responses sent on it.
type recTx struct {
	sip.ServerTransaction
	mu  sync.Mutex
	got []*sip.Response
}

func (x *recTx) Respond(res *sip.Response) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.got = append(x.got, res)
	return nil
}

// earlyRequest is method in early dialog d from its far end (From: its
// tag, To: ours), from 127.0.0.1.
func earlyRequest(t *testing.T, method string, d *dialog, toTag string, cseq int, body string, hs ...string) *sip.Request {
	t.Helper()
	raw := method + " sip:gw@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK" + sip.GenerateTagN(8) + "\r\n" +
		"From: <sip:far@example.com>;tag=" + d.remoteTag + "\r\nTo: <sip:gw@example.com>;tag=" + toTag + "\r\n" +
		"Call-ID: " + d.callID + "\r\nCSeq: " + strconv.Itoa(cseq) + " " + method + "\r\n"
	for _, h := range hs {
		raw += h + "\r\n"
	}
	if body != "" {
		raw += "Content-Type: application/sdp\r\n"
	}
	raw += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sip.Request)
}

// earlyCallFor makes c a ringing call: its dialogs are early ones.
func earlyCallFor(c *call) {
	b := c.gw
	b.removeDialogs(c)
	c.est.mu.Lock()
	c.est.up = false
	c.est.mu.Unlock()
	c.relA.stop = make(chan struct{})
	c.offerB, _ = sdp.Parse([]byte(testSDP(int(c.media.B().LocalAddr().Port()), 1, "", 0, 8)))
	b.addEarly(c)
}

func lastResponse(t *testing.T, tx *recTx) *sip.Response {
	t.Helper()
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if len(tx.got) == 0 {
		t.Fatal("no response")
	}
	return tx.got[len(tx.got)-1]
}

// TestEarlyUpdate: an UPDATE in an early dialog (RFC 3311 §5.1). Without
// SDP: 200 with our Contact. An offer from the caller before the callee's
// early dialog took an answer reliably: 500 with a Retry-After of 0 to
// 10 s (§5.2). Once it did, the offer is relayed to the callee's early
// dialog as an UPDATE and its answer comes back in the 200; the callee's
// own early offer reaches the caller the same way once the caller
// acknowledged our answer (PRACK) and allows UPDATE. An UPDATE on an
// unknown dialog stays 481.
func TestEarlyUpdate(t *testing.T) {
	peer := newFakePeer(t, func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) })
	caller := newFakePeer(t, func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) })
	c, _ := testCallWith(t, caller, peer, nil)
	b := c.gw
	earlyCallFor(c)
	update := func(d *dialog, tag, body string) *sip.Response {
		tx := &recTx{}
		b.onUpdate(earlyRequest(t, "UPDATE", d, tag, 2, body), tx)
		return lastResponse(t, tx)
	}
	if res := update(c.a, c.a.localTag, ""); res.StatusCode != 200 || res.Contact() == nil {
		t.Errorf("UPDATE without SDP: %d, Contact %v; want 200 with Contact", res.StatusCode, res.Contact())
	}
	offer := testSDP(30000, 2, "sendonly", 0)
	res := update(c.a, c.a.localTag, offer)
	ra := res.GetHeader("Retry-After")
	if res.StatusCode != 500 || ra == nil || len(strings.TrimSpace(ra.Value())) > 2 {
		t.Errorf("UPDATE with SDP, no early answer from the callee: %d, Retry-After %v; want 500 with 0-10", res.StatusCode, ra)
	}
	if res := update(c.a, "other", ""); res.StatusCode != 481 {
		t.Errorf("UPDATE on an unknown dialog: %d, want 481", res.StatusCode)
	}
	if n := len(peer.requests()); n != 0 {
		t.Fatalf("callee got %d requests before its early answer, want none", n)
	}

	// The callee's reliable 18x with SDP: its early dialog takes offers.
	c.earlyAnswered(c.b)
	if got, _, _ := b.earlyDialog(earlyRequest(t, "UPDATE", c.b, c.b.localTag, 1, "")); got == nil {
		c.est.mu.Lock()
		up := c.est.up
		c.est.mu.Unlock()
		t.Fatalf("callee's early dialog not found (up %v)", up)
	}
	res = update(c.a, c.a.localTag, offer)
	if res.StatusCode != 200 || len(res.Body()) == 0 {
		t.Fatalf("caller's early offer: %d with %d bytes, want 200 with the answer", res.StatusCode, len(res.Body()))
	}
	checkRecvonly(t, "answer to the caller", res.Body())
	got := peer.requests()
	if len(got) != 1 || got[0].Method != sip.UPDATE || len(got[0].Body()) == 0 {
		t.Fatalf("callee got %v, want one UPDATE with SDP", got)
	}

	// The callee's early offer: answered here while the caller cannot
	// take it (no 100rel, or our answer not acknowledged), with the
	// formats the caller offered too; then relayed to the caller.
	res = update(c.b, c.b.localTag, testSDP(30002, 2, "sendonly", 8, 0, 101))
	if res.StatusCode != 200 || len(res.Body()) == 0 {
		t.Fatalf("callee's early offer, caller not ready: %d with %d bytes, want 200 with our answer", res.StatusCode, len(res.Body()))
	}
	checkRecvonly(t, "local answer to the callee", res.Body())
	if ans, _ := sdp.Parse(res.Body()); ans != nil {
		st, _ := sdp.AudioStream(ans)
		if len(st.Codecs) != 2 || st.Codecs[0].PayloadType != 8 || st.Codecs[1].PayloadType != 0 {
			t.Errorf("local answer codecs %v, want PCMA and PCMU (telephone-event was not in the caller's offer)", st.Codecs)
		}
		if st.RTP.Port() != c.media.B().LocalAddr().Port() {
			t.Errorf("local answer port %d, want the relay's %d", st.RTP.Port(), c.media.B().LocalAddr().Port())
		}
	}
	if n := len(caller.requests()); n != 0 {
		t.Fatalf("caller got %d requests for a locally answered offer, want none", n)
	}
	c.relA.mu.Lock()
	c.relA.on, c.relA.update, c.relA.answered = true, true, true
	c.relA.mu.Unlock()
	res = update(c.b, c.b.localTag, testSDP(30002, 3, "sendonly", 0))
	if res.StatusCode != 200 || len(res.Body()) == 0 {
		t.Fatalf("callee's early offer: %d with %d bytes, want 200 with the answer", res.StatusCode, len(res.Body()))
	}
	checkRecvonly(t, "answer to the callee", res.Body())
	got = caller.requests()
	if len(got) != 1 || got[0].Method != sip.UPDATE || len(got[0].Body()) == 0 {
		t.Fatalf("caller got %v, want one UPDATE with SDP", got)
	}
	b.removeEarly(c)
	if res := update(c.b, c.b.localTag, ""); res.StatusCode != 481 {
		t.Errorf("UPDATE after the setup ended: %d, want 481", res.StatusCode)
	}
}

func checkRecvonly(t *testing.T, what string, body []byte) {
	t.Helper()
	sd, err := sdp.Parse(body)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if st.Direction.String() != "recvonly" {
		t.Errorf("%s: direction %v, want recvonly (the mirror of sendonly)", what, st.Direction)
	}
}

// TestRSeqPerEarlyDialog: each early dialog of a branch has its own RSeq
// space (RFC 3262 §3): RSeq 1 from a second To tag is new, a repeat in the
// same early dialog is not, nor one that skips a number (§4).
func TestRSeqPerEarlyDialog(t *testing.T) {
	var p prackState
	for _, tt := range []struct {
		tag  string
		rseq uint32
		want bool
	}{
		{"a", 1, true},
		{"b", 1, true}, // another early dialog (a fork downstream)
		{"a", 1, false},
		{"a", 2, true},
		{"b", 1, false},
		{"b", 2, true},
		{"b", 4, false}, // 3 missing: out of order
		{"b", 3, true},
	} {
		if got := p.seen(tt.tag, tt.rseq); got != tt.want {
			t.Errorf("seen(%q, %d) = %v, want %v", tt.tag, tt.rseq, got, tt.want)
		}
	}
}
