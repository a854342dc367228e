//go:build linux && !relaygoroutines

package relay

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// The epoll engine starts its workers with the first session and stops them
// with the last: no goroutine and no fd (sockets, epoll instances) is left
// but the resting sockets, which Relay.Close closes.
// Not parallel: it counts the whole process's goroutines and fds.
func TestEpollEngineLeavesNothing(t *testing.T) {
	fds, gs := openFDs(t), runtime.NumGoroutine()
	r := newTestRelay(t, Config{})
	for round := range 3 {
		var sessions []*Session
		for range 8 {
			s, err := r.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, s)
		}
		if r.io.eng == nil || len(r.io.eng.workers) != runtime.GOMAXPROCS(0) {
			t.Fatalf("round %d: engine %+v, want %d workers", round, r.io.eng, runtime.GOMAXPROCS(0))
		}
		for _, s := range sessions {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if r.io.eng != nil || r.io.users != 0 {
			t.Fatalf("round %d: engine still running after the last session", round)
		}
		eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= gs })
		// The sockets of ended sessions rest for reuse (reuse_linux.go):
		// two per resting pair, and nothing else.
		if n, resting := openFDs(t), 2*r.idleLen(); n > fds+resting {
			t.Fatalf("round %d: %d fds open, %d before, %d resting", round, n, fds, resting)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n > fds {
		t.Fatalf("after Relay.Close: %d fds open, %d before", n, fds)
	}
}

// Sessions spread over the workers each relay their own stream, and closing
// sessions while packets flow neither blocks nor disturbs the others.
func TestEpollEngineManySessions(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	const n = 12
	type call struct {
		s    *Session
		a, b *endpoint
	}
	calls := make([]call, n)
	for i := range calls {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		c := call{s: s, a: newEndpoint(t), b: newEndpoint(t)}
		c.a.ssrc = uint32(i + 1)
		s.A().SetRemote(Remote{RTP: c.a.addr()})
		s.B().SetRemote(Remote{RTP: c.b.addr()})
		calls[i] = c
	}
	workers := map[*worker]bool{}
	for _, c := range calls {
		workers[c.s.io.w] = true
	}
	if want := min(n, runtime.GOMAXPROCS(0)); len(workers) != want {
		t.Fatalf("sessions on %d workers, want %d", len(workers), want)
	}

	// half the calls close while the other half keep sending
	var wg sync.WaitGroup
	for i := n / 2; i < n; i++ {
		c := calls[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				c.a.send(c.s.A().LocalAddr(), c.a.packet())
			}
			if err := c.s.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	for _, c := range calls[:n/2] {
		for k := range 10 {
			c.a.send(c.s.A().LocalAddr(), c.a.packet())
			p := c.b.recvRTP(time.Second)
			if p == nil || p.SSRC != c.a.ssrc {
				t.Fatalf("ssrc %d packet %d: got %v", c.a.ssrc, k, p)
			}
		}
	}
	wg.Wait()
	for _, c := range calls[:n/2] {
		if st := c.s.A().Stats(); st.Forwarded != 10 || st.Packets != 10 {
			t.Errorf("ssrc %d: %+v", c.a.ssrc, st)
		}
	}
}

// The packet path (event lookup, recvfrom, counters, sendto) does not
// allocate.
func TestEpollEngineNoAllocs(t *testing.T) {
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	pkt := a.packet()
	to := s.A().LocalAddr()
	buf := make([]byte, 2048)
	_ = b.conn.SetReadDeadline(time.Now().Add(time.Minute))
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		i++
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		if _, err := a.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.conn.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	})
	// AllocsPerRun counts the whole process, the test's own I/O included
	if allocs != 0 {
		t.Fatalf("%.1f allocations per packet", allocs)
	}
}

