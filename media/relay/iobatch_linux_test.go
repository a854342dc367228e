//go:build linux && !relaygoroutines

package relay

import (
	"testing"
	"time"
)

// TestWorkerBatchesIO: with io_uring, a worker reads the datagrams of the
// sockets epoll reports ready together with one system call and sends what
// they relay with one more, instead of a recvfrom and a sendto each; every
// packet of 20 calls still reaches its phone from its own call's socket,
// both ways.
func TestWorkerBatchesIO(t *testing.T) {
	r := newTestRelay(t, Config{Threads: 1})
	const calls = 10
	var sess [calls]*Session
	var as, bs [calls]*endpoint
	for i := range calls {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		sess[i], as[i], bs[i] = s, newEndpoint(t), newEndpoint(t)
		s.A().SetRemote(Remote{RTP: as[i].addr()})
		s.B().SetRemote(Remote{RTP: bs[i].addr()})
	}
	r.io.mu.Lock()
	w := r.io.eng.workers[0]
	r.io.mu.Unlock()
	if w.io == nil {
		t.Skip("no io_uring here: the worker handles one socket at a time")
	}
	const rounds = 5
	for range rounds {
		for i, s := range sess { // queued on every socket before the worker wakes, mostly
			as[i].send(s.A().LocalAddr(), as[i].packet())
			bs[i].send(s.B().LocalAddr(), bs[i].packet())
		}
		for i, s := range sess {
			if p, from := bs[i].recv(5 * time.Second); p == nil || from != s.B().LocalAddr() {
				t.Fatalf("call %d: phone B got %d bytes from %v, want a packet from %v", i, len(p), from, s.B().LocalAddr())
			}
			if p, from := as[i].recv(5 * time.Second); p == nil || from != s.A().LocalAddr() {
				t.Fatalf("call %d: phone A got %d bytes from %v, want a packet from %v", i, len(p), from, s.A().LocalAddr())
			}
		}
	}
	for i, s := range sess {
		if a, b := s.Stats(); a.Forwarded != rounds || b.Forwarded != rounds {
			t.Errorf("call %d: forwarded %d and %d, want %d each way", i, a.Forwarded, b.Forwarded, rounds)
		}
	}
	// the worker's counters are its goroutine's: read them once it ended
	// (the last session's Close stops the workers)
	for _, s := range sess {
		_ = s.Close()
	}
	rc, sc := w.io.rcv.Counters(), w.io.snd.Counters()
	t.Logf("reads %+v, sends %+v", rc, sc)
	if rc.Sent == 0 || sc.Sent == 0 {
		t.Errorf("no packet went through the worker's batches (reads %+v, sends %+v)", rc, sc)
	}
	if sc.Sent > 0 && sc.Syscalls >= sc.Sent {
		t.Errorf("%d system calls for %d batched sends", sc.Syscalls, sc.Sent)
	}
}

// TestWorkerBatchHostileInput: a burst of datagrams on several calls'
// sockets at once, read in one batch: garbage, a bare RTP header, a
// datagram too large to be a packet (cut at the reader's buffer, counted
// invalid, never relayed cut), a 1,600-byte packet (relayed whole),
// replays of one packet (relayed, as a relay does), and a flood; the
// relay keeps relaying every call.
func TestWorkerBatchHostileInput(t *testing.T) {
	r := newTestRelay(t, Config{Threads: 1})
	const calls = 4
	var sess [calls]*Session
	var as, bs [calls]*endpoint
	for i := range calls {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		sess[i], as[i], bs[i] = s, newEndpoint(t), newEndpoint(t)
		_ = bs[i].conn.SetReadBuffer(4 << 20)
		s.A().SetRemote(Remote{RTP: as[i].addr()})
		s.B().SetRemote(Remote{RTP: bs[i].addr()})
	}
	big := as[0].packet()
	big = append(big[:12], make([]byte, 1600-12)...)
	huge := append(as[0].packet()[:12], make([]byte, maxPacket+500)...)
	for i, s := range sess {
		to := s.A().LocalAddr()
		as[i].send(to, []byte("INVITE sip:x SIP/2.0\r\n"))
		as[i].send(to, make([]byte, 12))
		as[i].send(to, huge)
		p := as[i].packet()
		as[i].send(to, p)
		as[i].send(to, p) // replayed
		big[2], big[3] = 0xff, byte(i)
		as[i].send(to, big)
	}
	// every call gets its two copies of the packet and the 1,600-byte one,
	// whole; nothing cut
	for i := range sess {
		sizes := map[int]int{}
		for range 3 {
			p, _ := bs[i].recv(5 * time.Second)
			if p == nil {
				t.Fatalf("call %d: got %v, want 2 packets and the 1,600-byte one", i, sizes)
			}
			sizes[len(p)]++
		}
		if sizes[1600] != 1 || sizes[len(big)] != 1 {
			t.Errorf("call %d: sizes relayed %v", i, sizes)
		}
		for _, n := range []int{maxPacket, len(huge)} {
			if sizes[n] != 0 {
				t.Errorf("call %d: a cut datagram of %d bytes relayed", i, n)
			}
		}
		if st := sess[i].A().Stats(); st.Invalid < 3 {
			t.Errorf("call %d: %d invalid datagrams counted, want 3 (garbage, bare header, oversized)", i, st.Invalid)
		}
	}
	// a flood on one call does not stop the others
	for range 2000 {
		as[0].send(sess[0].A().LocalAddr(), []byte("flood"))
	}
	for i := 1; i < calls; i++ {
		as[i].send(sess[i].A().LocalAddr(), as[i].packet())
		if p, _ := bs[i].recv(5 * time.Second); p == nil {
			t.Fatalf("call %d: nothing relayed during another call's flood", i)
		}
	}
}
