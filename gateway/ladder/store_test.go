package ladder

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/capture"
)

var (
	gwAddr     = netip.MustParseAddrPort("127.0.0.1:5060")
	callerAddr = netip.MustParseAddrPort("127.0.0.1:5070")
	calleeAddr = netip.MustParseAddrPort("127.0.0.1:5080")
	t0         = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
)

// msg builds a captured message from its text (the Head is scanned from
// it, as for the gateway's own output).
func msg(t *testing.T, at int, dir capture.Direction, remote netip.AddrPort, text string) *capture.Message {
	t.Helper()
	text = strings.ReplaceAll(strings.TrimLeft(text, "\n"), "\n", "\r\n")
	h, ok := capture.ScanHead([]byte(text))
	if !ok {
		t.Fatalf("not a SIP message: %q", text)
	}
	return &capture.Message{Time: t0.Add(time.Duration(at) * time.Millisecond), Dir: dir, Transport: "udp",
		Local: gwAddr, Remote: remote, Data: []byte(text), Head: h}
}

func invite(t *testing.T, at int, callID string, cseq int) *capture.Message {
	return msg(t, at, capture.In, callerAddr, fmt.Sprintf(`
INVITE sip:1001@gw SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK%d
From: <sip:1000@gw>;tag=a
To: <sip:1001@gw>
Call-ID: %s
CSeq: %d INVITE
Content-Length: 0

`, cseq, callID, cseq))
}

func response(t *testing.T, at int, dir capture.Direction, remote netip.AddrPort, callID string, cseq, code int, reason string) *capture.Message {
	return msg(t, at, dir, remote, fmt.Sprintf(`
SIP/2.0 %d %s
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK%d
From: <sip:1000@gw>;tag=a
To: <sip:1001@gw>;tag=b
Call-ID: %s
CSeq: %d INVITE
Content-Length: 0

`, code, reason, cseq, callID, cseq))
}

func TestLegsJoinedInTimeOrder(t *testing.T) {
	s := New(Options{})
	// The caller's INVITE and our 100 come before the B2BUA takes the
	// call on (they wait in the junk bucket).
	s.Capture(invite(t, 0, "A", 1))
	s.Capture(response(t, 1, capture.Out, callerAddr, "A", 1, 100, "Trying"))
	s.Link("A", "A")
	s.Link("A", "B") // the B leg, before its INVITE leaves
	s.Capture(msg(t, 2, capture.Out, calleeAddr, "INVITE sip:u@callee SIP/2.0\nCall-ID: B\nCSeq: 1 INVITE\nTo: <sip:u@callee>\n\n"))
	s.Capture(response(t, 3, capture.In, calleeAddr, "B", 1, 180, "Ringing"))
	s.Capture(response(t, 4, capture.Out, callerAddr, "A", 1, 180, "Ringing"))
	s.Capture(response(t, 5, capture.In, calleeAddr, "B", 1, 200, "OK"))
	s.Capture(response(t, 6, capture.Out, callerAddr, "A", 1, 200, "OK"))

	for _, id := range []string{"A", "B"} {
		l, ok := s.Get(id)
		if !ok {
			t.Fatalf("Get(%q): no ladder", id)
		}
		var got []string
		for _, m := range l.Messages {
			got = append(got, m.CallID+":"+m.Label())
		}
		want := "A:INVITE A:100 Trying B:INVITE B:180 Ringing A:180 Ringing B:200 OK A:200 OK"
		if strings.Join(got, " ") != want {
			t.Errorf("Get(%q) = %q, want %q", id, strings.Join(got, " "), want)
		}
		if l.ID != "A" || strings.Join(l.CallIDs, ",") != "A,B" || l.Status != 200 || l.From != "<sip:1000@gw>;tag=a" {
			t.Errorf("summary = %+v", l.Summary)
		}
	}
	v, _ := s.Get("A")
	view := v.View()
	if len(view.Parties) != 3 || view.Parties[0].Name != callerAddr.String() || !view.Parties[1].Gateway || view.Parties[2].Name != calleeAddr.String() {
		t.Fatalf("parties = %+v", view.Parties)
	}
	if a := view.Messages[2]; a.From != 1 || a.To != 2 || a.Leg != 1 {
		t.Errorf("B leg INVITE arrow = %+v, want gateway(1) -> callee(2) on leg 1", a)
	}
}

