package dnssrv

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Transport is a SIP transport, lower case as in a transport parameter.
type Transport string

// The transports a target may use.
const (
	UDP Transport = "udp"
	TCP Transport = "tcp"
	TLS Transport = "tls"
	WS  Transport = "ws"
	WSS Transport = "wss"
)

// Network returns the SIP Via transport token (UDP, TCP, TLS, WS, WSS),
// which is what sipgo's SetTransport takes.
func (t Transport) Network() string { return strings.ToUpper(string(t)) }

// Secure reports whether t runs over TLS.
func (t Transport) Secure() bool { return t == TLS || t == WSS }

// DefaultPort is the port used when neither the URI nor SRV gives one
// (RFC 3261 §19.1.2, RFC 7118 for WebSocket).
func (t Transport) DefaultPort() uint16 {
	switch t {
	case TLS:
		return 5061
	case WS:
		return 80
	case WSS:
		return 443
	}
	return 5060
}

// valid reports whether t is one of the known transports.
func (t Transport) valid() bool {
	switch t {
	case UDP, TCP, TLS, WS, WSS:
		return true
	}
	return false
}

// Source says which RFC 3263 step produced a target.
type Source string

// Sources of targets.
const (
	SourceNAPTR Source = "naptr" // NAPTR → SRV → A/AAAA (RFC 3263 §4.1)
	SourceSRV   Source = "srv"   // SRV → A/AAAA, no NAPTR (§4.1, §4.2)
	SourceA     Source = "a"     // A/AAAA of the host itself (§4.2)
	SourceIP    Source = "ip"    // an IP address in the URI: no DNS (§4.2)
)

// Target is one place a request may be sent: a transport and an address,
// with the DNS data that ordered it.
type Target struct {
	// Transport to use.
	Transport Transport `json:"transport"`
	// Host is the SRV target or URI host the address belongs to, without
	// the trailing dot; the IP address itself for SourceIP.
	Host string `json:"host"`
	// Addr is the IP address and port to send to.
	Addr netip.AddrPort `json:"addr"`
	// Priority and Weight come from the SRV record (RFC 2782); 0 without
	// one. NAPTR order and preference decide the order between services.
	Priority uint16 `json:"priority"`
	Weight   uint16 `json:"weight"`
	// TTL is the shortest TTL of the records that led here, as of the
	// lookup; Expires is when that runs out (zero for SourceIP).
	TTL     time.Duration `json:"ttl_ns"`
	Expires time.Time     `json:"expires,omitzero"`
	// Source says which step produced the target.
	Source Source `json:"source"`
}

// Key identifies the target for health: transport and address.
func (t Target) Key() string {
	return string(t.Transport) + ":" + t.Addr.String()
}

// HostPort returns the address as host:port, for sipgo's SetDestination.
func (t Target) HostPort() string { return t.Addr.String() }

// URI returns a SIP URI that reaches the target directly, as used for the
// Request-URI of probes: sip:ADDR:PORT;transport=T (sips for TLS).
func (t Target) URI() string {
	scheme, tp := "sip:", string(t.Transport)
	switch t.Transport {
	case TLS:
		scheme, tp = "sips:", ""
	case WSS:
		scheme, tp = "sips:", "ws"
	}
	host := t.Addr.Addr().String()
	if t.Addr.Addr().Is6() {
		host = "[" + host + "]"
	}
	s := scheme + host + ":" + strconv.Itoa(int(t.Addr.Port()))
	if tp != "" && tp != "udp" {
		s += ";transport=" + tp
	}
	return s
}

// String returns transport:addr (host, priority/weight).
func (t Target) String() string {
	return t.Key() + " (" + t.Host + " " + string(t.Source) + " " +
		strconv.Itoa(int(t.Priority)) + "/" + strconv.Itoa(int(t.Weight)) + ")"
}
