package relay

import (
	"fmt"
	"net/netip"
	"time"
)

// Config is the relay's configuration. The zero value gives the defaults below.
type Config struct {
	// ListenIP is the address the RTP and RTCP sockets bind to.
	// Default: 0.0.0.0 (every IPv4 address).
	ListenIP netip.Addr

	// PortMin and PortMax bound the UDP ports used, both included. RTP takes
	// the even port of each pair and RTCP the next (odd) one, RFC 3550 §11.
	// Default: 40000–49999 (2,500 sessions of two sides).
	PortMin, PortMax int

	// MediaTimeout is how long a session may see no RTP in either direction
	// before Session.Timeout is closed, once Session.ArmTimeout was called.
	// Default: 60 s. Negative: never.
	MediaTimeout time.Duration

	// Latching chooses where a side's far end is learnt from. Default: LatchAny.
	Latching Latching

	// RelatchAfter is how long a latched source must have been silent before
	// a packet from a new source may take its place. Default: 2 s.
	// Negative: never (only Side.SetRemote re-latches).
	RelatchAfter time.Duration

	// SocketBuffer sets SO_RCVBUF and SO_SNDBUF of every socket, in bytes.
	// Default: 0 (the system's default, about 200 KB on Linux).
	SocketBuffer int
}

const (
	defaultPortMin      = 40000
	defaultPortMax      = 49999
	defaultMediaTimeout = 60 * time.Second
	defaultRelatchAfter = 2 * time.Second

	// maxPacket is the reader buffer: an Ethernet MTU with room to spare.
	// Longer datagrams are cut by the kernel and counted as Invalid.
	maxPacket = 2048
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if !c.ListenIP.IsValid() {
		c.ListenIP = netip.IPv4Unspecified()
	}
	if c.PortMin == 0 && c.PortMax == 0 {
		c.PortMin, c.PortMax = defaultPortMin, defaultPortMax
	}
	if c.MediaTimeout == 0 {
		c.MediaTimeout = defaultMediaTimeout
	}
	if c.RelatchAfter == 0 {
		c.RelatchAfter = defaultRelatchAfter
	}
	return c
}

// validate checks a Config that went through withDefaults. It has no side
// effects.
func (c Config) validate() error {
	if c.PortMin < 1 || c.PortMax > 65535 || c.PortMin > c.PortMax {
		return fmt.Errorf("%w: port range %d-%d", ErrInvalidConfig, c.PortMin, c.PortMax)
	}
	if first := c.PortMin + c.PortMin%2; first+1 > c.PortMax {
		return fmt.Errorf("%w: port range %d-%d holds no even/odd pair", ErrInvalidConfig, c.PortMin, c.PortMax)
	}
	if c.Latching < LatchAny || c.Latching > LatchOff {
		return fmt.Errorf("%w: latching %d", ErrInvalidConfig, c.Latching)
	}
	if c.SocketBuffer < 0 {
		return fmt.Errorf("%w: socket buffer %d", ErrInvalidConfig, c.SocketBuffer)
	}
	return nil
}
