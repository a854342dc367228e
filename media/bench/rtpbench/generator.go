//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// generator plays the phones: for each call an A phone and a B phone, each
// sending one G.711 packet every 20 ms to its relay side, and counting what
// the relay sends back. Phones share a few sockets (many calls' A phones on
// one socket): the relay latches per side, so that is fine, and it keeps the
// generator cheap.
//
// The sockets are raw non-blocking UDP sockets that no epoll instance
// watches (not Go's netpoller either), so a packet the relay sends to the
// generator wakes nothing up. A few loop goroutines (-gen-loops) share the
// sockets; each wakes every tick (-tick, 2 ms), sends with sendmmsg the packets of
// its streams that are due by now (each stream exactly one per 20 ms, the
// streams of a socket spread over the period), then drains its sockets with
// recvmmsg until EAGAIN. The socket receive buffers (4 MB) hold far more than
// one tick of packets.
type generator struct {
	socks    []*genSock // A sockets are even indexes, B odd
	loops    int
	nice     int // nice value of the loop threads (0: unchanged)
	wg       sync.WaitGroup
	stopping atomic.Bool
	closing  chan struct{}
	closed   sync.Once
	sent     atomic.Uint64
	received atomic.Uint64
	streams  int           // 2 × calls: the SSRCs are 1 to streams
	latMu    sync.Mutex    // guards lat
	lat      *latency      // the loops' statistics, merged as they end
	skipped  atomic.Uint64 // packets not sent: the generator was late, or sendmmsg failed
}

// tick is how often a loop wakes up to send and receive (-tick). Every
// packet leaves within one tick of its time, well inside its 20 ms period.
var tick = 2 * time.Millisecond

// period is the packet interval of a G.711 20 ms stream.
const period = 20 * time.Millisecond

// batch is the number of packets per sendmmsg/recvmmsg call.
const batch = 64

// genSock is one generator socket and the streams it sends.
type genSock struct {
	fd    int
	local netip.AddrPort
	// one entry per stream, in send order; hdrs[i] points at pkts[i],
	// iovs[i] and names[i], so a batch of consecutive streams is a slice
	streams []stream
	hdrs    []mmsghdr
	iovs    []unix.Iovec
	names   []unix.RawSockaddrInet4
	offset  time.Duration // start of this socket's spread within the period
	done    int64         // packets handled so far (sent or skipped)
}

// mmsghdr is struct mmsghdr of sendmmsg(2)/recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [unsafe.Sizeof(uintptr(0)) - 4]byte
}

func newGenerator(perSide, loops, nice int) (*generator, error) {
	g := &generator{loops: max(1, loops), nice: nice, closing: make(chan struct{})}
	for range 2 * perSide {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("generator socket: %w", err)
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
		// DF set (the packets are 172 bytes): the kernel then skips the IP
		// ID generator, which it runs for each packet on loopback otherwise
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
		// the kernel's arrival time of each datagram (latency.go)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			_ = unix.Close(fd)
			g.close()
			return nil, fmt.Errorf("generator SO_TIMESTAMPNS: %w", err)
		}
		k := &genSock{fd: fd}
		g.socks = append(g.socks, k)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			g.close()
			return nil, fmt.Errorf("generator bind: %w", err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("generator getsockname: %w", err)
		}
		a := sa.(*unix.SockaddrInet4)
		k.local = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	}
	return g, nil
}

// addrs are the local addresses of the A (side 0) or B (side 1) sockets.
func (g *generator) addrs(side int) []netip.AddrPort {
	var out []netip.AddrPort
	for i := side; i < len(g.socks); i += 2 {
		out = append(out, g.socks[i].local)
	}
	return out
}

// stream is one phone's packet, updated in place.
type stream struct {
	pkt  []byte
	sent uint64 // packets sendmmsg took
}

func newStream(ssrc uint32) stream {
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(ssrc), Timestamp: ssrc * 7, SSRC: ssrc},
		Payload: make([]byte, 160),
	}
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return stream{pkt: b}
}

