//go:build !linux

package srtpmux

import "net"

// read is the portable reader of socket c, reader number i.
func (m *Mux) read(i int, c *net.UDPConn) {
	defer m.wg.Done()
	m.readOne(i, c)
}
