//go:build linux && !relaygoroutines

package relay

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Linux I/O engine. A few workers (Config.Threads, default one per
// GOMAXPROCS) each own an epoll
// instance; a session's four sockets are non-blocking, not known to Go's
// netpoller, and registered level-triggered with one worker, chosen round
// robin. A worker takes up to len(events) ready sockets per epoll_wait and
// handles one datagram of each (recvfrom, then sendto out of the peer's
// socket); a socket with more queued stays ready and comes back in the next
// epoll_wait. So a packet costs one recvfrom and one sendto, and the
// epoll_wait and the wake-up are shared by every packet that arrived in the
// meantime, instead of a goroutine wake-up, a recvfrom, a sendto and an
// EAGAIN recvfrom per packet.
//
// A worker only blocks when its epoll instance has nothing ready: the epoll
// fd itself is handed to Go's netpoller (os.NewFile, RawConn.Read), so the
// worker parks like any goroutine waiting on a socket and no thread sits in
// epoll_wait (measured: blocking in epoll_wait as a syscall costs the relay
// 15–30 % more CPU per packet, because of the P hand-offs). Workers run
// while the Relay has sessions: the first session starts them, the last
// Session.Close stops them, so no goroutine outlives the sessions (as with
// the portable engine, io_goroutine.go).
//
// Closing a session: its sockets leave epoll (EPOLL_CTL_DEL) first, then
// Close waits until no worker is handling one of its packets (refs), and
// only then closes the fds, so a worker never uses a closed (or reused) fd.

// sock is one bound, non-blocking UDP socket of a side.
type sock struct {
	fd     int
	port   int
	v6     bool       // AF_INET6 socket
	bind   netip.Addr // the address it was bound to (0.0.0.0 for every one)
	local  netip.AddrPort
	side   *Side
	isRTCP bool
}

// relayIO is the engine of one Relay, running while it has sessions.
type relayIO struct {
	mu    sync.Mutex
	eng   *engine
	users int // sessions registered with eng
	next  int // round robin over the workers

	idle idlePairs // sockets of ended sessions, resting for reuse (reuse_linux.go)
}

// sessionIO is a session's link to the worker that reads its sockets.
type sessionIO struct {
	w       *worker
	closing atomic.Bool  // set by Close before it waits for refs
	refs    atomic.Int32 // workers handling a packet of the session now
}

// engine is the set of workers and the port → socket table their events
// are looked up in (the epoll data of a socket is its port).
type engine struct {
	base    int
	table   []atomic.Pointer[sock] // index: port - base
	workers []*worker
	wg      sync.WaitGroup
}

// worker is one epoll instance and the goroutine that serves it. Its buffers
// are reused for every packet, so the packet path does not allocate.
type worker struct {
	eng     *engine
	epfd    int
	file    *os.File // epfd, for Go's netpoller
	stopped atomic.Bool
	events  [128]unix.EpollEvent
	buf     [maxPacket]byte
	rsa     unix.RawSockaddrAny
	salen   uint32
	sa4     unix.RawSockaddrInet4
	sa6     unix.RawSockaddrInet6
	pend    pending  // batched in-process far ends to flush (batch.go)
	io      *ioBatch // io_uring reads and sends (iobatch_linux.go); nil: one syscall each
}

func (r *Relay) listen(ip netip.Addr, port int) (*sock, error) {
	v6 := ip.Is6() && !ip.Is4In6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	} else {
		ip = ip.Unmap()
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("listen udp %v: socket: %w", netip.AddrPortFrom(ip, uint16(port)), err)
	}
	fail := func(op string, err error) (*sock, error) {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("listen udp %v: %s: %w", netip.AddrPortFrom(ip, uint16(port)), op, err)
	}
	var sa unix.Sockaddr
	if v6 {
		// like net.ListenUDP("udp6"): IPv6 only
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("setsockopt", err)
		}
		sa6 := &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
		if z := ip.Zone(); z != "" {
			sa6.ZoneId = zoneIndex(z)
		}
		sa = sa6
	} else {
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	}
	if n := r.cfg.SocketBuffer; n > 0 {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, n)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	local := netip.AddrPortFrom(ip, uint16(port))
	if got, err := unix.Getsockname(fd); err == nil {
		switch a := got.(type) {
		case *unix.SockaddrInet4:
			local = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
		case *unix.SockaddrInet6:
			local = netip.AddrPortFrom(netip.AddrFrom16(a.Addr).WithZone(ip.Zone()), uint16(a.Port))
		}
	}
	return &sock{fd: fd, port: port, v6: v6, bind: ip, local: local}, nil
}

func (k *sock) close() error { return unix.Close(k.fd) }

