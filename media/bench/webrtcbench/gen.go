//go:build linux

package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/media/udpbatch"
)

// The generator: a few loop threads (one per CPU) play every browser's and
// every plain endpoint's 20 ms stream and count what comes back, so that
// the machine's CPU goes to the gateway side, which is what is measured.
//
//   - Plain endpoints share a few raw non-blocking UDP sockets that no epoll
//     instance watches (not Go's netpoller either): a packet the relay
//     sends them wakes nothing up. Each tick (2 ms) a loop sends what is due
//     on its sockets with one sendmmsg(2) per socket and drains them with
//     recvmmsg(2).
//   - A browser's socket (its srtpmux.Mux, whose reader pion's ICE and DTLS
//     go through) is opened with SO_REUSEPORT; once ICE and DTLS are up and
//     the browser's fast path is armed, a second raw socket is bound to the
//     same port and connect(2)ed to the gateway's ICE address. Linux
//     delivers what the gateway sends to the connected socket (a better
//     match than the unconnected one), which only the loop's own epoll
//     instance watches, polled each tick: the gateway's packets towards the
//     browsers wake no goroutine either. The loop hands each datagram to
//     the browser's Mux (srtpmux.Mux.Handle): SRTP is authenticated and
//     decrypted as before, the gateway's STUN answers to the browser's
//     consent checks reach pion.
//
// Each stream sends one packet per 20 ms period from the tick it was added
// in; a loop that falls behind sends at most 5 periods' packets of a
// stream at once and skips the rest, which then count as the generator
// being late.

// noBatchBrowsers (-browser-sendto) sends each browser packet with its
// own sendto, as before media/udpbatch: the generator's older cost.
var noBatchBrowsers = flag.Bool("browser-sendto", false, "the browsers send each packet with a sendto of its own (stream.Send) and drain each ready socket with recvmmsg, as before media/udpbatch, instead of one io_uring_enter per batch each way")

const (
	genTick   = 2 * time.Millisecond
	period    = 20 * time.Millisecond
	genBatch  = 64
	maxBehind = 5
)

// genLoop is one loop thread's share of the streams.
type genLoop struct {
	c    *counters
	epfd int
	quit chan struct{}

	mu       sync.Mutex
	browsers []*browser
	plain    []*plainSock

	events [256]unix.EpollEvent
	mm     mmsg
	pkt    []byte
	seal   []byte             // a browser's SRTP packet, sealed for snd
	snd    *udpbatch.Sender   // the browsers' packets, each out of its own socket
	rcv    *udpbatch.Receiver // the browsers' ready sockets, a datagram each
	ready  []int              // their fds
	readyB []*browser
}

// mmsg is the arrays of one sendmmsg/recvmmsg call, reused.
type mmsg struct {
	hdrs  [genBatch]mmsghdr
	iovs  [genBatch]unix.Iovec
	names [genBatch]unix.RawSockaddrInet4
	bufs  [genBatch][1500]byte
}

type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

func newGenLoop(c *counters) (*genLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	l := &genLoop{c: c, epfd: epfd, quit: make(chan struct{}), pkt: make([]byte, 1500), seal: make([]byte, 1500), snd: udpbatch.New(), rcv: udpbatch.NewReceiver()}
	for i := range l.mm.hdrs {
		l.mm.iovs[i].Base = &l.mm.bufs[i][0]
		l.mm.hdrs[i].hdr.Iov = &l.mm.iovs[i]
		l.mm.hdrs[i].hdr.SetIovlen(1)
	}
	return l, nil
}

// addBrowser starts the browser's stream (and, with its raw socket, reads
// it).
func (l *genLoop) addBrowser(b *browser, now time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b.next = now + genTick*time.Duration(len(l.browsers)%10)
	if b.rfd > 0 {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(len(l.browsers))}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, b.rfd, &ev); err != nil {
			return fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	l.browsers = append(l.browsers, b)
	return nil
}

func (l *genLoop) addPlain(k *plainSock) {
	l.mu.Lock()
	l.plain = append(l.plain, k)
	l.mu.Unlock()
}

// run is the loop: every tick, unless stopping, send what is due; then
// read what came. It returns when quit is closed.
func (l *genLoop) run(start time.Time, wg *sync.WaitGroup) {
	defer wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t := time.NewTicker(genTick)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			l.mu.Lock()
			l.receive()
			l.mu.Unlock()
			return
		case <-t.C:
		}
		now := time.Since(start)
		l.mu.Lock()
		if !l.c.stop.Load() {
			l.sendBrowsers(now)
			for _, k := range l.plain {
				l.sendPlain(k, now)
			}
		}
		l.receive()
		l.mu.Unlock()
		runtime.Gosched()
	}
}

// due reports how many packets of a stream whose next is *next are due
// by now, advancing *next past them (skipping what is more than maxBehind
// periods late).
func due(next *time.Duration, now time.Duration) int {
	n := 0
	for *next <= now && n < maxBehind {
		n++
		*next += period
	}
	if *next <= now {
		*next = now + period - (now-*next)%period
	}
	return n
}

