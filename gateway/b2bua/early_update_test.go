package b2bua

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
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

// TestEarlyUpdate: an UPDATE in the caller's early dialog (RFC 3311 §5.1)
// is no longer 481: without SDP 200 with our Contact; an offer, which is
// not relayed to the callee's early dialog, 500 with a Retry-After of 0 to
// 10 s (§5.2). An UPDATE on an unknown dialog stays 481.
func TestEarlyUpdate(t *testing.T) {
	peer := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	c, _ := testCall(t, peer)
	b := c.gw
	b.removeDialogs(c)
	b.addEarly(c)
	update := func(tag, body string) *sip.Response {
		raw := "UPDATE sip:gw@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKupd\r\n" +
			"From: <sip:u1000@example.com>;tag=" + c.a.remoteTag + "\r\nTo: <sip:1001@example.com>;tag=" + tag + "\r\n" +
			"Call-ID: " + c.a.callID + "\r\nCSeq: 2 UPDATE\r\nContact: <sip:u1000@127.0.0.1:5099>\r\n"
		if body != "" {
			raw += "Content-Type: application/sdp\r\n"
		}
		raw += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		tx := &recTx{}
		b.onUpdate(msg.(*sip.Request), tx)
		if len(tx.got) == 0 {
			t.Fatal("no response")
		}
		return tx.got[len(tx.got)-1]
	}
	if res := update(c.a.localTag, ""); res.StatusCode != 200 || res.Contact() == nil {
		t.Errorf("UPDATE without SDP: %d, Contact %v; want 200 with Contact", res.StatusCode, res.Contact())
	}
	res := update(c.a.localTag, testSDP(30000, 2, "sendonly", 0))
	ra := res.GetHeader("Retry-After")
	if res.StatusCode != 500 || ra == nil || len(strings.TrimSpace(ra.Value())) > 2 {
		t.Errorf("UPDATE with SDP: %d, Retry-After %v; want 500 with 0-10", res.StatusCode, ra)
	}
	if res := update("other", ""); res.StatusCode != 481 {
		t.Errorf("UPDATE on an unknown dialog: %d, want 481", res.StatusCode)
	}
	if len(peer.requests()) != 0 {
		t.Errorf("callee got %d requests, want none", len(peer.requests()))
	}
}
