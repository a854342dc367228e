package webrtc

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"
)

// Config configures an Engine. The zero value gives the defaults below.
type Config struct {
	// ListenIP is the address of the one UDP socket every browser's ICE,
	// DTLS and SRTP arrive on (pion's ICE UDP mux). Default: 0.0.0.0.
	ListenIP netip.Addr

	// Port is that socket's UDP port. Default: DefaultPort (10000). 0 in a
	// Config means the default; use PortAny for an ephemeral port (tests).
	Port int

	// PublicIPs are the addresses written in our ICE host candidates
	// (media.public_address behind NAT). Default: the addresses of the
	// socket (every interface's when ListenIP is unspecified).
	PublicIPs []netip.Addr

	// BridgeIP is the address of each leg's plain RTP socket towards the
	// relay (the "phone" the relay sees). Default: 127.0.0.1.
	BridgeIP netip.Addr

	// ConsentTimeout is how long a browser may send nothing (no ICE consent
	// check, no media) before its leg ends: RFC 7675 §5.1 allows at most
	// 30 s. The leg reports the browser as disconnected after a third of
	// it. A leg that never connects ends after ConsentTimeout too.
	// Default: 20 s.
	ConsentTimeout time.Duration

	// SocketBuffer is SO_RCVBUF and SO_SNDBUF of the ICE socket, which
	// carries every browser's media: a short stall of its reader must not
	// overflow it (1,000 calls send 50,000 packets a second there; in
	// webrtcbench this socket is the first of the gateway's to drop).
	// The kernel caps it at net.core.rmem_max/wmem_max unless the process
	// has CAP_NET_ADMIN (Linux's default cap is 208 KiB); New logs
	// a warning when it was capped, and ReadBuffer says what was granted.
	// Default: 4 MiB.
	SocketBuffer int

	// ICEReaders is how many sockets share the ICE port on the fast path
	// (Linux SO_REUSEPORT; elsewhere one), each with its own reader and
	// SocketBuffer: the kernel hashes each browser's address to one of
	// them, so its packets stay in order on one reader while many
	// browsers' spread over all, and one stalled reader no longer holds
	// every browser's media (srtpmux.ListenReaders). 1 is the single
	// socket of before. Default: GOMAXPROCS, at most 8.
	ICEReaders int

	// SlowPath carries every SRTP packet through pion's PeerConnection, as
	// before the fast path (srtpmux): the benchmark's anchor. Default
	// false: an established leg's SRTP is decrypted and encrypted on the
	// socket's reader and the relay's workers.
	SlowPath bool

	// Logger receives the Engine's and pion's warnings. Default:
	// slog.Default().
	Logger *slog.Logger
}

const (
	// DefaultPort is the UDP port of the ICE mux (the port Jitsi's
	// videobridge made usual for one-port WebRTC media).
	DefaultPort = 10000
	// PortAny asks for an ephemeral port.
	PortAny = -1

	defaultConsentTimeout = 20 * time.Second
	maxConsentTimeout     = 30 * time.Second // RFC 7675 §5.1

	// maxICEReaders bounds the default ICEReaders: more readers than this
	// spread 50,000 packets a second so thin that each batch is small.
	maxICEReaders = 8
)

func (c Config) withDefaults() Config {
	if !c.ListenIP.IsValid() {
		c.ListenIP = netip.IPv4Unspecified()
	}
	switch c.Port {
	case 0:
		c.Port = DefaultPort
	case PortAny:
		c.Port = 0
	}
	if !c.BridgeIP.IsValid() {
		c.BridgeIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = 4 << 20
	}
	if c.ICEReaders == 0 {
		c.ICEReaders = min(runtime.GOMAXPROCS(0), maxICEReaders)
	}
	if c.ConsentTimeout == 0 {
		c.ConsentTimeout = defaultConsentTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("webrtc: port %d out of range", c.Port)
	}
	if c.ICEReaders < 1 || c.ICEReaders > 64 {
		return fmt.Errorf("webrtc: %d ICE readers not within 1..64", c.ICEReaders)
	}
	if c.ConsentTimeout < time.Second || c.ConsentTimeout > maxConsentTimeout {
		return fmt.Errorf("webrtc: consent timeout %v not within 1s..30s (RFC 7675 §5.1)", c.ConsentTimeout)
	}
	for _, ip := range c.PublicIPs {
		if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() {
			return fmt.Errorf("webrtc: public address %v not usable in a candidate", ip)
		}
	}
	return nil
}
