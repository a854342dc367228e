// Package relay anchors RTP and RTCP for a call: each Session joins two sides
// (A and B), each a pair of UDP sockets (even RTP port, odd RTCP port,
// RFC 3550 §11) taken from a configured range. Packets that arrive on A's
// sockets from A's far end are sent out of B's sockets to B's far end, and
// the other way round.
//
// The far end of a side is first the address its SDP declared (Side.SetRemote)
// and then the source actually seen: symmetric RTP latching, for phones behind
// NAT (RFC 4961 describes symmetric RTP), in a short learning window after
// each SDP and only from the SDP's IP or the IP the side's SIP comes from;
// packets from anywhere else (strangers) are never forwarded, and are counted
// and logged. Latching, hold and timeout rules are documented on Config,
// Latching, Remote and Session.
//
// Each side may live on its own address (NewSessionOn, Endpoint): a LAN and
// a public interface, or IPv4 and IPv6, with the address to advertise in
// SDP. On Linux a few epoll workers (Config.Threads, default GOMAXPROCS)
// serve every socket (io_linux.go); elsewhere each socket has one reader
// goroutine (io_goroutine.go). The forwarding path does not allocate.
// Close ends every goroutine.
package relay
