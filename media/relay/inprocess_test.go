package relay

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestInProcessEndpoint: a side whose far end is in this process (the
// WebRTC leg) gets its RTP through SetEndpoint, not a socket, and its
// Input goes out of the other side to the phone, with the counters of a
// packet from the network; after Close, Input sends nothing.
func TestInProcessEndpoint(t *testing.T) {
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	phone := newEndpoint(t)
	// the in-process far end's SDP address: nothing listens there
	leg := netip.AddrPortFrom(loopback, 9)
	s.A().SetRemote(Remote{RTP: leg})
	s.B().SetRemote(Remote{RTP: phone.addr()})
	var mu sync.Mutex
	var got [][]byte
	s.A().SetEndpoint(func(pkt []byte) {
		mu.Lock()
		got = append(got, append([]byte(nil), pkt...))
		mu.Unlock()
	})

	// phone -> B -> A's endpoint
	for range 5 {
		phone.send(s.B().LocalAddr(), phone.packet())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint got %d of 5 packets", n)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// endpoint -> A.Input -> B -> phone
	in := newEndpoint(t) // only to make packets
	for i := range 5 {
		if !s.A().Input(in.packet()) {
			t.Fatalf("Input %d not sent on", i)
		}
		p := phone.recvRTP(5 * time.Second)
		if p == nil {
			t.Fatalf("phone got nothing for Input %d", i)
		}
	}
	a, b := s.Stats()
	if a.Packets != 5 || a.Forwarded != 5 || b.Forwarded != 5 || a.Strangers != 0 {
		t.Errorf("stats A %+v B %+v: want 5 accepted and forwarded each way", a, b)
	}
	if !s.A().Input(in.packet()) {
		t.Fatal("Input before Close not sent")
	}
	_ = phone.recvRTP(5 * time.Second)
	_ = s.Close()
	if s.A().Input(in.packet()) {
		t.Error("Input after Close was sent")
	}
}