// startIO registers the four sockets of s with a worker, starting the
// workers if s is the Relay's only session.
func (r *Relay) startIO(s *Session) error {
	r.io.mu.Lock()
	if r.io.eng == nil {
		eng, err := newEngine(r.cfg.PortMin, r.cfg.PortMax, r.cfg.Threads)
		if err != nil {
			r.io.mu.Unlock()
			return err
		}
		r.io.eng = eng
	}
	eng := r.io.eng
	w := eng.workers[r.io.next%len(eng.workers)]
	r.io.next++
	r.io.users++
	r.io.mu.Unlock()

	s.io.w = w // before the table publishes the sockets to the workers
	socks := [4]*sock{s.a.rtpSock, s.a.rtcp, s.b.rtpSock, s.b.rtcp}
	for _, k := range socks {
		eng.table[k.port-eng.base].Store(k)
	}
	for i, k := range socks {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(k.port)}
		if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, k.fd, &ev); err != nil {
			for _, done := range socks[:i] {
				_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, done.fd, nil)
			}
			r.unregister(s, eng)
			return fmt.Errorf("relay: epoll_ctl: %w", err)
		}
	}
	return nil
}

// stopIO takes the sockets of s out of epoll, waits until no worker handles
// a packet of s, and stops the workers if s was the last session. The
// sockets stay open: retire lets them rest for reuse (reuse_linux.go).
func (r *Relay) stopIO(s *Session) error {
	w := s.io.w
	s.io.closing.Store(true)
	socks := [4]*sock{s.a.rtpSock, s.a.rtcp, s.b.rtpSock, s.b.rtcp}
	for _, k := range socks {
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, k.fd, nil)
	}
	// A worker that took an event of s before the DEL either holds a ref
	// now or sees closing when it takes one (both are sequentially
	// consistent atomics), so after this loop no worker touches the fds.
	for s.io.refs.Load() != 0 {
		time.Sleep(10 * time.Microsecond)
	}
	r.unregister(s, w.eng)
	return nil
}

// unregister forgets the sockets of s and stops the engine after the last
// session.
func (r *Relay) unregister(s *Session, eng *engine) {
	for _, k := range [4]*sock{s.a.rtpSock, s.a.rtcp, s.b.rtpSock, s.b.rtcp} {
		eng.table[k.port-eng.base].CompareAndSwap(k, nil)
	}
	r.io.mu.Lock()
	defer r.io.mu.Unlock()
	r.io.users--
	if r.io.users == 0 {
		r.io.eng = nil
		eng.stop()
	}
}

// newEngine starts threads workers (0: one per GOMAXPROCS).
func newEngine(portMin, portMax, threads int) (*engine, error) {
	eng := &engine{base: portMin, table: make([]atomic.Pointer[sock], portMax-portMin+1)}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	for i := range threads {
		w, err := newWorker(eng)
		if err != nil {
			eng.stop()
			return nil, err
		}
		w.pend.id = i
		eng.workers = append(eng.workers, w)
	}
	for _, w := range eng.workers {
		eng.wg.Add(1)
		go w.run()
	}
	return eng, nil
}

// stop ends the workers and closes their epoll instances. Every socket has
// left them already.
func (eng *engine) stop() {
	for _, w := range eng.workers {
		w.stopped.Store(true)
		_ = w.file.Close() // wakes the worker; the fd is closed once it returns
	}
	eng.wg.Wait()
	for _, w := range eng.workers {
		if w.io != nil {
			w.io.close()
		}
	}
}

func newWorker(eng *engine) (*worker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("relay: epoll_create1: %w", err)
	}
	// non-blocking, so that os.NewFile hands it to the netpoller
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("relay: epoll fd: %w", err)
	}
	return &worker{eng: eng, epfd: epfd, file: os.NewFile(uintptr(epfd), "relay-epoll"), io: newIOBatch()}, nil
}

// run serves the worker's epoll instance until stop closes it.
func (w *worker) run() {
	defer w.eng.wg.Done()
	rc, err := w.file.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(w.poll) // returns when the file is closed
}

// poll handles ready sockets until none is left, then returns false so that
// RawConn.Read parks the goroutine until the epoll fd is readable again.
// Busy, it polls with epoll_wait(0) in a raw syscall (no scheduler round
// trip), and yields its P every yieldEvery packets. Measured and left out:
// sleeping a little before parking when busy, to coalesce wake-ups, saves
// the senders less than it costs the relay; edge-triggered registration with
// recvmmsg draining each socket costs more than the level-triggered second
// poll of the socket it saves; putting epfd in the netpoller only while
// parked (an epoll_ctl pair per park) costs more than the nested wake-ups it
// saves the senders.
func (w *worker) poll(uintptr) bool {
	handled := 0
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(w.epfd),
			uintptr(unsafe.Pointer(&w.events[0])), uintptr(len(w.events)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || w.stopped.Load() {
			return true
		}
		if n == 0 {
			return false
		}
		w.handleAll(w.events[:n])
		w.pend.flush()
		if handled += int(n); handled >= yieldEvery {
			handled = 0
			runtime.Gosched()
		}
	}
}

