package relay

import "net/netip"

// Endpoint is where one side of a session lives: the local address its
// sockets bind to and the address written in the SDP sent to its far end.
// A gateway with a LAN and a public interface gives the PBX's side the LAN
// address and the phone's side the public one (rtpengine's "interfaces"),
// and an IPv6 far end an IPv6 address (c=IN IP6, RFC 4566 §5.7).
type Endpoint struct {
	// Bind is the local address of the side's RTP and RTCP sockets, IPv4
	// or IPv6 (an IPv6 socket is IPv6 only). Default: Config.ListenIP.
	Bind netip.Addr

	// Advertise is the address the far end sends to, when it is not Bind
	// (NAT: a public address forwarded to Bind). Default: Bind, unless
	// Bind is unspecified (0.0.0.0, ::).
	Advertise netip.Addr
}

// advertised is the address for SDP, or the zero Addr when the endpoint
// says nothing better than "every local address".
func (e Endpoint) advertised() netip.Addr {
	switch {
	case e.Advertise.IsValid():
		return e.Advertise.Unmap()
	case e.Bind.IsValid() && !e.Bind.IsUnspecified():
		return e.Bind.Unmap()
	}
	return netip.Addr{}
}

// is6 reports whether the endpoint's sockets are IPv6 sockets.
func (e Endpoint) is6() bool { return e.Bind.Is6() && !e.Bind.Is4In6() }
