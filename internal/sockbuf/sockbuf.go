// Package sockbuf sizes a socket's kernel buffers, the one way every UDP
// socket of the gateway does it: asked for with the force variants first
// (Linux SO_RCVBUFFORCE and SO_SNDBUFFORCE, socket(7), which pass
// net.core.rmem_max and wmem_max where the process has CAP_NET_ADMIN),
// else with SO_RCVBUF and SO_SNDBUF, which the kernel silently caps at
// them. It reports what the kernel granted, so that the caller can log
// (with its own logger and words) that a buffer was capped.
package sockbuf

import (
	"errors"
	"syscall"
)

// ErrNoRawSocket reports a connection without a file descriptor to set
// options on: conn is no syscall.Conn, or its SyscallConn fails.
var ErrNoRawSocket = errors.New("sockbuf: no raw socket")

// Sizes are a socket's receive and send buffers in bytes as a program
// asks for them: Linux reports twice the size asked in SO_RCVBUF and
// SO_SNDBUF (its bookkeeping included, socket(7)), and Sizes are half of
// that. 0 means not asked for (in a request) or unknown (in a result).
type Sizes struct {
	Read, Write int
}

// Capped reports whether the granted sizes g fall short of the asked ones
// (a size not asked for, or unknown, is not capped).
func (g Sizes) Capped(asked Sizes) bool {
	return (asked.Read > 0 && g.Read > 0 && g.Read < asked.Read) ||
		(asked.Write > 0 && g.Write > 0 && g.Write < asked.Write)
}

// Set asks for the buffer sizes of want on conn (a *net.UDPConn, or any
// syscall.Conn; a size ≤ 0 leaves that buffer alone) and returns what the
// kernel granted, read back from the socket (zero where the system does
// not tell). It fails when conn has no usable socket, or when even the
// capped option is refused; the sizes granted are returned either way.
func Set(conn syscall.Conn, want Sizes) (Sizes, error) {
	return set(conn, want)
}

// Get returns the buffer sizes conn has now (as Set's result; zero where
// unknown).
func Get(conn syscall.Conn) Sizes { return get(conn) }
