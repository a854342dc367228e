// Package srtpmux is the media fast path of WebRTC legs: one UDP socket
// shared by many DTLS-SRTP peers, whose established SRTP is decrypted and
// encrypted here, in place, on the socket's reader, while everything rare
// (ICE connectivity and consent checks, the DTLS handshake, SRTCP) still
// goes to pion through the ordinary ICE UDP mux.
//
// A Mux reads its socket on one goroutine (on Linux, optionally several
// sockets sharing the port with SO_REUSEPORT, one goroutine each: see
// ListenReaders) and demultiplexes each datagram
// (RFC 7983 §7): an RTP packet (first byte 128–191, and not an RTCP packet
// type, RFC 5761 §4) from the remote address of an armed Stream is that
// stream's: authenticated and decrypted with srtp.Context (RFC 3711) and
// handed to the stream's callback, with no goroutine hand-off and no
// allocation. Every other datagram (STUN 0–3, DTLS 20–63, SRTCP, RTP from
// an unknown address) goes to PacketConn, the net.PacketConn that pion's
// ice.UDPMuxDefault reads: the slow path, as if the socket were pion's own.
//
// A Stream is armed by its owner once pion reports the DTLS association
// connected (so the peer's certificate matched its fingerprint) and ICE
// selected the remote address. Its keys come from the association's key
// log (Keys) and its ServerHello, which the Mux reads as it passes in
// either direction.
package srtpmux

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	maxDatagram = 2048
	slowQueue   = 4096 // datagrams waiting for pion; more are dropped
)

// Mux is one UDP port with its fast path: one socket, or a group of
// sockets sharing the port (ListenReaders). Make it with Listen,
// ListenReaders or New, end it with Close.
type Mux struct {
	conns []*net.UDPConn  // one reader each; they share the port (SO_REUSEPORT)
	conn  *net.UDPConn    // conns[0], which every send leaves from
	rc    syscall.RawConn // conn's, for sendmmsg
	v6    bool            // an IPv6 socket
	log   *slog.Logger

	mu      sync.RWMutex
	streams map[netip.AddrPort]*Stream
	hellos  map[netip.AddrPort]hello // the last ServerHello to or from each address

	slow    chan *datagram
	pool    sync.Pool
	pc      *slowConn
	done    chan struct{}
	closing sync.Once
	wg      sync.WaitGroup

	batches [maxBatches]atomic.Pointer[sendBatch] // SendBatch, Flush (batch.go)
	readEnd atomic.Pointer[func(reader int)]      // OnReadBatch (readbatch.go)

	fast, toPion, dropped, sendFail atomic.Uint64
}

type datagram struct {
	buf  [maxDatagram]byte
	n    int
	from netip.AddrPort
}

// Counters are a Mux's packet counts.
type Counters struct {
	Fast    uint64 // SRTP decrypted on the fast path
	ToPion  uint64 // datagrams handed to the slow path
	Dropped uint64 // slow-path queue full, or SRTP that did not authenticate on an armed stream
	// SendFailed counts SRTP packets towards peers that the socket did
	// not take (send buffer full, no route): lost, as a UDP send is.
	SendFailed uint64
}

// Listen opens the UDP socket on addr. buffer, if positive, is its
// SO_RCVBUF and SO_SNDBUF (forced past net.core.rmem_max/wmem_max where
// the process may; ReadBuffer tells what the kernel granted).
func Listen(addr netip.AddrPort, buffer int, log *slog.Logger) (*Mux, error) {
	return ListenReaders(addr, 1, buffer, log)
}

