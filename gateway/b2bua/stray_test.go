package b2bua

import (
	"net"
	"slices"
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

// TestByeCutShortByShutdown: a BYE to a peer that never answers does not
// hold the gateway's shutdown for Timer F (32 s): once the gateway stops,
// the wait ends after shutdownByeTimeout.
func TestByeCutShortByShutdown(t *testing.T) {
	c, _ := testCall(t, newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" }))
	mute, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	target := sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: mute.LocalAddr().(*net.UDPAddr).Port}
	d := &dialog{callID: "mute", localTag: "a", remoteTag: "b", local: target, remote: target,
		contact: target, transport: "UDP", remoteTarget: target}
	done := make(chan struct{})
	go func() { defer close(done); c.sendBye(d) }()
	buf := make([]byte, 2048)
	_ = mute.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := mute.ReadFrom(buf); err != nil {
		t.Fatalf("no BYE sent: %v", err)
	}
	c.gw.stop()
	select {
	case <-done:
	case <-time.After(byeTimeout - 5*time.Second):
		t.Fatal("the BYE still waits for Timer F after shutdown")
	}
}

// TestBranchAccept: the first 2xx names the branch's dialog; a later 2xx
// with its To tag is a retransmission, one with another tag a second
// dialog from a fork downstream (RFC 3261 §13.2.2.4).
func TestBranchAccept(t *testing.T) {
	br := &branch{}
	for _, tc := range []struct {
		tag  string
		want bool
	}{{"a1", true}, {"a1", true}, {"b2", false}, {"a1", true}, {"", false}} {
		if got := br.accept(tc.tag); got != tc.want {
			t.Errorf("accept(%q) = %v, want %v", tc.tag, got, tc.want)
		}
	}
	if k1, k2 := strayKey("c", "f", "t1"), strayKey("c", "f", "t2"); k1 == k2 {
		t.Errorf("stray keys of two To tags are equal: %q", k1)
	}
}

// TestStray2xxHeldDialog: once the B leg's transaction is gone, a 2xx
// with the held dialog's To tag is a retransmission (ACK only); one with
// another To tag is a second dialog from a fork downstream: ACK and BYE
// it on that dialog, never on the call's (RFC 3261 §13.2.2.4).
func TestStray2xxHeldDialog(t *testing.T) {
	peer := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	c, _ := testCall(t, peer)
	b := c.gw
	b.removeDialogs(c)
	c.b.callID = b.newCallID()
	b.addDialogs(c)
	mk := func(toTag string) *sip.Response {
		raw := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n" +
			"From: <sip:u1000@example.com>;tag=" + c.b.localTag + "\r\nTo: <sip:2000@example.com>;tag=" + toTag + "\r\n" +
			"Call-ID: " + c.b.callID + "\r\nCSeq: 1 INVITE\r\nContact: <sip:2000@" + hostPort(peer.uri) + ">\r\n" +
			"Content-Length: 0\r\n\r\n"
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		res := msg.(*sip.Response)
		res.SetSource(hostPort(peer.uri))
		return res
	}
	b.OnStrayResponse(mk(c.b.remoteTag))
	b.OnStrayResponse(mk("fork2"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		var acks, byes []string
		for _, r := range peer.requests() {
			tag, _ := r.To().Params.Get("tag")
			switch r.Method {
			case sip.ACK:
				acks = append(acks, tag)
			case sip.BYE:
				byes = append(byes, tag)
			}
		}
		if len(acks) == 2 && len(byes) == 1 {
			// The two ACKs leave from their own goroutines: in any order.
			if !slices.Contains(acks, c.b.remoteTag) || !slices.Contains(acks, "fork2") || byes[0] != "fork2" {
				t.Fatalf("ACKs %v, BYEs %v: want ACK %s and fork2, BYE fork2", acks, byes, c.b.remoteTag)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ACKs %v, BYEs %v: want ACK %s and fork2, BYE fork2", acks, byes, c.b.remoteTag)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