// sendBrowsers sends the browsers' due packets. An armed browser's packet
// is sealed (SRTP) by its stream and leaves its own socket (the raw one
// connected to the gateway, on its port), all of them in one
// io_uring_enter per udpbatch.Size (media/udpbatch; one sendto each
// without io_uring).
func (l *genLoop) sendBrowsers(now time.Duration) {
	sent := 0
	sent0 := l.snd.Counters().Sent
	for _, b := range l.browsers {
		for range due(&b.next, now) {
			if b.rfd > 0 && !*noBatchBrowsers {
				if b.sendBatch(l.pkt, l.seal, l.snd) {
					continue
				}
			}
			if b.send(l.pkt) {
				sent++
			}
		}
	}
	l.snd.Flush()
	sent += int(l.snd.Counters().Sent - sent0)
	l.c.sentB.Add(uint64(sent))
}

// sendPlain sends k's due packets, one sendmmsg per genBatch.
func (l *genLoop) sendPlain(k *plainSock, now time.Duration) {
	k.mu.Lock()
	calls := k.calls
	k.mu.Unlock()
	m, sent := 0, 0
	flush := func() {
		for off := 0; off < m; {
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(k.fd), uintptr(unsafe.Pointer(&l.mm.hdrs[off])), uintptr(m-off), unix.MSG_DONTWAIT, 0, 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				off++ // dropped
				continue
			}
			off += int(r)
			sent += int(r)
		}
		m = 0
	}
	for _, pc := range calls {
		for range due(&pc.next, now) {
			pc.seq++
			pc.ts += 160
			p := l.mm.bufs[m][:12+160]
			p[0], p[1] = 0x80, 0
			binary.BigEndian.PutUint16(p[2:], pc.seq)
			binary.BigEndian.PutUint32(p[4:], pc.ts)
			binary.BigEndian.PutUint32(p[8:], pc.ssrc)
			sa := &l.mm.names[m]
			sa.Family, sa.Addr = unix.AF_INET, pc.to.Addr().As4()
			pb := (*[2]byte)(unsafe.Pointer(&sa.Port))
			pb[0], pb[1] = byte(pc.to.Port()>>8), byte(pc.to.Port())
			h := &l.mm.hdrs[m].hdr
			h.Name, h.Namelen = (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4
			l.mm.iovs[m].SetLen(len(p))
			if m++; m == genBatch {
				flush()
			}
		}
	}
	flush()
	l.c.sentP.Add(uint64(sent))
}

// receive drains the plain sockets and the browsers' ready sockets: one
// datagram from each ready browser socket per io_uring_enter (udpbatch
// Receiver; with -browser-sendto, recvmmsg on each), again while epoll
// reports some ready (level-triggered: a socket with more queued stays
// ready).
func (l *genLoop) receive() {
	for _, k := range l.plain {
		l.c.recvP.Add(uint64(l.drain(k.fd, nil)))
	}
	for range 64 {
		n, err := unix.EpollWait(l.epfd, l.events[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		if *noBatchBrowsers {
			for _, ev := range l.events[:n] {
				if i := int(ev.Fd); i < len(l.browsers) {
					b := l.browsers[i]
					l.drain(b.rfd, b)
				}
			}
			if n < len(l.events) {
				return
			}
			continue
		}
		for off := 0; off < n; off += udpbatch.Size {
			l.ready, l.readyB = l.ready[:0], l.readyB[:0]
			for _, ev := range l.events[off:min(n, off+udpbatch.Size)] {
				if i := int(ev.Fd); i < len(l.browsers) {
					l.ready = append(l.ready, l.browsers[i].rfd)
					l.readyB = append(l.readyB, l.browsers[i])
				}
			}
			l.rcv.Recv(l.ready)
			got := 0
			for i, b := range l.readyB {
				if pkt, _ := l.rcv.Datagram(i); pkt != nil {
					b.mux.Handle(pkt, b.gw) // from the socket connected to b.gw
					got++
				}
			}
			l.c.viaLoop.Add(uint64(got))
		}
	}
}

// drain reads fd until it is empty; a browser's datagrams go to its Mux.
func (l *genLoop) drain(fd int, b *browser) int {
	got := 0
	for {
		for i := range l.mm.hdrs {
			l.mm.iovs[i].SetLen(len(l.mm.bufs[i]))
			l.mm.hdrs[i].hdr.Name, l.mm.hdrs[i].hdr.Namelen = nil, 0
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&l.mm.hdrs[0])), genBatch, unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || r == 0 {
			return got
		}
		if b != nil {
			l.c.viaLoop.Add(uint64(r))
			for i := range int(r) {
				b.mux.Handle(l.mm.bufs[i][:l.mm.hdrs[i].n], b.gw)
			}
		}
		got += int(r)
		if int(r) < genBatch {
			return got
		}
	}
}

// rawUDP opens a raw non-blocking UDP socket on loopback (port 0: any),
// with SO_REUSEPORT when reuse, and a 4 MB receive buffer. Go's netpoller
// does not know it.
func rawUDP(port int, reuse bool) (int, netip.AddrPort, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			_ = unix.Close(fd)
			return -1, netip.AddrPort{}, err
		}
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: loopback.As4()}); err != nil {
		_ = unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		_ = unix.Close(fd)
		return -1, netip.AddrPort{}, err
	}
	s4 := sa.(*unix.SockaddrInet4)
	return fd, netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(s4.Port)), nil
}
