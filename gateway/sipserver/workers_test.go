package sipserver

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// goid is the running goroutine's id, from its stack header.
func goid() uint64 {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	s, _, _ = bytes.Cut(s, []byte(" "))
	id, _ := strconv.ParseUint(string(s), 10, 64)
	return id
}

// alive reports whether goroutine id still exists.
func alive(id uint64) bool {
	buf := make([]byte, 1<<20)
	return bytes.Contains(buf[:runtime.Stack(buf, true)], fmt.Appendf(nil, "goroutine %d [", id))
}

// TestHandlersRunOnKeptGoroutines sends requests one after the other: they
// are handled on the same goroutine (whose stack has grown already), not
// on a fresh one each as sipgo starts them; Close ends that goroutine.
func TestHandlersRunOnKeptGoroutines(t *testing.T) {
	var mu sync.Mutex
	ids := map[uint64]int{}
	s, udp, _ := startServer(t, Limits{}, func(s *Server) {
		s.Handle(sip.MESSAGE, func(req *sip.Request, tx sip.ServerTransaction) {
			mu.Lock()
			ids[goid()]++
			mu.Unlock()
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	c := attacker(t, "udp", udp)
	const n = 20
	for i := range n {
		if _, err := c.Write([]byte(request("MESSAGE", "UDP", fmt.Sprintf("z9hG4bK-seq%d", i)))); err != nil {
			t.Fatal(err)
		}
		if got := statusOf(readStatus(t, c)); got != "SIP/2.0 200 OK" {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	mu.Lock()
	got := len(ids)
	var any uint64
	for id := range ids {
		any = id
	}
	mu.Unlock()
	t.Logf("%d requests on %d goroutines", n, got)
	// The answer goes out before the worker is idle again, so the next
	// request may find it still busy and start another: a few workers,
	// not one per request (on a loaded machine, more than one or two).
	if got > n/4 {
		t.Fatalf("%d sequential requests ran on %d goroutines, want them on a few kept ones", n, got)
	}
	s.Close()
	if alive(any) {
		t.Fatalf("handler goroutine %d outlived Close", any)
	}
}

// TestConcurrentHandlersEachGetAGoroutine holds several handlers at once
// (an INVITE handler runs for its call's life): none waits for another.
func TestConcurrentHandlersEachGetAGoroutine(t *testing.T) {
	const n = 4
	started := make(chan struct{}, n)
	release := make(chan struct{})
	_, udp, _ := startServer(t, Limits{}, func(s *Server) {
		s.Handle(sip.MESSAGE, func(req *sip.Request, tx sip.ServerTransaction) {
			started <- struct{}{}
			<-release
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	c := attacker(t, "udp", udp)
	for i := range n {
		if _, err := c.Write([]byte(request("MESSAGE", "UDP", fmt.Sprintf("z9hG4bK-held%d", i)))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d handlers started while the others were held", i, n)
		}
	}
	close(release)
	for range n {
		if got := statusOf(readStatus(t, c)); got != "SIP/2.0 200 OK" {
			t.Fatalf("held request answered %q", got)
		}
	}
}

// deep uses about n KiB of stack.
//
//go:noinline
func deep(n int) byte {
	var pad [1024]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[n%len(pad)]
}

// BenchmarkHandlerStack runs a handler that needs 32 KiB of stack (the
// B2BUA's INVITE handler needs several times the starting stack) the way
// sipgo does, on a fresh goroutine per request (the anchor), and on the
// kept workers; with -v it prints the ratio:
// go test -run X -bench HandlerStack -v ./gateway/sipserver/
func BenchmarkHandlerStack(b *testing.B) {
	h := func(*sip.Request, sip.ServerTransaction) { deep(32) }
	var fresh, kept time.Duration
	b.Run("fresh", func(b *testing.B) {
		done := make(chan struct{})
		start := time.Now()
		for range b.N {
			go func() { h(nil, nil); done <- struct{}{} }()
			<-done
		}
		fresh = time.Since(start) / time.Duration(b.N)
	})
	b.Run("kept", func(b *testing.B) {
		w := newWorkers()
		defer w.stop()
		done := make(chan struct{})
		start := time.Now()
		for range b.N {
			go func() { w.run(h, nil, nil); done <- struct{}{} }()
			<-done
		}
		kept = time.Since(start) / time.Duration(b.N)
	})
	if fresh > 0 {
		b.Logf("per request: fresh goroutine %v, kept worker %v: %.2fx", fresh, kept, float64(kept)/float64(fresh))
	}
}
