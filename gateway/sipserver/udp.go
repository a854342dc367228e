package sipserver

import (
	"fmt"
	"net"
	"runtime"
	"syscall"

	"github.com/switchboard-gw/switchboard/internal/sockbuf"
)

// udpReadBuffer is the receive buffer asked for each UDP listener: a burst
// of REGISTERs from thousands of phones after a PBX or network outage must
// queue in the kernel, not be dropped.
const udpReadBuffer = 8 << 20

// udpReaders is how many goroutines read each UDP socket.
func udpReaders() int {
	return max(2, runtime.GOMAXPROCS(0))
}

// growReadBuffer sets the socket's receive buffer to size
// (internal/sockbuf: SO_RCVBUFFORCE with CAP_NET_ADMIN — root; not the
// packaged service — else SO_RCVBUF, which the kernel caps at
// net.core.rmem_max, why the package raises that cap:
// deploy/sysctl/60-switchboard.conf). It fails when the buffer could not
// be set or was capped.
func growReadBuffer(pc net.PacketConn, size int) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%T has no raw socket", pc)
	}
	want := sockbuf.Sizes{Read: size}
	got, err := sockbuf.Set(sc, want)
	if err != nil {
		return fmt.Errorf("set receive buffer: %w", err)
	}
	if got.Capped(want) {
		return fmt.Errorf("receive buffer capped at %d bytes of %d by net.core.rmem_max", got.Read, size)
	}
	return nil
}
