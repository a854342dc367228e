package dnssrv

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SIPTarget is a parsed trunk target: where requests towards a trunk go,
// before DNS (RFC 3263 §4 reads the same parts).
type SIPTarget struct {
	// Secure is true for a sips: URI (TLS to the target, RFC 3261 §19.1).
	Secure bool
	// User is the user part, if any; resolution ignores it.
	User string
	// Host is a host name (lower case, no trailing dot) or an IP address
	// (without brackets). It is maddr when the URI has one (RFC 3263 §4).
	Host string
	// Port is the explicit port, or 0 when none was given.
	Port int
	// Transport is udp, tcp, tls, ws or wss from the transport parameter
	// (tcp in a sips: URI becomes tls), or "" when none was given.
	Transport string
}

// IsIP reports whether the host is an IP address literal (no DNS).
func (t SIPTarget) IsIP() bool {
	_, err := netip.ParseAddr(t.Host)
	return err == nil
}

// String returns the target as a SIP URI.
func (t SIPTarget) String() string {
	var b strings.Builder
	if t.Secure {
		b.WriteString("sips:")
	} else {
		b.WriteString("sip:")
	}
	if t.User != "" {
		b.WriteString(t.User)
		b.WriteByte('@')
	}
	if strings.Contains(t.Host, ":") {
		b.WriteString("[" + t.Host + "]")
	} else {
		b.WriteString(t.Host)
	}
	if t.Port != 0 {
		fmt.Fprintf(&b, ":%d", t.Port)
	}
	tp := t.Transport
	if t.Secure {
		switch tp {
		case "tls":
			tp = ""
		case "wss":
			tp = "ws"
		}
	}
	if tp != "" {
		b.WriteString(";transport=" + tp)
	}
	return b.String()
}

// ParseTarget parses a trunk target (trunks[].target in the config): a sip: or sips: URI such as
// sip:pbx.example.com;transport=tcp or sips:10.0.0.5:5061, or a bare
// host[:port] meaning sip:host[:port]. The transport parameter may be
// udp, tcp, tls, ws or wss; maddr replaces the host; other parameters are
// ignored. Passwords and headers (?...) are not allowed.
func ParseTarget(s string) (SIPTarget, error) {
	var t SIPTarget
	rest := s
	switch lower := strings.ToLower(s); {
	case strings.HasPrefix(lower, "sips:"):
		t.Secure, rest = true, s[5:]
	case strings.HasPrefix(lower, "sip:"):
		rest = s[4:]
	case strings.Contains(lower, "://") || strings.HasPrefix(lower, "tel:"):
		return t, errors.New("must be a sip: or sips: URI, as sip:pbx.example.com;transport=tcp")
	}
	if strings.ContainsAny(rest, "?\x00 \t\r\n") {
		return t, errors.New("must not contain headers (?), spaces or control characters")
	}
	rest, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		t.User, rest = rest[:at], rest[at+1:]
		if t.User == "" || strings.Contains(t.User, ":") {
			return t, errors.New("the user part must not be empty or hold a password")
		}
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return t, err
	}
	t.Host, t.Port = host, port
	for p := range strings.SplitSeq(params, ";") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToLower(k) {
		case "transport":
			switch v = strings.ToLower(v); v {
			case "udp", "tcp", "tls", "ws", "wss":
				t.Transport = v
			default:
				return t, fmt.Errorf("transport %q is not supported: use udp, tcp, tls, ws or wss", v)
			}
		case "maddr":
			if !ValidHost(v) {
				return t, fmt.Errorf("maddr %q is not a host name or IP address", v)
			}
			t.Host = v
		}
	}
	if _, err := netip.ParseAddr(t.Host); err != nil {
		t.Host = strings.ToLower(strings.TrimSuffix(t.Host, "."))
	}
	if t.Secure {
		switch t.Transport {
		case "udp":
			return t, errors.New("sips: cannot use transport=udp (TLS needs a reliable transport)")
		case "tcp":
			t.Transport = "tls"
		case "ws":
			t.Transport = "wss"
		}
	}
	return t, nil
}

// splitHostPort splits host[:port] or [v6][:port]; the port is 1 to 65535.
func splitHostPort(s string) (host string, port int, err error) {
	ps := ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New("missing ] after an IPv6 address")
		}
		host, ps = s[1:end], s[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "", 0, fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if ps != "" && ps[0] != ':' {
			return "", 0, fmt.Errorf("unexpected %q after the IPv6 address", ps)
		}
		ps = strings.TrimPrefix(ps, ":")
		if ps == "" && strings.HasSuffix(s, ":") {
			return "", 0, errors.New("empty port")
		}
	} else {
		var hasPort bool
		host, ps, hasPort = strings.Cut(s, ":")
		if hasPort && ps == "" {
			return "", 0, errors.New("empty port")
		}
		if strings.Contains(ps, ":") {
			return "", 0, errors.New("write an IPv6 address in brackets, as sip:[2001:db8::1]:5060")
		}
		if !ValidHost(strings.TrimSuffix(host, ".")) {
			return "", 0, fmt.Errorf("host %q is not a host name or IP address", host)
		}
	}
	if ps != "" {
		if port, err = parsePort(ps); err != nil || port == 0 {
			return "", 0, fmt.Errorf("port %q must be a number from 1 to 65535", ps)
		}
	}
	return host, port, nil
}

// parsePort parses a decimal port number, 0 to 65535.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 || s[0] == '+' {
		return 0, fmt.Errorf("port %q must be a number from 0 to 65535", s)
	}
	return p, nil
}

// ValidHost reports whether s is an IP address or a host name of letters,
// digits and hyphens (RFC 1123 §2.1).
func ValidHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
