package srtpmux

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

// TestSendBatch: packets added to a batch leave only when it is flushed
// (or when it is full), in order, and decrypt at the peer to what was
// added; NoBatch (-1) and numbers past the Mux's batches send at once.
func TestSendBatch(t *testing.T) {
	client, server := handshake(t, dtls.SRTP_AEAD_AES_128_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	const n = batchLen + 36 // one full batch sent on the way, the rest by Flush
	for i := range n {
		pkt := rtpPacket(uint16(1000+i), 0x5e, byte(i))
		orig := append([]byte(nil), pkt...)
		if err := server.s.SendBatch(pkt, 3); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pkt, orig) {
			t.Fatal("SendBatch changed the caller's packet")
		}
	}
	waitFor(t, "the full batch", func() bool { return len(client.received()) == batchLen })
	time.Sleep(50 * time.Millisecond)
	if got := len(client.received()); got != batchLen {
		t.Fatalf("%d packets arrived before Flush, want the %d of the full batch", got, batchLen)
	}
	server.m.Flush(3)
	waitFor(t, "every packet", func() bool { return len(client.received()) == n })
	for i, pkt := range client.received() {
		if !bytes.Equal(pkt, rtpPacket(uint16(1000+i), 0x5e, byte(i))) {
			t.Fatalf("packet %d decrypted to %x", i, pkt[:16])
		}
	}
	for _, b := range []int{-1, maxBatches} {
		if err := server.s.SendBatch(rtpPacket(uint16(2000+b), 0x5e, 1), b); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the unbatched packets", func() bool { return len(client.received()) == n+2 })
	if st := server.s.Stats(); st.Out != n+2 {
		t.Errorf("stream counted %d out, want %d", st.Out, n+2)
	}
	if c := server.m.Counters(); c.SendFailed != 0 {
		t.Errorf("%d sends failed", c.SendFailed)
	}
	// a closed stream adds nothing
	server.s.Close()
	if err := server.s.SendBatch(rtpPacket(3000, 0x5e, 1), 3); err != ErrNotArmed {
		t.Fatalf("SendBatch on a closed stream: %v, want ErrNotArmed", err)
	}
}

// TestFastPathNoAllocs: the fast path's packet path does not allocate:
// encrypting into a batch and the sendmmsg of Flush, and at the peer the
// recvmmsg, demultiplexing, decryption and delivery.
func TestFastPathNoAllocs(t *testing.T) {
	client, server := handshake(t, dtls.SRTP_AEAD_AES_128_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	client.counting.Store(true)
	got := &client.delivered
	pkt := rtpPacket(1, 0x5e, 7)
	seq := uint16(1)
	allocs := testing.AllocsPerRun(100, func() {
		want := got.Load() + 4
		for range 4 {
			seq++
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			if err := server.s.SendBatch(pkt, 0); err != nil {
				t.Fatal(err)
			}
		}
		server.m.Flush(0)
		for got.Load() < want {
			time.Sleep(50 * time.Microsecond)
		}
	})
	// AllocsPerRun counts the whole process: both readers included
	if allocs != 0 {
		t.Fatalf("%.1f allocations per batch of 4", allocs)
	}
}

// TestSendBatchDualStack: a Mux on the wildcard address is a dual-stack
// IPv6 socket (Go's choice), so its batches must write IPv4 peers as
// IPv4-mapped IPv6 sockaddrs; they arrive.
func TestSendBatchDualStack(t *testing.T) {
	m, err := Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 0), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sink, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	b := m.batch(0)
	b.mu.Lock()
	b.pkts[0], b.to[0] = []byte("hello"), sink.LocalAddr().(*net.UDPAddr).AddrPort()
	b.n = 1
	m.flushLocked(b)
	b.mu.Unlock()
	_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _, err := sink.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v (socket v6 %v)", buf[:n], err, m.v6)
	}
}

// TestHandle: a datagram the caller read itself (from a socket sharing
// the Mux's port) and hands to Handle is treated as the reader would: the
// peer's SRTP is decrypted and delivered, a tampered copy is refused
// (counted bad, never delivered), anything else goes to the slow path.
func TestHandle(t *testing.T) {
	client, server := handshake(t, dtls.SRTP_AEAD_AES_128_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	sink, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	// the client's SRTP, captured on the way instead of reaching the server
	if err := client.s.Arm(sink.LocalAddr().(*net.UDPAddr).AddrPort(), true); err != nil {
		t.Fatal(err)
	}
	want := rtpPacket(42, 0xc1, 9)
	if err := client.s.Send(append(make([]byte, 0, 1500), want...)); err != nil {
		t.Fatal(err)
	}
	_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := sink.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	srtpPkt := buf[:n]
	tampered := append([]byte(nil), srtpPkt...)
	tampered[20] ^= 1
	before := server.m.Counters()
	server.m.Handle(tampered, client.m.LocalAddr())
	server.m.Handle(srtpPkt, client.m.LocalAddr())
	server.m.Handle([]byte{0, 1, 0, 0}, client.m.LocalAddr()) // STUN-like: the slow path's
	got := server.received()
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("delivered %d packets (%x), want the one decrypted", len(got), got)
	}
	after := server.m.Counters()
	if st := server.s.Stats(); st.Bad != 1 || st.In != 1 {
		t.Errorf("stream stats %+v, want 1 in and 1 bad", st)
	}
	if after.ToPion != before.ToPion+1 {
		t.Errorf("slow path got %d datagrams, want 1", after.ToPion-before.ToPion)
	}
}