// ListenReaders is Listen with readers sockets on the one port, where the
// system has SO_REUSEPORT (Linux; elsewhere one): each has its own reader
// goroutine and its own buffer of buffer bytes, and the kernel hashes a
// datagram's 4-tuple to pick the socket (socket(7)), so one peer's
// datagrams always reach the same reader, in order, while many peers'
// spread over all of them. The streams' table is shared: a peer whose
// address changes (an ICE restart, a NAT rebinding) is found by whichever
// reader its new 4-tuple reaches. Every datagram the Mux sends leaves
// from the first socket, with the same source address and port as the
// others'. The port is first bound once without SO_REUSEPORT, so that a
// port another process holds is an error, not silently shared.
func ListenReaders(addr netip.AddrPort, readers, buffer int, log *slog.Logger) (*Mux, error) {
	conns, err := listenGroup(addr, max(1, readers))
	if err != nil {
		return nil, fmt.Errorf("srtpmux: listen: %w", err)
	}
	if buffer > 0 {
		for _, c := range conns {
			setBuffers(c, buffer)
		}
	}
	return newMux(conns, log)
}

// New makes a Mux on a socket the caller opened (with options of its
// own, such as SO_REUSEPORT); the Mux owns it from then on and closes it.
func New(conn *net.UDPConn, log *slog.Logger) (*Mux, error) {
	return newMux([]*net.UDPConn{conn}, log)
}

func newMux(conns []*net.UDPConn, log *slog.Logger) (*Mux, error) {
	if log == nil {
		log = slog.Default()
	}
	rc, err := conns[0].SyscallConn()
	if err != nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return nil, fmt.Errorf("srtpmux: %w", err)
	}
	m := &Mux{
		conns:   conns,
		conn:    conns[0],
		rc:      rc,
		v6:      isInet6(rc),
		log:     log,
		streams: map[netip.AddrPort]*Stream{},
		hellos:  map[netip.AddrPort]hello{},
		slow:    make(chan *datagram, slowQueue),
		done:    make(chan struct{}),
	}
	m.pool.New = func() any { return new(datagram) }
	m.pc = &slowConn{m: m}
	for i, c := range conns {
		m.wg.Add(1)
		go m.read(i, c)
	}
	return m, nil
}

// Readers is the number of sockets (and reader goroutines) of the Mux:
// the reader numbers that NewStream's callbacks and OnReadBatch's hook
// get are 0 … Readers()-1.
func (m *Mux) Readers() int { return len(m.conns) }

// LocalAddr is the socket's local address.
func (m *Mux) LocalAddr() netip.AddrPort {
	return m.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// PacketConn is the slow path: what the fast path does not take, for
// ice.NewUDPMuxDefault. Its writes go out of the socket. Closing it
// closes the Mux.
func (m *Mux) PacketConn() net.PacketConn { return m.pc }

// Counters returns the Mux's counters.
func (m *Mux) Counters() Counters {
	return Counters{Fast: m.fast.Load(), ToPion: m.toPion.Load(), Dropped: m.dropped.Load(), SendFailed: m.sendFail.Load()}
}

// Close closes the socket and waits for the reader.
func (m *Mux) Close() error {
	var err error
	m.closing.Do(func() {
		close(m.done)
		for _, c := range m.conns {
			err = errors.Join(err, c.Close())
		}
		m.wg.Wait()
	})
	return err
}

// isRTP reports whether b is an RTP packet by RFC 7983 §7 (first byte
// 128–191) and RFC 5761 §4 (payload types 64–95 with the marker are RTCP).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// handle demultiplexes one datagram that reader read (RFC 7983 §7).
func (m *Mux) handle(pkt []byte, from netip.AddrPort, reader int) {
	if isRTP(pkt) {
		m.mu.RLock()
		s := m.streams[from]
		m.mu.RUnlock()
		if s != nil && s.input(pkt, reader) {
			return
		}
	} else if isRTCP(pkt) {
		m.rtcp(pkt, from) // a copy to the stream's RTCP hook (rtcp.go)
	} else if len(pkt) > 0 && pkt[0] == contentHandshake {
		m.observe(pkt, from)
	}
	m.toSlow(pkt, from)
}

// Handle takes a datagram from `from` that the caller read from a socket
// of its own, as if the Mux had read it: an SRTP packet of an armed
// stream's peer is decrypted (in place: pkt needs no more room) and
// delivered, anything else goes to the slow path. For a process that
// drains a socket sharing the Mux's port itself (SO_REUSEPORT, a socket
// connected to one peer); it may be called concurrently with the readers.
// Its callbacks get reader number 0.
func (m *Mux) Handle(pkt []byte, from netip.AddrPort) {
	m.handle(pkt, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), 0)
	m.endBatch(0)
}

