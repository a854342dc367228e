//go:build linux

package srtpmux

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/pion/dtls/v3"
	"golang.org/x/sys/unix"
)

// TestReadersShareThePort: a Mux of 4 SO_REUSEPORT sockets completes a
// DTLS handshake on its slow path and decrypts its peer's SRTP; one
// peer's 4-tuple always reaches the same reader (its packets in order);
// when the peer's address moves (re-armed, as after an ICE restart) to
// sockets whose 4-tuples the kernel hashes to other readers, those
// readers find the stream too (the table is shared), and the peer's
// packets do spread over more than one reader.
func TestReadersShareThePort(t *testing.T) {
	client, server := handshakeReaders(t, dtls.SRTP_AEAD_AES_128_GCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 4)
	if n := server.m.Readers(); n != 4 {
		t.Fatalf("Readers() = %d, want 4", n)
	}
	seq := uint16(100)
	for range 50 {
		if err := client.s.Send(rtpPacket(seq, 0xc1, byte(seq))); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	waitFor(t, "50 packets from the first address", func() bool { return len(server.received()) == 50 })
	first := server.readers()[0]
	for i, pkt := range server.received() {
		if want := rtpPacket(uint16(100+i), 0xc1, byte(100+i)); !bytes.Equal(pkt, want) {
			t.Fatalf("packet %d out of order or damaged: seq %d", i, uint16(pkt[2])<<8|uint16(pkt[3]))
		}
		if r := server.readers()[i]; r != first {
			t.Fatalf("one 4-tuple's packets reached readers %d and %d", first, r)
		}
	}
	// The peer moves to new addresses: re-arm the server's stream (what
	// Leg.arm does when ICE selects another pair) and send from there.
	seen := map[int]bool{first: true}
	for i := 0; i < 32 && len(seen) < 2; i++ {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		addr := c.LocalAddr().(*net.UDPAddr).AddrPort()
		if err := server.s.Arm(addr, false); err != nil {
			t.Fatalf("re-arm towards %v: %v", addr, err)
		}
		out, _, err := client.s.Seal(nil, rtpPacket(seq, 0xc1, byte(seq)))
		if err != nil {
			t.Fatal(err)
		}
		seq++
		if _, err := c.WriteToUDPAddrPort(out, server.m.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		n := 51 + i
		waitFor(t, "the packet from the moved address", func() bool { return len(server.received()) == n })
		seen[server.readers()[n-1]] = true
	}
	if len(seen) < 2 {
		t.Fatalf("33 4-tuples all reached reader %d: the port is not shared by the readers", first)
	}
	if st := server.s.Stats(); st.Bad != 0 {
		t.Errorf("%d packets refused", st.Bad)
	}
}

// TestReadersPortHeld: a port another socket holds is an error, even when
// that socket allows SO_REUSEPORT (another gateway of the same user),
// rather than a port whose datagrams the kernel would share with it.
func TestReadersPortHeld(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				if reuse {
					_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
				}
			})
		}}
		pc, err := lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
		if m, err := ListenReaders(addr, 4, 0, nil); err == nil {
			_ = m.Close()
			t.Errorf("ListenReaders on %v held by another socket (SO_REUSEPORT %v) did not fail", addr, reuse)
		}
		_ = pc.Close()
	}
}
