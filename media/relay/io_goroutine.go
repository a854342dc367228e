//go:build !linux || relaygoroutines

package relay

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/switchboard-gw/switchboard/internal/sockbuf"
)

// The portable I/O engine: one goroutine per socket, blocked in
// ReadFromUDPAddrPort, writing with WriteToUDPAddrPort. It is used where
// epoll is not available; on Linux the epoll engine (io_linux.go) replaces
// it unless the package is built with the relaygoroutines tag (tests of this
// engine: go test -tags relaygoroutines ./media/relay).

// sock is one bound UDP socket of a side.
type sock struct {
	conn   *net.UDPConn
	local  netip.AddrPort
	side   *Side
	isRTCP bool
}

// relayIO is the engine's per-Relay state: none here.
type relayIO struct{}

// sessionIO counts the session's reader goroutines.
type sessionIO struct {
	wg sync.WaitGroup
}

func (r *Relay) listen(ip netip.Addr, port int) (*sock, error) {
	network := "udp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "udp6"
	} else {
		ip = ip.Unmap()
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return nil, err
	}
	if n := r.cfg.SocketBuffer; n > 0 {
		// forced past the sysctl caps where the process may; a cap is
		// not logged per socket (one per call)
		_, _ = sockbuf.Set(c, sockbuf.Sizes{Read: n, Write: n})
	}
	return &sock{conn: c, local: c.LocalAddr().(*net.UDPAddr).AddrPort()}, nil
}

func (k *sock) close() error { return k.conn.Close() }

// reuse: this engine closes a session's sockets when it ends (stopIO), so
// there is nothing to reuse.
func (r *Relay) reuse(netip.Addr, bool) (port int, rtp, rtcp *sock, ok bool) {
	return 0, nil, nil, false
}

// evictIdle: nothing rests here.
func (r *Relay) evictIdle() (port int, ok bool) { return 0, false }

// retire gives an ended session's port pair back (its sockets are closed).
func (r *Relay) retire(side *Side) { r.ports.put(side.port) }

// dropIdle has nothing to close here.
func (r *Relay) dropIdle() {}

// startIO starts one reader goroutine per socket of s.
func (r *Relay) startIO(s *Session) error {
	s.io.wg.Add(4)
	for _, k := range []*sock{s.a.rtpSock, s.a.rtcp, s.b.rtpSock, s.b.rtcp} {
		go k.read(&s.io.wg)
	}
	return nil
}

// stopIO closes the sockets of s and waits for their readers.
func (r *Relay) stopIO(s *Session) error {
	var first error
	for _, k := range []*sock{s.a.rtpSock, s.a.rtcp, s.b.rtpSock, s.b.rtcp} {
		if err := k.close(); err != nil && first == nil {
			first = err
		}
	}
	s.io.wg.Wait()
	return first
}

// read is the reader goroutine of one socket, with a reused buffer.
func (k *sock) read(wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, maxPacket)
	for {
		n, src, err := k.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if out, to, ok := k.side.input(buf[:n], src, k.isRTCP); ok && !deliver(out, buf[:n]) {
			_, _ = out.conn.WriteToUDPAddrPort(buf[:n], to)
		}
	}
}

// sendFrom sends b out of k (a socket of s) to `to`, for Side.Input.
func (r *Relay) sendFrom(_ *Session, k *sock, b []byte, to netip.AddrPort) bool {
	_, err := k.conn.WriteToUDPAddrPort(b, to)
	return err == nil
}
