package turn

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// Options configure a Server. Zero values take the defaults named.
type Options struct {
	// Listen lists the listeners as udp://host:port, tcp://host:port,
	// tls://host:port and dtls://host:port (TURN over DTLS, RFC 7350, on
	// UDP). STUN Binding is answered on every one of them.
	Listen []string

	// TLS is the certificate of tls:// and dtls:// listeners.
	TLS *tls.Config

	// Realm is the long-term credential realm (RFC 8489 §9.2). Required.
	Realm string

	// Secret is the TURN REST API shared secret; "" accepts static users only.
	Secret string

	// Users are static long-term users: username → password.
	Users map[string]string

	// RelayAddress is the IP written in XOR-RELAYED-ADDRESS. Required.
	RelayAddress netip.Addr

	// RelayBind is the IP the relay sockets bind to. Default: the
	// unspecified address of RelayAddress's family.
	RelayBind netip.Addr

	// PortMin and PortMax bound the relay ports, both included; 0 and 0
	// take any free port.
	PortMin, PortMax int

	// AllowPeers opens peer ranges the filter denies (see PeerFilter).
	AllowPeers []netip.Prefix

	// UserQuota is the most allocations one user may hold at once; 0 is
	// no limit. TotalQuota is the most in all; 0 is no limit. Beyond
	// either, Allocate gets 486 (RFC 8656 §7.2 step 7).
	UserQuota, TotalQuota int

	// MaxBitrate caps each UDP allocation, in bits per second, in each
	// direction; packets over it are dropped. 0 is no cap.
	MaxBitrate int64

	// Lifetime is the allocation lifetime granted when the client asks
	// for none (RFC 8656 §7.2). Default: 10m.
	Lifetime time.Duration

	// SourceRate and SourceBurst limit STUN requests per source IP
	// address (ChannelData and indications are not counted): over UDP the
	// excess is dropped, over TCP/TLS the connection is closed. 0 turns
	// the limit off.
	SourceRate, SourceBurst int

	// MaxConnsPerIP and MaxConns cap TCP and TLS connections; 0 is no cap.
	MaxConnsPerIP, MaxConns int

	// IdleTimeout closes a TCP or TLS connection that sent nothing for
	// this long. Default: Lifetime plus a minute. A new connection must
	// send within FirstByteTimeout. Default: 10s.
	IdleTimeout, FirstByteTimeout time.Duration

	// PublicHost is the host name or IP address in the URLs ICEServers
	// returns. Default: RelayAddress.
	PublicHost string

	// CredentialTTL is how long the REST credentials ICEServers mints stay
	// valid. Default: 24h.
	CredentialTTL time.Duration

	// Logger receives the server's log. Default: discard.
	Logger *slog.Logger
}

// listener is one parsed Options.Listen entry.
type listener struct {
	scheme string // udp, tcp, tls, dtls
	addr   string // host:port
}

func parseListener(s string) (listener, error) {
	u, err := url.Parse(s)
	if err != nil {
		return listener{}, fmt.Errorf("%w %q: %w", ErrBadListener, s, err)
	}
	switch u.Scheme {
	case "udp", "tcp", "tls", "dtls":
	default:
		return listener{}, fmt.Errorf("%w %q: scheme must be udp, tcp, tls or dtls", ErrBadListener, s)
	}
	if u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return listener{}, fmt.Errorf("%w %q: want scheme://host:port", ErrBadListener, s)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 0 || p > 65535 {
		return listener{}, fmt.Errorf("%w %q: bad port", ErrBadListener, s)
	}
	return listener{scheme: u.Scheme, addr: u.Host}, nil
}

func (o *Options) withDefaults() Options {
	c := *o
	if c.Lifetime == 0 {
		c.Lifetime = 10 * time.Minute
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = c.Lifetime + time.Minute
	}
	if c.FirstByteTimeout == 0 {
		c.FirstByteTimeout = 10 * time.Second
	}
	if !c.RelayBind.IsValid() && c.RelayAddress.IsValid() {
		if c.RelayAddress.Is4() {
			c.RelayBind = netip.IPv4Unspecified()
		} else {
			c.RelayBind = netip.IPv6Unspecified()
		}
	}
	if c.PublicHost == "" && c.RelayAddress.IsValid() {
		c.PublicHost = c.RelayAddress.String()
	}
	if c.CredentialTTL == 0 {
		c.CredentialTTL = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