func TestStatusFollowsTheLatestAttempt(t *testing.T) {
	s := New(Options{})
	s.Capture(invite(t, 0, "A", 1))
	s.Capture(response(t, 1, capture.Out, callerAddr, "A", 1, 407, "Proxy Authentication Required"))
	s.Capture(invite(t, 2, "A", 2))
	s.Link("A", "A")
	if l, _ := s.Get("A"); l.Status != 0 {
		t.Errorf("status after the retried INVITE = %d, want 0 (in progress)", l.Status)
	}
	s.Capture(response(t, 3, capture.Out, callerAddr, "A", 2, 486, "Busy Here"))
	s.Capture(response(t, 4, capture.Out, callerAddr, "A", 2, 500, "late"))
	if l, _ := s.Get("A"); l.Status != 486 || l.Reason != "Busy Here" || l.Summary.Messages != 5 {
		t.Errorf("summary = %+v, want 486 Busy Here over 5 messages", l.Summary)
	}
}

func TestOldestCallEvicted(t *testing.T) {
	s := New(Options{Calls: 3})
	for i := range 5 {
		id := fmt.Sprintf("call-%d", i)
		s.Link(id, id)
		s.Link(id, id+"-b")
		s.Capture(invite(t, i, id, 1))
	}
	var ids []string
	for _, sm := range s.List() {
		ids = append(ids, sm.ID)
	}
	if got := strings.Join(ids, " "); got != "call-4 call-3 call-2" {
		t.Errorf("kept (newest first) %q, want call-4 call-3 call-2", got)
	}
	if _, ok := s.Get("call-0-b"); ok {
		t.Error("an evicted call's B leg still resolves")
	}
	st := s.Stats()
	if st.Evicted != 2 || st.Calls != 3 {
		t.Errorf("stats = %+v", st)
	}
	// A late message of an evicted call goes to the junk bucket, not to a
	// call.
	s.Capture(response(t, 10, capture.Out, callerAddr, "call-0", 1, 200, "OK"))
	if st := s.Stats(); st.Calls != 3 || st.JunkCallIDs != 1 {
		t.Errorf("after a late message: %+v", st)
	}
}

func TestByteBound(t *testing.T) {
	big := strings.Repeat("x", 10_000)
	s := New(Options{Bytes: 50_000})
	for i := range 10 {
		id := fmt.Sprintf("c%d", i)
		s.Link(id, id)
		m := invite(t, i, id, 1)
		m.Data = append(m.Data, big...)
		s.Capture(m)
	}
	st := s.Stats()
	if st.Bytes > 50_000 {
		t.Fatalf("bytes kept %d over the bound 50000", st.Bytes)
	}
	if st.Calls != 4 || st.Evicted != 6 {
		t.Errorf("stats = %+v, want the 4 newest calls of ~10 KiB each", st)
	}
	if _, ok := s.Get("c9"); !ok {
		t.Error("the newest call was evicted")
	}
	// One call bigger than the bound sheds its middle, not itself.
	s = New(Options{Bytes: 50_000})
	s.Link("one", "one")
	for i := range 20 {
		m := invite(t, i, "one", i+1)
		m.Data = append(m.Data, big...)
		s.Capture(m)
	}
	l, ok := s.Get("one")
	if !ok || s.Stats().Bytes > 50_000 || l.Omitted == 0 || l.Messages[0].CSeq != 1 || l.Messages[len(l.Messages)-1].CSeq != 20 {
		t.Errorf("one big call: kept %v, %d messages, omitted %d, stats %+v", ok, len(l.Messages), l.Omitted, s.Stats())
	}
}

func TestPerCallKeepsStartAndEnd(t *testing.T) {
	s := New(Options{PerCall: 10})
	s.Link("A", "A")
	for i := range 30 {
		s.Capture(invite(t, i, "A", i+1))
	}
	l, _ := s.Get("A")
	var seqs []string
	for _, m := range l.Messages {
		seqs = append(seqs, fmt.Sprint(m.CSeq))
	}
	if got := strings.Join(seqs, ","); got != "1,2,3,4,5,26,27,28,29,30" || l.Omitted != 20 {
		t.Errorf("kept CSeqs %s (omitted %d), want the first 5 and the last 5", got, l.Omitted)
	}
}

