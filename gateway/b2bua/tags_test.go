package b2bua

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func tagInvite(t *testing.T, callID, fromTag, src string) *sip.Request {
	t.Helper()
	raw := "INVITE sip:2000@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + src + ";branch=z9hG4bKt\r\n" +
		"From: <sip:u1000@example.com>;tag=" + fromTag + "\r\nTo: <sip:2000@example.com>\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	req.SetSource(src)
	return req
}

// TestLocalTags: the 407 and the dialog of the retried INVITE share a
// tag; another source asking with the same Call-ID and From tag gets
// another one; tags of different dialogs differ; once the dialog formed,
// the tag is not given again.
func TestLocalTags(t *testing.T) {
	b := newTestB2BUA(Options{})
	first := tagInvite(t, "cid-1", "ft1", "127.0.0.1:5060")
	tag407 := b.localTag(first)
	if len(tag407) != 2*tagLen {
		t.Fatalf("tag %q: want %d hex digits", tag407, 2*tagLen)
	}
	if again := b.localTag(first); again != tag407 {
		t.Errorf("retransmission got %q, want %q", again, tag407)
	}
	if other := b.localTag(tagInvite(t, "cid-1", "ft1", "127.0.0.9:5060")); other == tag407 {
		t.Error("another host got the caller's tag for the same Call-ID and From tag")
	}
	retried := tagInvite(t, "cid-1", "ft1", "127.0.0.1:5060")
	if got := b.dialogTag(retried); got != tag407 {
		t.Errorf("the dialog's tag %q, want the 407's %q", got, tag407)
	}
	if after := b.localTag(retried); after == tag407 {
		t.Error("the dialog's tag is given again after the dialog formed")
	}
	if a, c := b.dialogTag(tagInvite(t, "x", "y", "127.0.0.1:1")), b.dialogTag(tagInvite(t, "x", "y", "127.0.0.1:1")); a == c {
		t.Error("two dialogs formed by the same Call-ID and From tag share a tag")
	}
}

// TestTagMemoryBounded: a flood of INVITEs keeps at most tagMemoryMax
// tags, the newest; an expired tag is not returned.
func TestTagMemoryBounded(t *testing.T) {
	var m tagMemory
	now := time.Now()
	first := m.get("k0", now)
	for i := 1; i < tagMemoryMax+100; i++ {
		m.get(fmt.Sprint("k", i), now)
	}
	if n := m.len(); n != tagMemoryMax {
		t.Fatalf("%d tags remembered, want %d", n, tagMemoryMax)
	}
	if got := m.get("k0", now); got == first {
		t.Error("the oldest tag survived the flood")
	}
	last := fmt.Sprint("k", tagMemoryMax+99)
	kept := m.get(last, now)
	if m.get(last, now.Add(tagMemoryTTL)) == kept {
		t.Error("an expired tag was given again")
	}
}