// handle reads and relays one datagram of the socket bound to port.
func (w *worker) handle(port int) {
	i := port - w.eng.base
	if uint(i) >= uint(len(w.eng.table)) {
		return
	}
	k := w.eng.table[i].Load()
	if k == nil {
		return
	}
	s := k.side.sess
	if s.io.w != w {
		return // a stale event of a port that went to another session
	}
	s.io.refs.Add(1)
	if !s.io.closing.Load() {
		if n, src, ok := w.recv(k.fd); ok {
			if out, to, fwd := k.side.input(w.buf[:n], src, k.isRTCP); fwd && !w.pend.deliver(out, w.buf[:n]) {
				w.send(out, n, to)
			}
		}
	}
	s.io.refs.Add(-1)
}

// recv reads one datagram into w.buf; ok is false when none was queued.
// Raw syscalls: the socket is non-blocking, so the call cannot block.
func (w *worker) recv(fd int) (n int, src netip.AddrPort, ok bool) {
	w.salen = unix.SizeofSockaddrAny
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd),
		uintptr(unsafe.Pointer(&w.buf[0])), uintptr(len(w.buf)), 0,
		uintptr(unsafe.Pointer(&w.rsa)), uintptr(unsafe.Pointer(&w.salen)))
	if e != 0 {
		return 0, src, false
	}
	switch w.rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&w.rsa))
		src = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&w.rsa))
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(zoneName(sa.Scope_id)) // link-local only
		}
		src = netip.AddrPortFrom(a, ntohs(sa.Port))
	}
	return int(r), src, true
}

// send writes w.buf[:n] out of k to `to`. Errors (no route, full buffer) are
// dropped, as a UDP relay does.
func (w *worker) send(k *sock, n int, to netip.AddrPort) {
	a := to.Addr()
	var sa unsafe.Pointer
	var salen uintptr
	if k.v6 {
		w.sa6.Family = unix.AF_INET6
		w.sa6.Port = htons(to.Port())
		w.sa6.Addr = a.As16()
		w.sa6.Scope_id = 0
		if z := a.Zone(); z != "" {
			w.sa6.Scope_id = zoneIndex(z)
		}
		sa, salen = unsafe.Pointer(&w.sa6), unix.SizeofSockaddrInet6
	} else {
		a = a.Unmap()
		if !a.Is4() {
			return
		}
		w.sa4.Family = unix.AF_INET
		w.sa4.Port = htons(to.Port())
		w.sa4.Addr = a.As4()
		sa, salen = unsafe.Pointer(&w.sa4), unix.SizeofSockaddrInet4
	}
	_, _, _ = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(k.fd),
		uintptr(unsafe.Pointer(&w.buf[0])), uintptr(n), 0, uintptr(sa), salen)
}

// ntohs and htons convert the port field of a raw sockaddr (network order,
// stored in a native uint16).
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func htons(p uint16) uint16 {
	var v uint16
	b := (*[2]byte)(unsafe.Pointer(&v))
	b[0], b[1] = byte(p>>8), byte(p)
	return v
}

// zoneIndex and zoneName map an IPv6 zone to a scope id and back, as the net
// package does (interface names, or numbers).
func zoneIndex(zone string) uint32 {
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.ParseUint(zone, 10, 32)
	return uint32(n)
}

func zoneName(index uint32) string {
	if ifi, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(index), 10)
}

// yieldEvery is how many packets a busy worker handles between yields of its
// P (about a millisecond of work): under a load that never lets it block, the
// other goroutines of the process (signalling, timers) still run.
const yieldEvery = 256

// sendFrom sends b out of k (a socket of s) to `to`, for Side.Input, from
// the caller's goroutine: like a worker, it holds a reference on s so that
// Session.Close does not close the fd under it.
func (r *Relay) sendFrom(s *Session, k *sock, b []byte, to netip.AddrPort) bool {
	s.io.refs.Add(1)
	defer s.io.refs.Add(-1)
	if s.io.closing.Load() {
		return false
	}
	// raw sockaddrs on the stack: no allocation per packet (unix.Sendto
	// would allocate its Sockaddr); the socket is non-blocking
	var sa4 unix.RawSockaddrInet4
	var sa6 unix.RawSockaddrInet6
	sa, salen := unsafe.Pointer(&sa4), uintptr(unix.SizeofSockaddrInet4)
	if k.v6 {
		sa6.Family, sa6.Port, sa6.Addr = unix.AF_INET6, htons(to.Port()), to.Addr().As16()
		sa, salen = unsafe.Pointer(&sa6), unix.SizeofSockaddrInet6
	} else if a := to.Addr().Unmap(); a.Is4() {
		sa4.Family, sa4.Port, sa4.Addr = unix.AF_INET, htons(to.Port()), a.As4()
	} else {
		return false
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(k.fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, uintptr(sa), salen)
	return e == 0
}
