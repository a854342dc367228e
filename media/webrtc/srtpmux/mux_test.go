package srtpmux

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"
)

var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// peer is one end: a Mux, the keys of its DTLS association, a stream,
// and what the stream delivered.
type peer struct {
	m      *Mux
	keys   *Keys
	s      *Stream
	conn   *dtls.Conn
	mu     sync.Mutex
	got    [][]byte
	from   []int // the reader of each packet in got
	notify chan struct{}
	// counting: only count what is delivered, keep nothing (no allocation)
	counting  atomic.Bool
	delivered atomic.Uint64
}

func (p *peer) deliver(pkt []byte, reader int) {
	if p.counting.Load() {
		p.delivered.Add(1)
		return
	}
	p.mu.Lock()
	p.got = append(p.got, append([]byte(nil), pkt...))
	p.from = append(p.from, reader)
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

func (p *peer) received() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.got...)
}

func (p *peer) readers() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.from...)
}

func newPeer(t *testing.T) *peer { return newPeerReaders(t, 1) }

// newPeerReaders is a peer whose Mux has readers sockets (ListenReaders).
func newPeerReaders(t *testing.T, readers int) *peer {
	t.Helper()
	m, err := ListenReaders(netip.AddrPortFrom(loopback, 0), readers, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	p := &peer{m: m, keys: &Keys{}, notify: make(chan struct{}, 1)}
	p.s = m.NewStream(p.keys, p.deliver)
	return p
}

// handshake runs a real DTLS 1.2 handshake between a client and a server
// over their Muxes' slow paths, with the given SRTP profile and cipher
// suite, and arms both streams.
func handshake(t *testing.T, profile dtls.SRTPProtectionProfile, suite dtls.CipherSuiteID) (client, server *peer) {
	t.Helper()
	return handshakeReaders(t, profile, suite, 1)
}

// handshakeReaders is handshake with a server Mux of serverReaders sockets.
func handshakeReaders(t *testing.T, profile dtls.SRTPProtectionProfile, suite dtls.CipherSuiteID, serverReaders int) (client, server *peer) {
	t.Helper()
	client, server = newPeer(t), newPeerReaders(t, serverReaders)
	cfg := func(p *peer) *dtls.Config {
		cert, err := selfsign.GenerateSelfSigned()
		if err != nil {
			t.Fatal(err)
		}
		return &dtls.Config{
			Certificates:           []tls.Certificate{cert},
			InsecureSkipVerify:     true,
			ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret,
			SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{profile},
			CipherSuites:           []dtls.CipherSuiteID{suite},
			KeyLogWriter:           p.keys,
		}
	}
	ca, sa := net.UDPAddrFromAddrPort(client.m.LocalAddr()), net.UDPAddrFromAddrPort(server.m.LocalAddr())
	var err error
	client.conn, err = dtls.Client(client.m.PacketConn(), sa, cfg(client))
	if err != nil {
		t.Fatal(err)
	}
	server.conn, err = dtls.Server(server.m.PacketConn(), ca, cfg(server))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- client.conn.HandshakeContext(ctx) }()
	go func() { errs <- server.conn.HandshakeContext(ctx) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("handshake: %v", err)
		}
	}
	t.Cleanup(func() { _ = client.conn.Close(); _ = server.conn.Close() })
	if err := client.s.Arm(server.m.LocalAddr(), true); err != nil {
		t.Fatalf("client arm: %v", err)
	}
	if err := server.s.Arm(client.m.LocalAddr(), false); err != nil {
		t.Fatalf("server arm: %v", err)
	}
	return client, server
}

func rtpPacket(seq uint16, ssrc uint32, payload byte) []byte {
	b := make([]byte, 12+160, 1500)
	b[0], b[1] = 0x80, 0
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	for i := 12; i < len(b); i++ {
		b[i] = payload
	}
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeysMatchExporter: the keys derived from the key log and the
// ServerHello seen on the wire are the DTLS connection's own exporter
// output (RFC 5705, RFC 5764 §4.2), for each SRTP profile and PRF hash.
func TestKeysMatchExporter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile dtls.SRTPProtectionProfile
		suite   dtls.CipherSuiteID
	}{
		{"gcm-sha256", dtls.SRTP_AEAD_AES_128_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"cm-hmac80-cbc", dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
		{"gcm256-sha384", dtls.SRTP_AEAD_AES_256_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := handshake(t, tc.profile, tc.suite)
			for _, p := range []*peer{client, server} {
				st, ok := p.conn.ConnectionState()
				if !ok {
					t.Fatal("no connection state")
				}
				want, err := st.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", nil, 60)
				if err != nil {
					t.Fatal(err)
				}
				p.s.mu.Lock()
				h := p.s.hello
				p.s.mu.Unlock()
				x := exporter{master: p.keys.master, seed: append(append([]byte(nil), p.keys.clientRandom...), h.random[:]...)}
				x.h = hashFor(h.suite)
				got, err := x.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", nil, 60)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("exported keys differ from the DTLS connection's:\n got %x\nwant %x", got, want)
				}
				if srtp.ProtectionProfile(h.profile) != srtp.ProtectionProfile(tc.profile) {
					t.Errorf("profile %#x, want %#x", h.profile, tc.profile)
				}
			}
			// and media flows both ways on the fast path
			for i := range 20 {
				if err := client.s.Send(rtpPacket(uint16(100+i), 0xc1, byte(i))); err != nil {
					t.Fatal(err)
				}
				if err := server.s.Send(rtpPacket(uint16(500+i), 0x5e, byte(i))); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "20 packets each way", func() bool { return len(client.received()) == 20 && len(server.received()) == 20 })
			for i, pkt := range server.received() {
				if !bytes.Equal(pkt, rtpPacket(uint16(100+i), 0xc1, byte(i))) {
					t.Fatalf("packet %d decrypted to %x", i, pkt[:16])
				}
			}
		})
	}
}

