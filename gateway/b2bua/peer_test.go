package b2bua

import (
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestForeignInDialog: an in-dialog request that names a live dialog by
// Call-ID and our tag, but whose From tag or source is not the dialog's
// peer's, gets 481 and is counted; the call stays up. The peer's own
// request passes (RFC 3261 §12.2.2).
func TestForeignInDialog(t *testing.T) {
	peer := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	c, _ := testCall(t, peer)
	b := c.gw
	cseq := 10
	send := func(method sip.RequestMethod, fromTag, src string) *sip.Response {
		cseq++
		raw := string(method) + " sip:gw@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + src + ";branch=z9hG4bKf" + strconv.Itoa(cseq) + "\r\n" +
			"From: <sip:u1000@example.com>;tag=" + fromTag + "\r\nTo: <sip:1001@example.com>;tag=" + c.a.localTag + "\r\n" +
			"Call-ID: " + c.a.callID + "\r\nCSeq: " + strconv.Itoa(cseq) + " " + string(method) + "\r\n" +
			"Content-Length: 0\r\n\r\n"
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		req := msg.(*sip.Request)
		req.SetSource(src)
		tx := &recTx{}
		switch method {
		case sip.BYE:
			b.onBye(req, tx)
		case sip.INFO:
			b.onInfo(req, tx)
		}
		if len(tx.got) == 0 {
			t.Fatalf("%s: no response", method)
		}
		return tx.got[len(tx.got)-1]
	}
	tests := []struct {
		name      string
		method    sip.RequestMethod
		fromTag   string
		src       string
		wantCount uint64
	}{
		{"BYE with a guessed From tag", sip.BYE, "guessed", "127.0.0.1:5060", 1},
		{"BYE from another host with the peer's tags", sip.BYE, c.a.remoteTag, "127.0.0.9:5060", 2},
		{"INFO from another host", sip.INFO, c.a.remoteTag, "127.0.0.9:5060", 3},
		{"BYE without From tag", sip.BYE, "", "127.0.0.1:5060", 4},
	}
	for _, tt := range tests {
		if res := send(tt.method, tt.fromTag, tt.src); res.StatusCode != 481 {
			t.Errorf("%s: %d, want 481", tt.name, res.StatusCode)
		}
		if got := b.ForeignRequests(); got != tt.wantCount {
			t.Errorf("%s: counted %d, want %d", tt.name, got, tt.wantCount)
		}
		if b.Len() != 1 {
			t.Fatalf("%s: the call ended", tt.name)
		}
	}
	// The caller itself, from another port of its address (NAT, a new
	// TCP connection): its INFO goes through.
	if res := send(sip.INFO, c.a.remoteTag, "127.0.0.1:6000"); res.StatusCode == 481 {
		t.Errorf("the peer's INFO: %d", res.StatusCode)
	}
	if res := send(sip.BYE, c.a.remoteTag, "127.0.0.1:5060"); res.StatusCode != 200 {
		t.Errorf("the peer's BYE: %d, want 200", res.StatusCode)
	}
	if got := b.ForeignRequests(); got != 4 {
		t.Errorf("the peer's requests counted as foreign: %d", got)
	}
}
