package srtpmux

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/pion/dtls/v3"
)

// TestSealAndReadBatch: Seal encrypts what Send would send, without
// sending it (the caller sends it, here with a plain write), and the peer
// decrypts it; the peer's OnReadBatch hook runs on its reader after the
// packets of each batch were delivered, so a packet the callback held
// back is never left waiting for the next datagram.
func TestSealAndReadBatch(t *testing.T) {
	client, server := handshake(t, dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	var seen, batches atomic.Int64 // packets delivered when the hook last ran
	server.m.OnReadBatch(func(int) {
		seen.Store(int64(len(server.received())))
		batches.Add(1)
	})
	if _, _, err := newPeer(t).s.Seal(nil, rtpPacket(1, 1, 1)); !errors.Is(err, ErrNotArmed) {
		t.Errorf("Seal on an unarmed stream: %v", err)
	}
	buf := make([]byte, 0, 256)
	for i := range 30 {
		want := rtpPacket(uint16(700+i), 0xc1, byte(i))
		out, to, err := client.s.Seal(buf, want)
		if err != nil {
			t.Fatal(err)
		}
		if to != server.m.LocalAddr() {
			t.Fatalf("Seal's destination %v, want the peer %v", to, server.m.LocalAddr())
		}
		if len(out) <= len(want) || bytes.Contains(out, want[12:]) {
			t.Fatalf("packet %d not encrypted: %x", i, out)
		}
		if _, err := client.m.conn.WriteToUDPAddrPort(out, to); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "30 sealed packets delivered", func() bool { return len(server.received()) == 30 })
	waitFor(t, "the hook after the last delivery", func() bool { return seen.Load() == 30 })
	for i, pkt := range server.received() {
		if !bytes.Equal(pkt, rtpPacket(uint16(700+i), 0xc1, byte(i))) {
			t.Fatalf("packet %d decrypted to %x", i, pkt[:16])
		}
	}
	if c := client.s.Stats(); c.Out < 30 {
		t.Errorf("sealed packets not counted as sent: %+v", c)
	}
	t.Logf("%d read batches", batches.Load())
	// Handle (a datagram the owner read itself) ends a batch too
	out, to, err := client.s.Seal(nil, rtpPacket(800, 0xc1, 9))
	if err != nil {
		t.Fatal(err)
	}
	n0 := batches.Load()
	server.m.Handle(out, client.m.LocalAddr())
	if batches.Load() == n0 || seen.Load() != 31 || to != server.m.LocalAddr() {
		t.Errorf("Handle did not end its batch (batches %d → %d, delivered at the hook %d)", n0, batches.Load(), seen.Load())
	}
	server.m.OnReadBatch(nil)
}