// A flood of INVITEs with fresh Call-IDs that no call claims (401/407
// scanners) must not evict the calls kept, and stays bounded itself.
func TestJunkFloodKeepsCalls(t *testing.T) {
	s := New(Options{Calls: 5, JunkCallIDs: 16, JunkBytes: 64 << 10})
	s.Capture(invite(t, 0, "real", 1))
	s.Link("real", "real")
	s.Link("real", "real-b")
	s.Capture(response(t, 1, capture.Out, callerAddr, "real", 1, 200, "OK"))
	for i := range 20_000 {
		s.Capture(invite(t, i, fmt.Sprintf("junk-%d", i), 1))
	}
	l, ok := s.Get("real")
	if !ok || len(l.Messages) != 2 || l.Status != 200 {
		t.Fatalf("the real call after the flood: %v %+v", ok, l.Summary)
	}
	st := s.Stats()
	if st.Calls != 1 || st.JunkCallIDs > 16 || st.JunkBytes > 64<<10 || st.JunkEvicted < 19_000 {
		t.Errorf("stats after the flood = %+v", st)
	}
	// The same Call-ID over and over (one INVITE retransmitted forever)
	// is bounded too.
	for i := range 10_000 {
		s.Capture(invite(t, i, "same", 1))
	}
	if st := s.Stats(); st.JunkBytes > 64<<10 {
		t.Errorf("junk bytes %d over the bound", st.JunkBytes)
	}
}

// Over streams the outgoing message is captured after the write returns;
// its answer may be in first. The ladder puts it back before its answer.
func TestCausalOrder(t *testing.T) {
	s := New(Options{})
	s.Link("A", "A")
	s.Link("A", "B")
	s.Capture(invite(t, 0, "A", 1))
	s.Capture(response(t, 2, capture.In, calleeAddr, "B", 1, 180, "Ringing"))
	s.Capture(response(t, 3, capture.In, calleeAddr, "B", 1, 200, "OK"))
	s.Capture(msg(t, 4, capture.Out, calleeAddr, "INVITE sip:u@callee SIP/2.0\nCall-ID: B\nCSeq: 1 INVITE\n\n")) // late
	s.Capture(msg(t, 5, capture.In, callerAddr, "ACK sip:gw SIP/2.0\nCall-ID: A\nCSeq: 1 ACK\nTo: <sip:1001@gw>;tag=b\n\n"))
	s.Capture(response(t, 6, capture.Out, callerAddr, "A", 1, 200, "OK")) // late: its ACK is in
	s.Capture(msg(t, 7, capture.Out, calleeAddr, "BYE sip:u@callee SIP/2.0\nCall-ID: B\nCSeq: 2 BYE\n\n"))
	l, _ := s.Get("A")
	var got []string
	for _, m := range l.Messages {
		got = append(got, m.CallID+":"+m.Label())
	}
	want := "A:INVITE B:INVITE B:180 Ringing B:200 OK A:200 OK A:ACK B:BYE"
	if strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", strings.Join(got, " "), want)
	}
	if !l.Messages[1].Time.Equal(l.Messages[2].Time) {
		t.Errorf("the late INVITE's time %v, want its answer's %v", l.Messages[1].Time, l.Messages[2].Time)
	}
}

func TestRegistersStayOut(t *testing.T) {
	s := New(Options{})
	s.Capture(msg(t, 0, capture.In, callerAddr, "REGISTER sip:gw SIP/2.0\nCall-ID: reg\nCSeq: 1 REGISTER\n\n"))
	s.Capture(msg(t, 1, capture.Out, callerAddr, "SIP/2.0 200 OK\nCall-ID: reg\nCSeq: 1 REGISTER\n\n"))
	if st := s.Stats(); st.JunkCallIDs != 0 {
		t.Errorf("REGISTER kept: %+v", st)
	}
}

func TestUnknownLadder(t *testing.T) {
	s := New(Options{})
	if _, ok := s.Get("nope"); ok {
		t.Error("Get of an unknown call succeeded")
	}
	s.Link("", "x")
	s.Link("x", "")
	s.Capture(&capture.Message{})
	if st := s.Stats(); st.Calls != 0 || st.JunkCallIDs != 0 {
		t.Errorf("stats = %+v", st)
	}
}
