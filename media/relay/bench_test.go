package relay

import (
	"testing"
	"time"
)

// BenchmarkRelayRTP measures one G.711 packet through the relay, lock-step
// (send, relay, receive). allocs/op counts the whole process: the relay's
// packet path allocates nothing.
func BenchmarkRelayRTP(b *testing.B) {
	r, err := New(Config{ListenIP: loopback, PortMin: 19000, PortMax: 19099})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	s, err := r.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	ea, eb := newEndpoint(b), newEndpoint(b)
	s.A().SetRemote(Remote{RTP: ea.addr()})
	s.B().SetRemote(Remote{RTP: eb.addr()})
	pkt := ea.packet()
	to := s.A().LocalAddr()
	buf := make([]byte, 2048)
	_ = eb.conn.SetReadDeadline(time.Now().Add(time.Hour))
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for i := range b.N {
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		if _, err := ea.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := eb.conn.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if st := s.A().Stats(); st.Forwarded != uint64(b.N) {
		b.Fatalf("forwarded %d of %d", st.Forwarded, b.N)
	}
}

// BenchmarkSideInput measures the relay's own work for one RTP packet of a
// latched stream (latching checks, counters, RFC 3550 statistics), without
// the system calls around it.
func BenchmarkSideInput(b *testing.B) {
	r, err := New(Config{ListenIP: loopback, PortMin: 19100, PortMax: 19199, LearnWindow: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	s, err := r.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	ea, eb := newEndpoint(b), newEndpoint(b)
	s.A().SetRemote(Remote{RTP: ea.addr()})
	s.B().SetRemote(Remote{RTP: eb.addr()})
	pkt := ea.packet()
	src := ea.addr()
	s.A().input(pkt, src, false) // latches; the window closes before the loop
	time.Sleep(2 * time.Millisecond)
	s.A().input(pkt, src, false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		if _, _, ok := s.A().input(pkt, src, false); !ok {
			b.Fatal("not forwarded")
		}
	}
}
