package srtpmux

import (
	"net"

	"github.com/switchboard-gw/switchboard/internal/sockbuf"
)

// setBuffers asks for size bytes of receive and send buffer
// (internal/sockbuf: SO_RCVBUFFORCE/SO_SNDBUFFORCE first, which pass
// net.core.rmem_max and wmem_max where the process may, else the capped
// options). What was granted: ReadBuffer.
func setBuffers(conn *net.UDPConn, size int) {
	_, _ = sockbuf.Set(conn, sockbuf.Sizes{Read: size, Write: size})
}

// ReadBuffer is the receive buffer the kernel granted each of the Mux's
// sockets (the smallest), in the bytes asked for (Linux reports twice that
// in SO_RCVBUF, its bookkeeping included; this is half of it): less than
// Listen asked when net.core.rmem_max capped it. 0 if unknown (on other
// systems than Linux).
func (m *Mux) ReadBuffer() int {
	least := 0
	for i, c := range m.conns {
		if got := sockbuf.Get(c).Read; i == 0 || got < least {
			least = got
		}
	}
	return least
}
