//go:build !linux

package srtpmux

import (
	"net"
	"net/netip"
)

// listenGroup opens one UDP socket on addr: SO_REUSEPORT's spreading by
// 4-tuple is Linux's (elsewhere the option shares a port differently, or
// not at all), so n is ignored.
func listenGroup(addr netip.AddrPort, _ int) ([]*net.UDPConn, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	return []*net.UDPConn{c}, nil
}
