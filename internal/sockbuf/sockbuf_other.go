//go:build !linux

package sockbuf

import (
	"fmt"
	"syscall"
)

// bufferSetter is what *net.UDPConn and *net.TCPConn have.
type bufferSetter interface {
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

// set asks for want with SO_RCVBUF and SO_SNDBUF (the net package's
// setters); what was granted is not read back here: zero, unknown.
func set(conn syscall.Conn, want Sizes) (Sizes, error) {
	bs, ok := conn.(bufferSetter)
	if !ok {
		return Sizes{}, fmt.Errorf("%w: %T has no buffer setters", ErrNoRawSocket, conn)
	}
	var err error
	if want.Read > 0 {
		if e := bs.SetReadBuffer(want.Read); e != nil {
			err = fmt.Errorf("sockbuf: SO_RCVBUF: %w", e)
		}
	}
	if want.Write > 0 {
		if e := bs.SetWriteBuffer(want.Write); e != nil && err == nil {
			err = fmt.Errorf("sockbuf: SO_SNDBUF: %w", e)
		}
	}
	return Sizes{}, err
}

func get(syscall.Conn) Sizes { return Sizes{} }
