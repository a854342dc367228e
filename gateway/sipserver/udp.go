package sipserver

import (
	"fmt"
	"net"
	"runtime"
	"syscall"
)

// udpReadBuffer is the receive buffer asked for each UDP listener: a burst
// of REGISTERs from thousands of phones after a PBX or network outage must
// queue in the kernel, not be dropped.
const udpReadBuffer = 8 << 20

// udpReaders is how many goroutines read each UDP socket.
func udpReaders() int {
	return max(2, runtime.GOMAXPROCS(0))
}

// growReadBuffer sets the socket's receive buffer to size. With
// CAP_NET_ADMIN (root; not the packaged service) SO_RCVBUFFORCE passes
// the net.core.rmem_max cap; otherwise the kernel caps SO_RCVBUF
// silently, which is why the package raises that cap
// (deploy/sysctl/60-switchboard.conf).
func growReadBuffer(pc net.PacketConn, size int) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%T has no raw socket", pc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		if serr != nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
	})
	if err != nil {
		return fmt.Errorf("raw socket control: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("set receive buffer: %w", serr)
	}
	return nil
}
