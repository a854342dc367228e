//go:build linux && !relaygoroutines

package relay

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// TestInputBatch: packets that several calls' in-process far ends put in
// with InputBatch go out of each call's own B socket to its phone at the
// Flush, in one system call when io_uring is there; a session with a packet
// held does not close its sockets until the Flush; after Close, nothing is
// held.
func TestInputBatch(t *testing.T) {
	r := newTestRelay(t, Config{})
	b := NewInputBatch()
	defer b.Close()
	const calls = 5
	var sess [calls]*Session
	var phones [calls]*endpoint
	in := newEndpoint(t) // only to make packets
	for i := range calls {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		sess[i], phones[i] = s, newEndpoint(t)
		s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 9)})
		s.B().SetRemote(Remote{RTP: phones[i].addr()})
		s.A().SetEndpoint(func([]byte) {})
	}
	for round := range 3 {
		for i, s := range sess {
			if !s.A().InputBatch(in.packet(), b) {
				t.Fatalf("round %d: call %d's packet not taken", round, i)
			}
		}
		b.Flush()
		for i, s := range sess {
			pkt, from := phones[i].recv(5 * time.Second)
			if pkt == nil {
				t.Fatalf("round %d: phone %d got nothing", round, i)
			}
			if from != s.B().LocalAddr() {
				t.Errorf("round %d: phone %d's packet came from %v, not its call's B socket %v", round, i, from, s.B().LocalAddr())
			}
		}
	}
	for i, s := range sess {
		if a, _ := s.Stats(); a.Packets != 3 || a.Forwarded != 3 {
			t.Errorf("call %d: stats A %+v, want 3 accepted and forwarded", i, a)
		}
	}
	c := b.Counters()
	t.Logf("io_uring %v, %+v", b.Ring(), c)
	if c.Sent != 3*calls || c.Failed != 0 {
		t.Errorf("counters %+v, want %d sent", c, 3*calls)
	}
	if b.Ring() && c.Syscalls != 3 {
		t.Errorf("%d system calls for 3 flushes through io_uring", c.Syscalls)
	}

	// a held packet keeps its session's sockets open until the Flush
	s := sess[0]
	if !s.A().InputBatch(in.packet(), b) {
		t.Fatal("packet not taken")
	}
	closed := make(chan struct{})
	go func() { _ = s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while the batch held a packet of the session")
	case <-time.After(50 * time.Millisecond):
	}
	b.Flush()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waiting after the Flush")
	}
	if pkt, _ := phones[0].recv(5 * time.Second); pkt == nil {
		t.Error("the held packet was not sent at the Flush")
	}
	if s.A().InputBatch(in.packet(), b) {
		t.Error("InputBatch after Close took the packet")
	}
	if c := b.Counters(); c.Sent != 3*calls+1 {
		t.Errorf("counters %+v after Close", c)
	}
}

// More packets than a batch holds: the batch flushes itself, none is lost.
func TestInputBatchOverflows(t *testing.T) {
	r := newTestRelay(t, Config{})
	b := NewInputBatch()
	defer b.Close()
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	phone := newEndpoint(t)
	s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 9)})
	s.B().SetRemote(Remote{RTP: phone.addr()})
	s.A().SetEndpoint(func([]byte) {})
	in := newEndpoint(t)
	const n = 150
	for i := range n {
		if !s.A().InputBatch(in.packet(), b) {
			t.Fatalf("packet %d not taken", i)
		}
	}
	b.Flush()
	for i := range n {
		if pkt, _ := phone.recv(5 * time.Second); pkt == nil {
			t.Fatalf("phone got %d of %d packets", i, n)
		}
	}
}

// InputBatch and Flush (the fast path's packets towards the phones) do
// not allocate.
func TestInputBatchNoAllocs(t *testing.T) {
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := NewInputBatch()
	defer b.Close()
	phone := newEndpoint(t)
	_ = phone.conn.SetReadBuffer(1 << 20)
	s.A().SetRemote(Remote{RTP: netip.AddrPortFrom(loopback, 9)})
	s.B().SetRemote(Remote{RTP: phone.addr()})
	s.A().SetEndpoint(func([]byte) {})
	pkt := newEndpoint(t).packet()
	buf := make([]byte, 2048)
	_ = phone.conn.SetReadDeadline(time.Now().Add(time.Minute))
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		for range 2 {
			i++
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			if !s.A().InputBatch(pkt, b) {
				t.Fatal("packet not taken")
			}
		}
		b.Flush()
		for range 2 {
			if _, _, err := phone.conn.ReadFromUDPAddrPort(buf); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per flush of 2 packets", allocs)
	}
}