// TestHostileInput: what the fast path refuses. Forged SRTP from the
// peer's own address is dropped (counted, never delivered, never given to
// pion); a replayed packet is dropped; RTP from another address, STUN and
// garbage go to the slow path untouched; a flood of those is bounded by
// the slow path's queue; oversized datagrams do not pass.
func TestHostileInput(t *testing.T) {
	client, server := handshake(t, dtls.SRTP_AEAD_AES_128_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	// a socket that sends from the client's address: the client Mux's own
	raw := client.m.conn
	to := server.m.LocalAddr()

	// one good packet, captured encrypted, to replay
	good := rtpPacket(1, 0xc1, 7)
	if err := client.s.Send(good); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the good packet", func() bool { return len(server.received()) == 1 })
	enc := append([]byte(nil), good...) // Send encrypted in place
	if bytes.Equal(enc[12:20], rtpPacket(1, 0xc1, 7)[12:20]) {
		t.Fatal("Send did not encrypt in place")
	}

	forged := rtpPacket(2, 0xc1, 9)
	forged = append(forged, make([]byte, 16)...) // a GCM tag of zeros
	tampered := append([]byte(nil), enc...)
	tampered[20] ^= 1
	for _, b := range [][]byte{forged, tampered, enc /* replay */} {
		if _, err := raw.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three refusals", func() bool { return server.s.Stats().Bad == 3 })
	if n := len(server.received()); n != 1 {
		t.Errorf("delivered %d packets, want only the good one", n)
	}

	// a stranger's RTP, STUN, DTLS garbage: the slow path, unchanged
	stranger, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	msgs := [][]byte{rtpPacket(3, 0xbad, 1), {0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}, {22, 0xfe, 0xfd, 0, 0}}
	before := server.m.Counters().ToPion
	for _, b := range msgs {
		if _, err := stranger.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three datagrams to the slow path", func() bool { return server.m.Counters().ToPion >= before+3 })
	if n := len(server.received()); n != 1 {
		t.Errorf("a stranger's RTP was delivered (%d packets)", n)
	}

	// an oversized datagram from the peer's address: truncated to the
	// buffer, so it cannot authenticate
	big := append(rtpPacket(4, 0xc1, 1), make([]byte, 4000)...)
	badBefore := server.s.Stats().Bad
	_, _ = raw.WriteToUDPAddrPort(big, to)
	waitFor(t, "the oversized datagram refused", func() bool { return server.s.Stats().Bad == badBefore+1 })
}

// TestSlowPathFlood: a flood of datagrams nobody reads is bounded by the
// slow path's queue (dropped and counted), and the fast path keeps
// working meanwhile.
func TestSlowPathFlood(t *testing.T) {
	m, err := Listen(netip.AddrPortFrom(loopback, 0), 4<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	junk := make([]byte, 1200)
	junk[0] = 22
	// flood until the queue is full and more was dropped: on a loaded
	// machine the socket's own buffer may overflow first, so one burst of
	// a fixed size is not always enough to fill the queue
	// (a bound against hangs only: under -race on a loaded machine the
	// reader may get a small share of a core)
	for deadline := time.Now().Add(60 * time.Second); ; {
		for range 512 {
			_, _ = c.WriteToUDPAddrPort(junk, m.LocalAddr())
		}
		if k := m.Counters(); k.ToPion == slowQueue && k.Dropped > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flood not handled: %+v", m.Counters())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("counters %+v, heap in use %d KiB", m.Counters(), ms.HeapInuse/1024)
	if len(m.slow) != slowQueue {
		t.Errorf("slow queue holds %d, want it full at %d", len(m.slow), slowQueue)
	}
}

// TestCloseEndsReader: Close returns with the reader gone, and the slow
// path's reader gets net.ErrClosed.
func TestCloseEndsReader(t *testing.T) {
	before := runtime.NumGoroutine()
	m, err := Listen(netip.AddrPortFrom(loopback, 0), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := m.PacketConn().ReadFrom(make([]byte, 100))
		done <- err
	}()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("slow path read returned no error after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow path read still blocked after Close")
	}
	waitFor(t, "goroutines back", func() bool { return runtime.NumGoroutine() <= before })
}
