package turn

import (
	"net"
	"net/netip"
)

// deniedPeers are the ranges a TURN client may not reach through the relay
// unless Options.AllowPeers opens them: relaying to them would let anyone
// with credentials probe and reach the gateway's own host and its internal
// networks (the CVE-2020-26262 class; RFC 8656 §21.2.3 "the server SHOULD
// ... restrict the peers").
var deniedPeers = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network", RFC 1122 §3.2.1.3 (0.0.0.0 reaches the host)
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback, RFC 1122
	netip.MustParsePrefix("10.0.0.0/8"),         // private, RFC 1918
	netip.MustParsePrefix("172.16.0.0/12"),      // private, RFC 1918
	netip.MustParsePrefix("192.168.0.0/16"),     // private, RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),      // shared address space (CGN), RFC 6598
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, RFC 3927; holds 169.254.169.254 (cloud metadata)
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments, RFC 6890
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking, RFC 2544
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast, RFC 5771
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved and broadcast, RFC 1112 §4
	netip.MustParsePrefix("::/128"),             // unspecified
	netip.MustParsePrefix("::1/128"),            // loopback, RFC 4291 §2.5.3
	netip.MustParsePrefix("fc00::/7"),           // unique local, RFC 4193; holds fd00:ec2::254 (AWS metadata)
	netip.MustParsePrefix("fe80::/10"),          // link-local, RFC 4291 §2.5.6
	netip.MustParsePrefix("ff00::/8"),           // multicast, RFC 4291 §2.7
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64, RFC 8215
	netip.MustParsePrefix("2001:db8::/32"),      // documentation, RFC 3849
	netip.MustParsePrefix("::ffff:0:0/96"),      // IPv4-mapped: checked again unmapped below
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS instance metadata over IPv6 (inside fc00::/7 too)
	netip.MustParsePrefix("169.254.169.254/32"), // cloud instance metadata (inside 169.254/16 too)
}

// PeerFilter decides which peer addresses allocations may reach: every
// address except the denied ranges above, plus the allowed prefixes.
type PeerFilter struct {
	allow []netip.Prefix
}

// NewPeerFilter returns a filter that also admits the allow prefixes.
func NewPeerFilter(allow []netip.Prefix) *PeerFilter {
	return &PeerFilter{allow: append([]netip.Prefix(nil), allow...)}
}

// Allowed reports whether a relay may send to and receive from ip. An
// IPv4-mapped IPv6 address is judged as the IPv4 address it maps, so
// ::ffff:127.0.0.1 is loopback.
func (f *PeerFilter) Allowed(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range f.allow {
		if p.Contains(ip) {
			return true
		}
	}
	for _, p := range deniedPeers {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// allowedIP is Allowed for a net.IP.
func (f *PeerFilter) allowedIP(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	return ok && f.Allowed(a)
}