func (s *stream) next() {
	seq := uint16(s.pkt[2])<<8 | uint16(s.pkt[3]) + 1
	s.pkt[2], s.pkt[3] = byte(seq>>8), byte(seq)
	ts := uint32(s.pkt[4])<<24 | uint32(s.pkt[5])<<16 | uint32(s.pkt[6])<<8 | uint32(s.pkt[7]) + 160
	s.pkt[4], s.pkt[5], s.pkt[6], s.pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
}

// start begins sending: call i's A phone on A socket i%n to ports[i][0],
// its B phone on B socket i%n to ports[i][1].
func (g *generator) start(ports [][2]int) {
	n := len(g.socks) / 2
	g.streams = 2 * len(ports)
	g.lat = newLatency(g.streams)
	for j, k := range g.socks {
		side, sk := j%2, j/2
		for i := sk; i < len(ports); i += n {
			k.streams = append(k.streams, newStream(uint32(2*i+side+1)))
			var name unix.RawSockaddrInet4
			name.Family = unix.AF_INET
			name.Addr = [4]byte{127, 0, 0, 1}
			p := (*[2]byte)(unsafe.Pointer(&name.Port))
			p[0], p[1] = byte(ports[i][side]>>8), byte(ports[i][side])
			k.names = append(k.names, name)
		}
		k.iovs = make([]unix.Iovec, len(k.streams))
		k.hdrs = make([]mmsghdr, len(k.streams))
		for i := range k.streams {
			k.iovs[i].Base = &k.streams[i].pkt[0]
			k.iovs[i].SetLen(len(k.streams[i].pkt))
			h := &k.hdrs[i].hdr
			h.Name = (*byte)(unsafe.Pointer(&k.names[i]))
			h.Namelen = unix.SizeofSockaddrInet4
			h.Iov = &k.iovs[i]
			h.SetIovlen(1)
		}
		k.offset = time.Duration(j) * period / time.Duration(len(g.socks))
	}
	start := time.Now()
	for l := range g.loops {
		var mine []*genSock
		for j := l; j < len(g.socks); j += g.loops {
			mine = append(mine, g.socks[j])
		}
		g.wg.Add(1)
		go g.loop(mine, start)
	}
}

// loop is one generator goroutine: every tick it sends what is due on its
// sockets and reads what came back.
// Each loop has a thread of its own (one loop needs most of a core at
// 2,000 calls, so a single one falls behind as soon as anything else runs on
// its core). With a nice value, the loop thread runs at that priority.
func (g *generator) loop(socks []*genSock, start time.Time) {
	defer g.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if g.nice != 0 {
		// PRIO_PROCESS with id 0 is the calling thread on Linux
		_ = unix.Setpriority(unix.PRIO_PROCESS, 0, g.nice)
	}
	rx := newReceiver(g.streams)
	defer func() {
		g.latMu.Lock()
		g.lat.merge(rx.lat)
		g.latMu.Unlock()
	}()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-g.closing:
			for _, k := range socks {
				g.received.Add(rx.drain(k.fd))
			}
			return
		case <-t.C:
		}
		if !g.stopping.Load() {
			now := time.Since(start)
			for _, k := range socks {
				g.send(k, now)
			}
		}
		for _, k := range socks {
			g.received.Add(rx.drain(k.fd))
		}
		runtime.Gosched() // when behind, the ticker never parks the loop
	}
}

