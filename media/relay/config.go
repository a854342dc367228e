package relay

import (
	"fmt"
	"log/slog"
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

	// HoldTimeout replaces MediaTimeout while the session is on hold: the
	// SDPs let media flow one way at most (a side said sendonly, recvonly
	// or inactive, or c=0.0.0.0, RFC 3264 §8.4), so a holding phone that
	// sends no music on hold is not hung up. Timeout is closed when no
	// RTP came either way for HoldTimeout while on hold. Default: 2 h.
	// Negative: a held session is never timed out.
	HoldTimeout time.Duration

	// Latching chooses which sources may become a side's far end (see
	// Latching). Default: LatchSignalling.
	Latching Latching

	// LearnWindow is how long a side learns its far end's source after each
	// SDP, from the first packet accepted (see Latching). After it, the
	// source and SSRC are fixed until the next SDP. Default: 1 s.
	LearnWindow time.Duration

	// AllowSSRCChange lets the latched source change its RTP SSRC after the
	// learning window (a PBX that switches streams, e.g. to music on hold,
	// without a re-INVITE). Default: false, a new SSRC from the latched
	// source is ignored until the next SDP.
	AllowSSRCChange bool

	// Logger receives the rate-limited report of packets from strangers.
	// Default: slog.Default().
	Logger *slog.Logger

	// SocketBuffer sets SO_RCVBUF and SO_SNDBUF of every socket, in bytes.
	// Default: 0 (the system's default, about 200 KB on Linux).
	SocketBuffer int

	// Threads is the number of I/O workers of the Linux engine, each with
	// its own epoll instance; a session's sockets are served by one of
	// them, chosen round robin. Default: 0, GOMAXPROCS when the first
	// session opens. The portable engine (io_goroutine.go) ignores it.
	Threads int
}

const (
	defaultPortMin      = 40000
	defaultPortMax      = 49999
	defaultMediaTimeout = 60 * time.Second
	defaultHoldTimeout  = 2 * time.Hour
	defaultLearnWindow  = time.Second

	// maxPacket is the reader buffer: an Ethernet MTU with room to spare.
	// Longer datagrams are cut by the kernel and counted as Invalid.
	maxPacket = 2048

	// maxThreads bounds Config.Threads.
	maxThreads = 1024
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
	if c.HoldTimeout == 0 {
		c.HoldTimeout = defaultHoldTimeout
	}
	if c.LearnWindow == 0 {
		c.LearnWindow = defaultLearnWindow
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
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
	if c.LearnWindow < 0 {
		return fmt.Errorf("%w: learn window %v", ErrInvalidConfig, c.LearnWindow)
	}
	if c.Latching < LatchSignalling || c.Latching > LatchOff {
		return fmt.Errorf("%w: latching %d", ErrInvalidConfig, c.Latching)
	}
	if c.Threads < 0 || c.Threads > maxThreads {
		return fmt.Errorf("%w: threads %d (0 to %d)", ErrInvalidConfig, c.Threads, maxThreads)
	}
	if c.SocketBuffer < 0 {
		return fmt.Errorf("%w: socket buffer %d", ErrInvalidConfig, c.SocketBuffer)
	}
	return nil
}
