package capture

import (
	"net"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// discardConn is a UDP socket that sends nothing: the benchmark measures
// the capture, not sendto.
type discardConn struct {
	net.PacketConn
	local *net.UDPAddr
}

func (c discardConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }
func (c discardConn) LocalAddr() net.Addr                       { return c.local }

// BenchmarkCaptureUDP is the capture's share of one datagram read and one
// written on a UDP listener, as sipgo drives them: the read filter, the
// listener wrapper's write, and the listener address sipgo's debug hook
// formats for each (SIPDebug is on for the capture of the stream
// transports).
func BenchmarkCaptureUDP(b *testing.B) {
	msg := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;received=127.0.0.1;rport=5070\r\n" +
		"From: \"u1000\" <sip:u1000@example.com>;tag=a1\r\nTo: <sip:2000@example.com>;tag=b2\r\n" +
		"Call-ID: 1-12345@127.0.0.1\r\nCSeq: 2 INVITE\r\nContact: <sip:2000@127.0.0.1:5080>\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: 0\r\n\r\n")
	tap := NewTap(Sinks{}, netip.Addr{})
	la := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5080}
	ra := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}
	wrapped := tap.PacketConn(discardConn{local: la})
	b.ReportAllocs()
	for b.Loop() {
		_, _ = tap.readFilter(sip.TransportReadProps{Transport: "UDP", LocalAddr: wrapped.LocalAddr(), RemoteAddr: ra}, msg)
		_ = wrapped.LocalAddr().String() // sipgo's read hook
		_, _ = wrapped.WriteTo(msg, ra)
		_ = wrapped.LocalAddr().String() // sipgo's write hook
	}
}
