//go:build linux && !relaygoroutines

package relay

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// batchFarEnd is a batched in-process far end: it holds packets back per
// batch and counts them delivered only when that batch is flushed.
type batchFarEnd struct {
	mu        sync.Mutex
	held      map[int][]uint16 // sequence numbers held back, per batch
	flushed   []uint16
	noBatch   int // packets handed over with NoBatch
	flushes   int
	emptyOnes int // flushes of a batch with nothing held
}

func (f *batchFarEnd) packet(pkt []byte, batch int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq := binary.BigEndian.Uint16(pkt[2:4])
	if batch == NoBatch {
		f.noBatch++
		f.flushed = append(f.flushed, seq)
		return
	}
	f.held[batch] = append(f.held[batch], seq)
}

func (f *batchFarEnd) Flush(batch int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes++
	if len(f.held[batch]) == 0 {
		f.emptyOnes++
	}
	f.flushed = append(f.flushed, f.held[batch]...)
	delete(f.held, batch)
}

// TestBatchEndpoint: what a relay worker hands to a batched in-process far
// end carries the worker's batch number, and each batch is flushed once
// the worker's ready sockets are handled: every packet a phone sends in a
// burst comes out of a Flush, none stays held, and the far end is flushed
// once per batch, not once per packet.
func TestBatchEndpoint(t *testing.T) {
	r := newTestRelay(t, Config{Threads: 2})
	var f batchFarEnd
	f.held = map[int][]uint16{}
	const calls, burst = 8, 40
	var phones []*endpoint
	for range calls {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		phone := newEndpoint(t)
		s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 9)}) // the leg's SDP: nothing listens
		s.B().SetRemote(Remote{RTP: phone.addr()})
		s.A().SetBatchEndpoint(f.packet, &f)
		phones = append(phones, phone)
		for range burst {
			phone.send(s.B().LocalAddr(), phone.packet())
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		got, held := len(f.flushed), len(f.held)
		f.mu.Unlock()
		if got == calls*burst && held == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d packets flushed, %d batches still held", got, calls*burst, held)
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Logf("%d packets in %d flushes", len(f.flushed), f.flushes)
	if f.noBatch != 0 {
		t.Errorf("%d packets from a worker came without a batch number", f.noBatch)
	}
	if f.emptyOnes != 0 {
		t.Errorf("%d flushes of a batch the far end got nothing for", f.emptyOnes)
	}
	if f.flushes > len(f.flushed) {
		t.Errorf("%d flushes for %d packets", f.flushes, len(f.flushed))
	}
}

// TestBatchEndpointInput: a batched far end reached through Side.Input
// (another leg's packet, on that leg's goroutine, which no worker
// flushes) gets it with NoBatch, to send at once.
func TestBatchEndpointInput(t *testing.T) {
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var f batchFarEnd
	f.held = map[int][]uint16{}
	s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 9)})
	s.B().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 11)})
	s.A().SetBatchEndpoint(f.packet, &f)
	in := newEndpoint(t) // only to make packets
	if !s.B().Input(in.packet()) {
		t.Fatal("Input not sent on")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noBatch != 1 || len(f.held) != 0 {
		t.Fatalf("NoBatch packets %d, held %v: want the packet handed over to send at once", f.noBatch, f.held)
	}
}

// Side.Input (the WebRTC fast path's packets from a browser, out of the
// other side's socket) does not allocate.
func TestInputNoAllocs(t *testing.T) {
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	phone := newEndpoint(t)
	_ = phone.conn.SetReadBuffer(1 << 20)
	s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 9)})
	s.B().SetRemote(Remote{RTP: phone.addr()})
	s.A().SetEndpoint(func([]byte) {})
	in := newEndpoint(t)
	pkt := in.packet()
	buf := make([]byte, 2048)
	_ = phone.conn.SetReadDeadline(time.Now().Add(time.Minute))
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		i++
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		if !s.A().Input(pkt) {
			t.Fatal("Input not sent on")
		}
		if _, _, err := phone.conn.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per packet", allocs)
	}
}