// readOne is the portable reader of socket c, reader number i: one
// datagram per call.
func (m *Mux) readOne(i int, c *net.UDPConn) {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if m.stopped(err) {
				return
			}
			continue
		}
		m.handle(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), i)
		m.endBatch(i)
	}
}

// stopped reports whether a read error means the Mux is closing; other
// errors (an ICMP error surfacing) are waited out briefly.
func (m *Mux) stopped(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	select {
	case <-m.done:
		return true
	case <-time.After(time.Millisecond):
		return false
	}
}

func (m *Mux) toSlow(pkt []byte, from netip.AddrPort) {
	d := m.pool.Get().(*datagram)
	d.n = copy(d.buf[:], pkt)
	d.from = from
	select {
	case m.slow <- d:
		m.toPion.Add(1)
	default:
		m.pool.Put(d)
		m.dropped.Add(1)
	}
}

// maxHellos bounds the ServerHellos kept: a flood of forged ones from
// many addresses empties the table (a handshake then in progress keeps
// its media on the slow path) instead of growing it.
const maxHellos = 16384

// observe records the ServerHello in a DTLS datagram to or from addr.
func (m *Mux) observe(b []byte, addr netip.AddrPort) {
	h, ok := parseServerHello(b)
	if !ok {
		return
	}
	m.mu.Lock()
	if len(m.hellos) >= maxHellos {
		clear(m.hellos)
	}
	m.hellos[addr] = h
	m.mu.Unlock()
}

// takeHello returns and forgets the ServerHello seen with addr.
func (m *Mux) takeHello(addr netip.AddrPort) (hello, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.hellos[addr]
	delete(m.hellos, addr)
	return h, ok
}

func (m *Mux) register(s *Stream, old, addr netip.AddrPort) {
	m.mu.Lock()
	if old.IsValid() && m.streams[old] == s {
		delete(m.streams, old)
	}
	if addr.IsValid() {
		m.streams[addr] = s
	}
	m.mu.Unlock()
}

func (m *Mux) send(b []byte, to netip.AddrPort) error {
	_, err := m.conn.WriteToUDPAddrPort(b, to)
	return err
}

// slowConn is the net.PacketConn pion's ICE UDP mux reads. It also has
// the allocation-free ice.AddrPortReaderWriter methods.
type slowConn struct{ m *Mux }

func (c *slowConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.m.slow:
		n := copy(b, d.buf[:d.n])
		from := d.from
		c.m.pool.Put(d)
		return n, from, nil
	case <-c.m.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *slowConn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if len(b) > 0 && b[0] == contentHandshake {
		c.m.observe(b, netip.AddrPortFrom(to.Addr().Unmap(), to.Port()))
	}
	return c.m.conn.WriteToUDPAddrPort(b, to)
}

func (c *slowConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (c *slowConn) WriteTo(b []byte, to net.Addr) (int, error) {
	if ua, ok := to.(*net.UDPAddr); ok {
		return c.WriteToAddrPort(b, ua.AddrPort())
	}
	return c.m.conn.WriteTo(b, to)
}

func (c *slowConn) Close() error                       { return c.m.Close() }
func (c *slowConn) LocalAddr() net.Addr                { return c.m.conn.LocalAddr() }
func (c *slowConn) SetDeadline(t time.Time) error      { return c.m.conn.SetWriteDeadline(t) }
func (c *slowConn) SetReadDeadline(time.Time) error    { return nil }
func (c *slowConn) SetWriteDeadline(t time.Time) error { return c.m.conn.SetWriteDeadline(t) }
