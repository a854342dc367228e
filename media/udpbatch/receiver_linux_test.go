//go:build linux

package udpbatch

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestReceiver: one datagram from each ready socket per Recv, nothing from
// an empty one (it does not wait), the senders' addresses given; with
// io_uring in one system call.
func TestReceiver(t *testing.T) {
	for _, ring := range []bool{true, false} {
		t.Run(fmt.Sprintf("ring=%v", ring), func(t *testing.T) {
			r := NewReceiver()
			defer r.Close()
			if ring && !r.Ring() {
				t.Skip("no io_uring here")
			}
			if !ring && r.ring != nil {
				r.ring.close()
				r.ring = nil
			}
			src, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			from := src.LocalAddr().(*net.UDPAddr).AddrPort()
			const socks = 6
			var fds [socks]int
			var addrs [socks]netip.AddrPort
			for i := range socks {
				fds[i], addrs[i] = udpSocket(t, false)
			}
			// two datagrams to the even sockets, none to the odd ones
			for i := 0; i < socks; i += 2 {
				for j := range 2 {
					if _, err := src.WriteToUDPAddrPort(fmt.Appendf(nil, "to %d #%d", i, j), addrs[i]); err != nil {
						t.Fatal(err)
					}
				}
			}
			time.Sleep(20 * time.Millisecond) // loopback delivers synchronously; a margin
			for round := range 3 {
				if n := r.Recv(fds[:]); n != socks {
					t.Fatalf("Recv tried %d sockets", n)
				}
				for i := range socks {
					pkt, sa := r.Datagram(i)
					want := ""
					if i%2 == 0 && round < 2 {
						want = fmt.Sprintf("to %d #%d", i, round)
					}
					if string(pkt) != want {
						t.Errorf("round %d socket %d: %q, want %q", round, i, pkt, want)
					}
					if pkt != nil {
						s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
						port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:])
						if got := netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), port); got != from {
							t.Errorf("socket %d: from %v, want %v", i, got, from)
						}
					}
				}
			}
			c := r.Counters()
			t.Logf("%+v", c)
			if c.Sent != 6 || c.Failed != 3*socks-6 {
				t.Errorf("counters %+v", c)
			}
			if ring && c.Syscalls != 3 {
				t.Errorf("%d system calls for 3 Recv through io_uring", c.Syscalls)
			}
			if r.Recv(nil) != 0 {
				t.Error("Recv of no sockets")
			}
		})
	}
}
