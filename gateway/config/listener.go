package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// Listener is one parsed sip.listen entry.
type Listener struct {
	// Scheme is udp, tcp, tls, ws or wss.
	Scheme string
	// Host is an IP address or host name without brackets; empty means all
	// interfaces.
	Host string
	// Port is 0 to 65535; 0 means any free port.
	Port int
	// Path is the WebSocket path for ws and wss (default /ws); empty for
	// the other schemes.
	Path string
}

// Network returns the Go network name for the listener: "udp" or "tcp".
func (l Listener) Network() string {
	if l.Scheme == "udp" {
		return "udp"
	}
	return "tcp"
}

// Addr returns host:port for net.Listen, with IPv6 hosts in brackets.
func (l Listener) Addr() string {
	return net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}

// String returns the listener as a URL, as it may be written in sip.listen.
func (l Listener) String() string {
	return l.Scheme + "://" + l.Addr() + l.Path
}

// ParseListener parses a sip.listen URL such as udp://0.0.0.0:5060 or
// wss://[::]:8089/ws.
func ParseListener(s string) (Listener, error) {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		return Listener{}, errors.New("must be a URL scheme://host:port, as udp://0.0.0.0:5060")
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "udp", "tcp", "tls", "ws", "wss":
	default:
		return Listener{}, fmt.Errorf("unknown scheme %q: use udp, tcp, tls, ws or wss", scheme)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Listener{}, fmt.Errorf("not a valid URL: %w", err)
	}
	switch {
	case u.User != nil:
		return Listener{}, errors.New("user information is not allowed")
	case u.RawQuery != "" || u.ForceQuery:
		return Listener{}, errors.New("a query is not allowed")
	case u.Fragment != "":
		return Listener{}, errors.New("a fragment is not allowed")
	}
	l := Listener{Scheme: scheme, Host: u.Hostname(), Path: u.Path}
	if strings.HasPrefix(u.Host, "[") {
		if _, err := netip.ParseAddr(l.Host); err != nil {
			return Listener{}, fmt.Errorf("%q in brackets is not an IPv6 address", l.Host)
		}
	} else if l.Host != "" && !validHost(l.Host) {
		return Listener{}, fmt.Errorf("host %q is not an IP address or host name", l.Host)
	}
	port := u.Port()
	if port == "" {
		return Listener{}, errors.New("missing port, as in udp://0.0.0.0:5060")
	}
	if l.Port, err = parsePort(port); err != nil {
		return Listener{}, err
	}
	switch {
	case scheme != "ws" && scheme != "wss":
		if l.Path != "" {
			return Listener{}, fmt.Errorf("a path is only allowed for ws and wss, not %s", scheme)
		}
	case l.Path == "":
		l.Path = "/ws"
	}
	return l, nil
}

// parsePort parses a decimal port number, 0 to 65535.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 || s[0] == '+' {
		return 0, fmt.Errorf("port %q must be a number from 0 to 65535", s)
	}
	return p, nil
}

// parseHostPort parses http.listen: host:port, where the host is an IP
// address, a host name or empty.
func parseHostPort(s string) (host string, port int, err error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return "", 0, fmt.Errorf("must be host:port, as 0.0.0.0:8443: %w", err)
	}
	if host != "" && !validHost(host) {
		return "", 0, fmt.Errorf("host %q is not an IP address or host name", host)
	}
	if port, err = parsePort(ps); err != nil {
		return "", 0, err
	}
	return host, port, nil
}

// validHost reports whether s is an IP address or a host name (RFC 1123
// labels): dnssrv's rule, so a name config accepts is one dnssrv resolves.
func validHost(s string) bool { return dnssrv.ValidHost(s) }

// parsePrefix parses a security.trusted_callers or exempt_sources entry: a CIDR prefix, or a bare IP
// address meaning that one address. Host bits are cleared.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix, as 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix, as 10.0.0.0/8", s)
	}
	return netip.PrefixFrom(a.WithZone(""), a.BitLen()), nil
}
