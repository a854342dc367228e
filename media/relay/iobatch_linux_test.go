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
