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
// Each socket has one reader goroutine with a reused buffer; the forwarding
// path does not allocate. Close ends every goroutine.
package relay
