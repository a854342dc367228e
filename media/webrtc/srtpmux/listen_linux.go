//go:build linux

package srtpmux

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenGroup opens n UDP sockets on addr sharing its port with
// SO_REUSEPORT (socket(7)): the kernel then spreads datagrams over them by
// a hash of their 4-tuple. With n > 1 the port is bound once without the
// option first and released, so that a port another process holds (even
// with SO_REUSEPORT) fails here instead of being silently shared; port 0
// is resolved by that bind.
func listenGroup(addr netip.AddrPort, n int) ([]*net.UDPConn, error) {
	first, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil || n == 1 {
		if err != nil {
			return nil, err
		}
		return []*net.UDPConn{first}, nil
	}
	addr = netip.AddrPortFrom(addr.Addr(), first.LocalAddr().(*net.UDPAddr).AddrPort().Port())
	if err := first.Close(); err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	conns := make([]*net.UDPConn, 0, n)
	for range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr.String())
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return nil, fmt.Errorf("SO_REUSEPORT socket %d of %d: %w", len(conns)+1, n, err)
		}
		conns = append(conns, pc.(*net.UDPConn))
	}
	return conns, nil
}
