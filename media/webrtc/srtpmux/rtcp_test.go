package srtpmux

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
)

// TestRTCPHook: the peer's SRTCP reaches the stream's RTCP hook decrypted,
// with its arrival time, and still goes on to pion (the slow path); forged,
// tampered and replayed SRTCP from the peer's address, and SRTCP from a
// stranger, never reach the hook (RFC 3711 §3.4: authenticated, replay
// protected), the first three counted.
func TestRTCPHook(t *testing.T) {
	client, server := handshake(t, dtls.SRTP_AEAD_AES_128_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	var mu sync.Mutex
	var got [][]byte
	var ats []time.Time
	server.s.OnRTCP(func(pkt []byte, at time.Time) {
		mu.Lock()
		got, ats = append(got, pkt), append(ats, at)
		mu.Unlock()
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	rr := &rtcp.ReceiverReport{SSRC: 0xc1, Reports: []rtcp.ReceptionReport{{SSRC: 0x5e, LastSenderReport: 0x12345678, Delay: 655}}}
	plain, err := rr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// what the client's association sends: SRTCP, captured to replay
	client.s.mu.Lock()
	client.s.txMu.Lock()
	enc, err := client.s.tx.EncryptRTCP(nil, plain, nil)
	client.s.txMu.Unlock()
	client.s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	raw, to := client.m.conn, server.m.LocalAddr()
	before := time.Now()
	toPion := server.m.Counters().ToPion
	if _, err := raw.WriteToUDPAddrPort(enc, to); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the report at the hook", func() bool { return count() == 1 })
	waitFor(t, "the report at pion too", func() bool { return server.m.Counters().ToPion > toPion })
	mu.Lock()
	pkts, err := rtcp.Unmarshal(got[0])
	at := ats[0]
	mu.Unlock()
	if err != nil || len(pkts) != 1 {
		t.Fatalf("hook got %v, %v", pkts, err)
	}
	if r, ok := pkts[0].(*rtcp.ReceiverReport); !ok || r.Reports[0].LastSenderReport != 0x12345678 || r.Reports[0].Delay != 655 {
		t.Errorf("hook got %+v", pkts[0])
	}
	if at.Before(before) || time.Since(at) > time.Minute {
		t.Errorf("arrival time %v, sent at %v", at, before)
	}

	tampered := append([]byte(nil), enc...)
	tampered[10] ^= 1
	forged := append(append([]byte(nil), plain...), make([]byte, 20)...) // an index and a tag of zeros
	for _, b := range [][]byte{tampered, forged, enc /* replayed */} {
		if _, err := raw.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three refusals", func() bool { return server.s.rtcpBad.Load() == 3 })
	stranger, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	toPion = server.m.Counters().ToPion
	if _, err := stranger.WriteToUDPAddrPort(enc, to); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stranger's report at the slow path", func() bool { return server.m.Counters().ToPion > toPion })
	if n := count(); n != 1 {
		t.Errorf("the hook got %d reports, want only the good one", n)
	}
	// no hook: nothing decrypted, nothing counted
	server.s.OnRTCP(nil)
	enc2, _ := func() ([]byte, error) {
		client.s.txMu.Lock()
		defer client.s.txMu.Unlock()
		return client.s.tx.EncryptRTCP(nil, plain, nil)
	}()
	_, _ = raw.WriteToUDPAddrPort(enc2, to)
	time.Sleep(50 * time.Millisecond)
	if n := count(); n != 1 {
		t.Errorf("the hook was called after it was removed (%d)", n)
	}
}
