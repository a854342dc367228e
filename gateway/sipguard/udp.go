package sipguard

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxDatagram is the largest UDP payload (IPv6, no jumbograms).
const maxDatagram = 65535

// PacketConn wraps the UDP socket handed to sipgo's ServeUDP. ReadFrom
// returns only datagrams that passed Check, trimmed to their
// Content-Length (RFC 3261 §18.3); everything else is answered (400, 513)
// or dropped before sipgo sees it. Writes pass through.
//
// Datagrams are read into a 64 KiB buffer, so messages over the MTU are
// not truncated; set sip.TransportBufferReadSize to 65535 so sipgo's own
// buffer holds them too (smaller buffers get a 513 for bigger messages).
//
// CRLF keepalives are dropped and counted. STUN Binding requests (the
// RFC 5626 §4.4.2 keepalive) get a Binding success response with the
// source address; other STUN-looking datagrams (first byte 0x00 or 0x01,
// RFC 7983) are dropped and counted.
func (g *Guard) PacketConn(pc net.PacketConn) net.PacketConn {
	return &packetConn{PacketConn: pc, g: g}
}

type packetConn struct {
	net.PacketConn
	g *Guard

	mu  sync.Mutex // guards buf for the rare concurrent readers
	buf []byte

	peers [peerSlots]atomic.Pointer[peerAddr]
}

// peerSlots is how many recent peers' addresses a packetConn keeps
// formatted: a trunk's PBX, a proxy in front of the phones, the busiest
// phones.
const peerSlots = 64

// peerAddr is a datagram's source with its text made once: sipgo formats
// the source of every datagram it reads twice (its debug hook, on for the
// capture, and the message's Source), three allocations each time. It is
// shared by every datagram from the same address and never changed.
type peerAddr struct {
	*net.UDPAddr
	ap netip.AddrPort
	s  string
}

func (a *peerAddr) String() string { return a.s }

// peer is addr as ReadFrom returns it: a peerAddr, the one of an earlier
// datagram from the same source when its slot still holds it.
func (c *packetConn) peer(addr net.Addr) net.Addr {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return addr
	}
	ap := ua.AddrPort()
	ip := ap.Addr().As16()
	slot := &c.peers[(uint(ap.Port())^uint(ip[15])<<5^uint(ip[14])<<9)%peerSlots]
	if p := slot.Load(); p != nil && p.ap == ap {
		return p
	}
	p := &peerAddr{UDPAddr: ua, ap: ap, s: ua.String()}
	slot.Store(p)
	return p
}

// ReadFrom implements net.PacketConn.
func (c *packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	direct := len(p) >= maxDatagram
	if !direct {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.buf == nil {
			c.buf = make([]byte, maxDatagram)
		}
	}
	for {
		buf := p
		if !direct {
			buf = c.buf
		}
		n, addr, err := c.PacketConn.ReadFrom(buf)
		if err != nil {
			return n, addr, err
		}
		msg, ok := c.screen(buf[:n], addr, len(p))
		if !ok {
			continue
		}
		// msg is part of buf (copy moves it to the start of p), or a
		// rewritten copy that screen made sure fits p.
		return copy(p, msg), c.peer(addr), nil
	}
}

// screen decides about one datagram. It returns the message to hand to
// sipgo: part of d, or its canonical rewrite (CheckCanonical).
func (c *packetConn) screen(d []byte, addr net.Addr, room int) ([]byte, bool) {
	g := c.g
	if len(d) == 0 {
		return nil, false
	}
	ip := addrIP(addr)
	if !g.admit(ip) {
		return nil, false
	}
	if d[0] == 0x00 || d[0] == 0x01 {
		// STUN (RFC 5389 §6: first two bits zero) or zero padding. A
		// Binding request is the RFC 5626 §4.4.2 UDP keepalive of a phone
		// using outbound: it is answered so the phone keeps its flow.
		if c.answerSTUN(d, addr) {
			g.c.stunAnswered.Add(1)
		} else {
			g.c.stunDropped.Add(1)
		}
		return nil, false
	}
	// RFC 5626 §3.5.1 / §4.4.1 CRLF keepalives; RFC 3261 §7.5 leading CRLFs.
	start := 0
	for start+1 < len(d) && d[start] == '\r' && d[start+1] == '\n' {
		start += 2
	}
	if start == len(d) || len(bytes.Trim(d[start:], "\r\n\x00")) == 0 {
		g.c.keepalives.Add(1)
		return nil, false
	}
	msg := d[start:]
	if len(msg) > g.o.MaxMessageSize || len(msg) > room {
		g.c.oversize.Add(1)
		c.answer(msg, addr, statusTooLarge, tooLargePhrase)
		return nil, false
	}
	msg, h, err := CheckCanonical(msg)
	if err != nil {
		g.c.malformed.Add(1)
		code, phrase := rejection(err)
		c.answer(msg, addr, code, phrase)
		return nil, false
	}
	if h.Len() > room {
		// A canonical rewrite may be a little longer than the datagram.
		g.c.oversize.Add(1)
		c.answer(msg, addr, statusTooLarge, tooLargePhrase)
		return nil, false
	}
	if h.IsRequest && !g.screenAgent(msg[:h.HeaderLen], ip, false) {
		return nil, false
	}
	if f := g.intercept.Load(); f != nil && h.IsRequest && (*f)(c.PacketConn, msg[:h.Len()], h, addr) {
		g.c.accepted.Add(1)
		return nil, false
	}
	g.c.accepted.Add(1)
	return msg[:h.Len()], true
}

func (c *packetConn) answer(msg []byte, addr net.Addr, code int, phrase string) {
	resp := buildReply(msg, code, phrase, c.g.o.ServerName)
	if resp == nil {
		c.g.c.unanswerable.Add(1)
		return
	}
	if _, err := c.PacketConn.WriteTo(resp, addr); err == nil {
		if code == statusTooLarge {
			c.g.c.answered513.Add(1)
		} else {
			c.g.c.answered400.Add(1)
		}
	}
}
