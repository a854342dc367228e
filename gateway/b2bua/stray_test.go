package b2bua

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// forged2xx is a 200 to an INVITE with callID that names third in its
// Contact and Record-Route, as it arrives from src.
func forged2xx(t *testing.T, callID string, src, third sip.Uri) *sip.Response {
	t.Helper()
	raw := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n" +
		"From: <sip:u1000@example.com>;tag=ours\r\nTo: <sip:2000@example.com>;tag=theirs\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:victim@" + hostPort(third) + ">\r\nRecord-Route: <sip:" + hostPort(third) + ";lr>\r\n" +
		"Content-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	res := msg.(*sip.Response)
	res.SetSource(hostPort(src))
	return res
}

// TestStray2xxForged: a 2xx for a Call-ID we did not make is ignored and
// counted; one for a Call-ID of ours is ACKed and BYEd towards its
// source, never towards the host its Contact and Record-Route name.
func TestStray2xxForged(t *testing.T) {
	c, _ := testCall(t, newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" }))
	b := c.gw
	src := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	third := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })

	b.OnStrayResponse(forged2xx(t, "not-ours@attacker", src.uri, third.uri))
	if got := b.StrayForeign(); got != 1 {
		t.Errorf("foreign stray 2xx counted %d, want 1", got)
	}

	b.OnStrayResponse(forged2xx(t, b.newCallID(), src.uri, third.uri))
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ack, bye bool
		for _, r := range src.requests() {
			ack = ack || r.Method == sip.ACK
			bye = bye || r.Method == sip.BYE
		}
		if ack && bye {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 2xx's source got ACK %v, BYE %v; want both", ack, bye)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := src.requests(); len(got) != 2 {
		t.Errorf("the source got %d requests, want ACK and BYE (the foreign 2xx made some)", len(got))
	}
	if got := third.requests(); len(got) != 0 {
		t.Errorf("the host the 2xx named got %d requests (%s), want none", len(got), got[0].Method)
	}
}
