//go:build linux

package udpbatch

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// udpSocket opens a raw UDP socket on 127.0.0.1 (or ::1) port 0.
func udpSocket(t testing.TB, v6 bool) (int, netip.AddrPort) {
	t.Helper()
	fam, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	if v6 {
		fam, sa = unix.AF_INET6, &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
	}
	fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	if err := unix.Bind(fd, sa); err != nil {
		t.Skipf("bind: %v", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		return fd, netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return fd, netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	t.Fatal("no address")
	return 0, netip.AddrPort{}
}

// sink is a UDP socket that collects datagrams with their sources.
func sink(t testing.TB, network string) *net.UDPConn {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "udp6" {
		addr = "[::1]:0"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Skipf("listen: %v", err)
	}
	_ = c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// collect reads n datagrams from c: payload → source.
func collect(t *testing.T, c *net.UDPConn, n int) map[string]netip.AddrPort {
	t.Helper()
	got := map[string]netip.AddrPort{}
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(got) < n {
		k, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		got[string(buf[:k])] = from
	}
	return got
}

func TestSenderManySockets(t *testing.T) {
	for _, tc := range []struct {
		name string
		ring bool
		v6   bool
	}{{"ring", true, false}, {"sendto", false, false}, {"ring-v6", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			network := "udp4"
			if tc.v6 {
				network = "udp6"
			}
			dst := sink(t, network)
			to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
			s := New()
			defer s.Close()
			if tc.ring && !s.Ring() {
				t.Skip("no io_uring here")
			}
			if !tc.ring && s.ring != nil {
				s.ring.close()
				s.ring = nil
			}
			// 3 sockets × 50 datagrams: several flushes, one automatic
			// (Size), each datagram from its own socket's port
			const socks, each = 3, 50
			var from [socks]netip.AddrPort
			var fds [socks]int
			for i := range socks {
				fds[i], from[i] = udpSocket(t, tc.v6)
			}
			want := map[string]netip.AddrPort{}
			for j := range each {
				for i := range socks {
					p := fmt.Appendf(nil, "sock %d packet %d %s", i, j, bytes.Repeat([]byte{'x'}, j*20))
					want[string(p)] = from[i]
					if err := s.Add(fds[i], tc.v6, p, to); err != nil {
						t.Fatal(err)
					}
				}
				if j%20 == 19 {
					s.Flush()
				}
			}
			s.Flush()
			got := collect(t, dst, len(want))
			for p, src := range want {
				if got[p] != src {
					t.Errorf("%.20q came from %v, want %v", p, got[p], src)
				}
			}
			c := s.Counters()
			if c.Sent != socks*each || c.Failed != 0 {
				t.Errorf("counters %+v, want %d sent", c, socks*each)
			}
			t.Logf("%+v", c)
			if tc.ring && c.Syscalls >= c.Sent/4 {
				t.Errorf("%d system calls for %d datagrams through io_uring", c.Syscalls, c.Sent)
			}
		})
	}
}

func TestSenderRefuses(t *testing.T) {
	s := New()
	defer s.Close()
	fd, _ := udpSocket(t, false)
	if err := s.Add(fd, false, make([]byte, MaxDatagram+1), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized datagram: %v", err)
	}
	if err := s.Add(fd, false, []byte("x"), netip.MustParseAddrPort("[2001:db8::1]:9")); !errors.Is(err, ErrFamily) {
		t.Errorf("IPv6 destination on an IPv4 socket: %v", err)
	}
	if s.Len() != 0 {
		t.Errorf("%d datagrams held after refusals", s.Len())
	}
	// a closed socket's datagram fails, the others go
	dst := sink(t, "udp4")
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	bad, _ := udpSocket(t, false)
	_ = unix.Close(bad)
	_ = s.Add(bad, false, []byte("lost"), to)
	_ = s.Add(fd, false, []byte("a"), to)
	_ = s.Add(fd, false, []byte("b"), to)
	if sent := s.Flush(); sent != 2 {
		t.Errorf("Flush sent %d, want 2 (one socket closed)", sent)
	}
	collect(t, dst, 2)
	if c := s.Counters(); c.Failed != 1 {
		t.Errorf("counters %+v, want 1 failed", c)
	}
}

// BenchmarkSend sends one datagram out of each of 64 sockets per round:
// sendto each against one io_uring_enter.
func BenchmarkSend(b *testing.B) {
	dst := sink(b, "udp4")
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	go func() { // drain
		buf := make([]byte, 2048)
		for {
			if _, _, err := dst.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	var fds [Size]int
	for i := range fds {
		fds[i], _ = udpSocket(b, false)
	}
	pkt := make([]byte, 172)
	for _, ring := range []bool{false, true} {
		b.Run(fmt.Sprintf("ring=%v", ring), func(b *testing.B) {
			s := New()
			defer s.Close()
			if !ring && s.ring != nil {
				s.ring.close()
				s.ring = nil
			}
			if ring && s.ring == nil {
				b.Skip("no io_uring")
			}
			cpu0 := cpuTime()
			for b.Loop() {
				for _, fd := range fds {
					_ = s.Add(fd, false, pkt, to)
				}
				s.Flush()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*Size), "ns/datagram")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*Size), "cpu-ns/datagram")
		})
	}
}

// cpuTime is the process's CPU time (user + system, every thread,
// io_uring's workers included).
func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