// send sends the packets of k due by now: stream i of n is due at
// offset + (i + c·n)·period/n for c = 0, 1, ..., so every stream sends one
// packet per period. A generator more than one period late skips ahead
// rather than bursting, and counts the packets it skipped, so the offered
// rate stays honest.
func (g *generator) send(k *genSock, now time.Duration) {
	n := int64(len(k.streams))
	if n == 0 || now < k.offset {
		return
	}
	due := int64(now-k.offset)*n/int64(period) + 1
	if due-k.done > n {
		g.skipped.Add(uint64(due - k.done - n))
		k.done = due - n
	}
	for k.done < due {
		i := k.done % n
		m := min(due-k.done, n-i, batch)
		stamp := uint64(time.Now().UnixNano()) // the send time (latency.go)
		for j := i; j < i+m; j++ {
			k.streams[j].next()
			binary.BigEndian.PutUint64(k.streams[j].pkt[stampOffset:], stamp)
		}
		w := sendmmsg(k.fd, k.hdrs[i:i+m])
		g.sent.Add(uint64(w))
		for j := i; j < i+int64(w); j++ {
			k.streams[j].sent++
		}
		if w < int(m) {
			g.skipped.Add(uint64(int(m) - w)) // socket buffer full: not sent
		}
		k.done += m
	}
}

func sendmmsg(fd int, hdrs []mmsghdr) int {
	sent := 0
	for sent < len(hdrs) {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd),
			uintptr(unsafe.Pointer(&hdrs[sent])), uintptr(len(hdrs)-sent), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || r == 0 {
			return sent
		}
		sent += int(r)
	}
	return sent
}

// receiver is a loop's recvmmsg buffers and what it measured.
type receiver struct {
	hdrs []mmsghdr
	iovs []unix.Iovec
	bufs [][]byte
	ctrl [][]byte // control messages: the arrival stamp
	lat  *latency
}

// ctrlLen holds one SCM_TIMESTAMPNS message (a cmsghdr and a timespec).
const ctrlLen = 64

func newReceiver(streams int) *receiver {
	rx := &receiver{hdrs: make([]mmsghdr, batch), iovs: make([]unix.Iovec, batch), bufs: make([][]byte, batch),
		ctrl: make([][]byte, batch), lat: newLatency(streams)}
	for i := range batch {
		rx.bufs[i] = make([]byte, 2048)
		rx.ctrl[i] = make([]byte, ctrlLen)
		rx.iovs[i].Base = &rx.bufs[i][0]
		rx.iovs[i].SetLen(2048)
		rx.hdrs[i].hdr.Iov = &rx.iovs[i]
		rx.hdrs[i].hdr.SetIovlen(1)
		rx.hdrs[i].hdr.Control = &rx.ctrl[i][0]
	}
	return rx
}

// drain reads fd until nothing is queued and returns the count of RTP
// packets read.
func (rx *receiver) drain(fd int) uint64 {
	var got uint64
	for {
		for i := range rx.hdrs {
			rx.hdrs[i].hdr.SetControllen(ctrlLen) // the kernel writes the length back
		}
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd),
			uintptr(unsafe.Pointer(&rx.hdrs[0])), batch, unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return got
		}
		for i := range int(r) {
			if n := rx.hdrs[i].n; n >= 12 && rx.bufs[i][0]>>6 == 2 {
				got++
				rx.lat.add(rx.bufs[i][:n], arrivalStamp(rx.ctrl[i][:rx.hdrs[i].hdr.Controllen]))
			}
		}
		if int(r) < batch {
			return got
		}
	}
}

// stop ends sending; the loops keep receiving until close.
func (g *generator) stop() { g.stopping.Store(true) }

func (g *generator) counts() (sent, received, skipped uint64) {
	return g.sent.Load(), g.received.Load(), g.skipped.Load()
}

// close stops the loops (after a last read of every socket) and closes the
// sockets; counts are final after it.
func (g *generator) close() {
	g.closed.Do(func() {
		g.stop()
		close(g.closing)
		g.wg.Wait()
		for _, k := range g.socks {
			_ = unix.Close(k.fd)
			if g.lat == nil {
				continue
			}
			for _, st := range k.streams { // the loops are done: per-stream loss
				ssrc := binary.BigEndian.Uint32(st.pkt[8:12])
				if int(ssrc) < len(g.lat.streams) {
					g.lat.streams[ssrc].sent = st.sent
				}
			}
		}
	})
}
