package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Gaps the audit of issue 11 found (session 8): requirements without a
// test against the running binary that fails when the behaviour breaks.

// reliable1xx is a reliable provisional (RFC 3262 §3) of the rawPBX to
// req in the early dialog toTag with rseq.
func reliable1xx(req string, code int, reason, toTag, contact string, rseq int) string {
	r := response(req, code, reason, toTag, contact, "")
	return strings.Replace(r, "Content-Length:", fmt.Sprintf("Require: 100rel\r\nRSeq: %d\r\nContent-Length:", rseq), 1)
}

// TestRSeqPerEarlyDialogFromPBX: a PBX that forks behind its trunk sends
// two reliable 180s for the gateway's INVITE, from two early dialogs
// (To tags e1 and e2), each starting its own RSeq space at 1 (RFC 3262
// §3: RSeq is per early dialog). The gateway PRACKs both, each in its
// own early dialog with RAck 1 (the second is no retransmission of the
// first), and takes a second reliable 180 of e1 (RSeq 2).
func TestRSeqPerEarlyDialogFromPBX(t *testing.T) {
	pbx := newRawPBX(t, "127.0.0.2")
	g := startGateway(t, rawTrunkConfig(pbx.port(), ""))
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "2000", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()
	inv, from := pbx.next(5*time.Second, "INVITE")
	if inv == "" {
		t.Fatal("the trunk got no INVITE")
	}
	contact := fmt.Sprintf("sip:2000@127.0.0.2:%d", pbx.port())
	prack := func(tag string, rseq int) {
		t.Helper()
		want := fmt.Sprintf("%d %s", rseq, header(inv, "CSeq"))
		for {
			m, at := pbx.next(3*time.Second, "PRACK")
			if m == "" {
				t.Fatalf("no PRACK of the reliable 180 of early dialog %s (RSeq %d)\n%s", tag, rseq, g.log.String())
			}
			if !hasTag(m, tag) {
				t.Logf("PRACK in another dialog: %s", header(m, "To"))
				continue
			}
			if got := header(m, "RAck"); got != want {
				t.Fatalf("PRACK in %s: RAck %q, want %q", tag, got, want)
			}
			pbx.send(response(m, 200, "OK", "", "", ""), at)
			return
		}
	}
	pbx.send(reliable1xx(inv, 180, "Ringing", "e1", contact, 1), from)
	prack("e1", 1)
	pbx.send(reliable1xx(inv, 180, "Ringing", "e2", contact, 1), from)
	prack("e2", 1)
	pbx.send(reliable1xx(inv, 180, "Ringing", "e1", contact, 2), from)
	prack("e1", 2)

	pbx.send(response(inv, 200, "OK", "e2", contact, pbxSDP), from)
	if ack, _ := pbx.next(3*time.Second, "ACK"); ack == "" || !hasTag(ack, "e2") {
		t.Fatalf("no ACK in the answered dialog e2: %q", ack)
	}
	if err := <-answered; err != nil {
		t.Fatalf("caller not answered: %v", err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	byeDone := make(chan error, 1)
	go func() { byeDone <- s.Bye(ctx) }()
	bye, at := pbx.next(5*time.Second, "BYE")
	if bye == "" || !hasTag(bye, "e2") {
		t.Fatalf("the caller's BYE did not reach dialog e2: %q", bye)
	}
	pbx.send(response(bye, 200, "OK", "", "", ""), at)
	if err := <-byeDone; err != nil {
		t.Fatalf("BYE: %v", err)
	}
}