// An IPv6 relay (AF_INET6 sockets, IPv6 only, like net.ListenUDP("udp6"))
// relays between IPv6 far ends.
func TestEpollEngineIPv6(t *testing.T) {
	t.Parallel()
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	_ = probe.Close()
	base := testPortBase()
	r, err := New(Config{ListenIP: netip.IPv6Loopback(), PortMin: base, PortMax: base + 99})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.A().LocalAddr(); got != netip.AddrPortFrom(netip.IPv6Loopback(), uint16(s.A().Port())) {
		t.Fatalf("local address %v", got)
	}
	ends := [2]*endpoint{}
	for i := range ends {
		c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		ends[i] = &endpoint{t: t, conn: c, ssrc: uint32(7 + i), seq: 1, ts: 1}
	}
	s.A().SetRemote(Remote{RTP: ends[0].addr()})
	s.B().SetRemote(Remote{RTP: ends[1].addr()})
	ends[0].send(s.A().LocalAddr(), ends[0].packet())
	if p := ends[1].recvRTP(time.Second); p == nil || p.SSRC != 7 {
		t.Fatalf("A→B: %v", p)
	}
	ends[1].send(s.B().LocalAddr(), ends[1].packet())
	if b, from := ends[0].recv(time.Second); b == nil || from != s.A().LocalAddr() {
		t.Fatalf("B→A: %v from %v", b, from)
	}
	if st := s.A().Stats(); st.Source != ends[0].addr() {
		t.Fatalf("latched %v, want %v", st.Source, ends[0].addr())
	}
}

// An ended session's sockets rest, then serve the next session: the same
// ports, and what reached them while resting is drained, not counted or
// latched by the new call.
func TestEpollEngineReusesRestingSockets(t *testing.T) {
	old := reuseAfter
	reuseAfter = 50 * time.Millisecond
	t.Cleanup(func() { reuseAfter = old })
	r := newTestRelay(t, Config{})
	s1, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := s1.A().Port(), s1.B().Port()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if r.idleLen() != 2 {
		t.Fatalf("%d pairs resting, want 2", r.idleLen())
	}
	// A stray from the ended call reaches a resting socket.
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(pa))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	for range 5 {
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * reuseAfter)
	s2, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if min(s2.A().Port(), s2.B().Port()) != min(pa, pb) || max(s2.A().Port(), s2.B().Port()) != max(pa, pb) {
		t.Fatalf("new session on %d/%d, want the resting %d/%d", s2.A().Port(), s2.B().Port(), pa, pb)
	}
	side := s2.A() // the side that took port pa
	if side.Port() != pa {
		side = s2.B()
	}
	if r.idleLen() != 0 {
		t.Fatalf("%d pairs still resting", r.idleLen())
	}
	time.Sleep(50 * time.Millisecond)
	if st := side.Stats(); st.Packets != 0 || st.Ignored != 0 {
		t.Fatalf("the stray reached the new session: %+v", st)
	}
	// The reused sockets relay as new ones do.
	side.SetRemote(Remote{RTP: c.LocalAddr().(*net.UDPAddr).AddrPort()})
	for range 3 {
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "packets on the reused socket", func() bool { return side.Stats().Packets == 3 })
}

// Resting pairs are reused in random order, not the order calls ended in:
// an attacker who ends a call of his own cannot tell which call gets its
// ports next.
func TestEpollEngineReusesInRandomOrder(t *testing.T) {
	old := reuseAfter
	reuseAfter = 20 * time.Millisecond
	t.Cleanup(func() { reuseAfter = old })
	r := newTestRelay(t, Config{})
	var retired []int
	for range 10 {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		retired = append(retired, s.A().Port(), s.B().Port())
		_ = s.Close()
	}
	time.Sleep(3 * reuseAfter)
	var reused []int
	for range 10 {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		reused = append(reused, s.A().Port(), s.B().Port())
	}
	same := 0
	for i := range retired {
		if retired[i] == reused[i] {
			same++
		}
	}
	if same > 10 {
		t.Fatalf("resting pairs reused in the order they retired: %v", reused)
	}
}
