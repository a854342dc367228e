//go:build linux && !relaygoroutines

package relay

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// A resting pair serves only a side on the address it is bound to: a side
// on another interface gets sockets of its own, never a pair bound on the
// wrong address.
func TestRestingPairsKeepTheirAddress(t *testing.T) {
	old := reuseAfter
	reuseAfter = 20 * time.Millisecond
	t.Cleanup(func() { reuseAfter = old })
	lan, pub := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	r := newTestRelay(t, Config{})
	s1, err := r.NewSessionOn(Endpoint{Bind: lan}, Endpoint{Bind: lan})
	if err != nil {
		t.Fatal(err)
	}
	_ = s1.Close()
	time.Sleep(3 * reuseAfter)
	s2, err := r.NewSessionOn(Endpoint{Bind: pub}, Endpoint{Bind: lan})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	if a, b := s2.A().LocalAddr().Addr(), s2.B().LocalAddr().Addr(); a != pub || b != lan {
		t.Fatalf("sides bound on %v and %v, want %v and %v", a, b, pub, lan)
	}
	if r.idleLen() != 1 {
		t.Fatalf("%d pairs resting, want 1 (the LAN pair B did not take)", r.idleLen())
	}
}

// A range with room for one session: when its pairs rest on one address, a
// session on another address still opens (a resting pair is closed and its
// port bound again), instead of ErrPortsExhausted.
func TestExhaustedRangeTakesPairsRestingElsewhere(t *testing.T) {
	lan, pub := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	base := testPortBase()
	r := newTestRelay(t, Config{PortMin: base, PortMax: base + 3})
	s1, err := r.NewSessionOn(Endpoint{Bind: lan}, Endpoint{Bind: lan})
	if err != nil {
		t.Fatal(err)
	}
	_ = s1.Close()
	s2, err := r.NewSessionOn(Endpoint{Bind: pub}, Endpoint{Bind: pub})
	if err != nil {
		t.Fatalf("a session on another address with every pair resting: %v", err)
	}
	if s2.A().LocalAddr().Addr() != pub || s2.B().LocalAddr().Addr() != pub {
		t.Fatalf("bound on %v / %v", s2.A().LocalAddr(), s2.B().LocalAddr())
	}
	if _, err := r.NewSession(); err == nil {
		t.Fatal("a second session in a range of one")
	}
	_ = s2.Close()
	if r.idleLen() != 2 {
		t.Fatalf("%d pairs resting, want 2", r.idleLen())
	}
}

// Config.Threads sets the number of epoll workers; with one, every session
// is served by it, concurrently.
func TestThreads(t *testing.T) {
	for _, n := range []int{1, 3} {
		r := newTestRelay(t, Config{Threads: n})
		var sessions []*Session
		for range 6 {
			s, err := r.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			sessions = append(sessions, s)
		}
		r.io.mu.Lock()
		got := len(r.io.eng.workers)
		r.io.mu.Unlock()
		if got != n {
			t.Fatalf("Threads %d: %d workers", n, got)
		}
		var wg sync.WaitGroup
		for _, s := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, b := newEndpoint(t), newEndpoint(t)
				s.A().SetRemote(Remote{RTP: a.addr()})
				s.B().SetRemote(Remote{RTP: b.addr()})
				for range 5 {
					a.send(s.A().LocalAddr(), a.packet())
					if b.recvRTP(2*time.Second) == nil {
						t.Errorf("Threads %d: a packet lost", n)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
