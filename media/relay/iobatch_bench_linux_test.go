//go:build linux && !relaygoroutines

package relay

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/media/udpbatch"
)

// BenchmarkRelayManyCalls relays one G.711 packet of each of 50 calls per
// round (the packets queued on 50 sockets at once, as a busy relay sees
// them), with the workers' io_uring batches (uring=on) and with a
// recvfrom and a sendto per packet (uring=off). cpu-us/packet is the
// process's CPU time per relayed packet, the test's own sending and
// reading included (the same in both). Run alternated:
// go test -run XX -bench RelayManyCalls -count 4 ./media/relay
func BenchmarkRelayManyCalls(b *testing.B) {
	for _, on := range []bool{true, false} {
		b.Run(fmt.Sprintf("uring=%v", on), func(b *testing.B) {
			noIOBatch = !on
			defer func() { noIOBatch = false }()
			r, err := New(Config{ListenIP: loopback, PortMin: 39200, PortMax: 39599, MediaTimeout: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			const calls = 50
			var srcs, sinks [calls]int
			var to [calls]netip.AddrPort
			for i := range calls {
				s, err := r.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				var a, z netip.AddrPort
				srcs[i], a = rawSocket(b)
				sinks[i], z = rawSocket(b)
				s.A().SetRemote(Remote{RTP: a})
				s.B().SetRemote(Remote{RTP: z})
				to[i] = s.A().LocalAddr()
			}
			r.io.mu.Lock()
			if on != (r.io.eng.workers[0].io != nil) {
				r.io.mu.Unlock()
				b.Skip("no io_uring here")
			}
			r.io.mu.Unlock()
			snd, rcv := udpbatch.New(), udpbatch.NewReceiver()
			defer snd.Close()
			defer rcv.Close()
			pkt := newEndpoint(b).packet()
			var seq uint16
			cpu0 := processCPU()
			got := 0
			for b.Loop() {
				seq++
				pkt[2], pkt[3] = byte(seq>>8), byte(seq)
				for i := range calls {
					_ = snd.Add(srcs[i], false, pkt, to[i])
				}
				snd.Flush()
				for want, tries := got+calls, 0; got < want && tries < 5000; tries++ {
					time.Sleep(200 * time.Microsecond)
					rcv.Recv(sinks[:])
					for i := range calls {
						if p, _ := rcv.Datagram(i); p != nil {
							got++
						}
					}
				}
			}
			cpu := processCPU() - cpu0
			if got < b.N*calls*99/100 {
				b.Fatalf("%d of %d packets relayed", got, b.N*calls)
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(got), "cpu-us/packet")
		})
	}
}

// rawSocket opens a non-blocking UDP socket on 127.0.0.1 that nothing
// polls.
func rawSocket(b *testing.B) (int, netip.AddrPort) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		b.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		b.Fatal(err)
	}
	s4 := sa.(*unix.SockaddrInet4)
	return fd, netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(s4.Port))
}

func processCPU() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
