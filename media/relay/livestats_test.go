package relay

import (
	"testing"
	"time"
)

// TestSideLive: a far end sends 50 packets with every fifth sequence
// number skipped; the side's live view counts 40 in, 10 lost of 50
// expected, the payload type, and the other side counts as sent what it
// forwarded, with the bytes.
func TestSideLive(t *testing.T) {
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	if l := s.A().Live(); l.Packets != 0 || l.HavePayloadType || l.Remote != a.addr() || l.Local != s.A().LocalAddr() {
		t.Fatalf("before any packet: %+v", l)
	}
	sent, size := 0, 0
	for i := range 50 {
		p := a.packet()
		if i%5 == 4 {
			continue // a gap: RFC 3550 A.3 counts it lost
		}
		a.send(s.A().LocalAddr(), p)
		sent++
		size = len(p)
		if b.recvRTP(5*time.Second) == nil {
			t.Fatalf("packet %d not relayed", i)
		}
	}
	la, lb := s.A().Live(), s.B().Live()
	if la.Packets != uint64(sent) || la.Bytes != uint64(sent*size) || la.Expected != 49 || la.Lost != 9 {
		// the last skipped number (49) is after the last packet: not yet expected
		t.Errorf("A in: packets %d bytes %d expected %d lost %d; want %d, %d, 49, 9", la.Packets, la.Bytes, la.Expected, la.Lost, sent, sent*size)
	}
	if !la.HavePayloadType || la.PayloadType != 0 || la.ClockRate != 8000 {
		t.Errorf("A payload type %v %d clock %d", la.HavePayloadType, la.PayloadType, la.ClockRate)
	}
	if la.Source != a.addr() || la.SendTo != a.addr() {
		t.Errorf("A latched %v, sends to %v; want %v", la.Source, la.SendTo, a.addr())
	}
	if lb.SentPackets != uint64(sent) || lb.SentBytes != uint64(sent*size) || lb.Packets != 0 {
		t.Errorf("B out: %d packets %d bytes (in %d); want %d, %d", lb.SentPackets, lb.SentBytes, lb.Packets, sent, sent*size)
	}
	if la.SentPackets != 0 {
		t.Errorf("A sent %d, nothing came from B", la.SentPackets)
	}
	if la.LastPacket.IsZero() || time.Since(la.LastPacket) > time.Minute {
		t.Errorf("A last packet %v", la.LastPacket)
	}
}
