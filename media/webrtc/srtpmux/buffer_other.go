//go:build !linux

package srtpmux

import "net"

// setBuffers asks for size bytes of receive and send buffer.
func setBuffers(conn *net.UDPConn, size int) {
	_ = conn.SetReadBuffer(size)
	_ = conn.SetWriteBuffer(size)
}

// ReadBuffer is the receive buffer the kernel granted: unknown here (0).
func (m *Mux) ReadBuffer() int { return 0 }
