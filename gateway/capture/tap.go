package capture

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxFlows bounds the stream peers whose local address a Tap remembers.
const maxFlows = 8192

// Listener is a bound SIP listener: its scheme (udp, tcp, tls, ws, wss)
// and address.
type Listener struct {
	Scheme string
	Addr   netip.AddrPort
}

// Tap is one SIP server's capture point: it turns what sipgo reads and
// writes into Messages for its sink. Make it with NewTap, hook it into the
// user agent with TransactionLayerOption, name the listeners once bound
// with SetListeners, and Close it with the server.
type Tap struct {
	sink Sink
	ip   netip.Addr // names an unspecified local IP; may be invalid

	mu        sync.RWMutex
	listeners map[netip.AddrPort]string // bound stream address -> scheme
	udp       map[netip.AddrPort]bool   // bound UDP addresses (a TCP listener may share one)
	first     map[string]netip.AddrPort // scheme -> its first listener
	flows     map[netip.AddrPort]netip.AddrPort

	unattributed atomic.Uint64
}

// NewTap makes a Tap feeding sink. localIP, if valid, replaces an
// unspecified local address (a listener on 0.0.0.0) in what is captured.
func NewTap(sink Sink, localIP netip.Addr) *Tap {
	return &Tap{sink: sink, ip: localIP, listeners: map[netip.AddrPort]string{}, udp: map[netip.AddrPort]bool{},
		first: map[string]netip.AddrPort{}, flows: map[netip.AddrPort]netip.AddrPort{}}
}

// TransactionLayerOption registers the Tap on the transport layer before
// the transaction layer does (sipgo applies these options first), so an
// incoming message is captured before any handler can answer it.
func (t *Tap) TransactionLayerOption() sip.TransactionLayerOption {
	return func(txl *sip.TransactionLayer) { txl.Transport().OnMessage(t.onMessage) }
}

// TransportLayerOption installs the Tap's read filter, which captures
// UDP datagrams as received, just before sipgo parses them: the exact
// bytes and both addresses, for less than re-serialising the parsed
// message (onMessage takes the stream transports, where a read is not a
// message).
func (t *Tap) TransportLayerOption() sip.TransportLayerOption {
	return sip.WithTransportLayerReadFilter(t.readFilter)
}

func (t *Tap) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport == "UDP" {
		t.Datagram(In, p.LocalAddr, p.RemoteAddr, data)
	}
	return data, nil
}

// SetListeners names the bound listeners, so that writes on them are
// attributed to this Tap and incoming messages get their local address.
func (t *Tap) SetListeners(ls []Listener) {
	t.mu.Lock()
	for _, l := range ls {
		if l.Scheme == "udp" {
			t.udp[l.Addr] = true
		} else {
			t.listeners[l.Addr] = l.Scheme
		}
		if _, ok := t.first[l.Scheme]; !ok {
			t.first[l.Scheme] = l.Addr
		}
	}
	t.mu.Unlock()
	register(t, ls)
}

// Close stops attributing writes to this Tap.
func (t *Tap) Close() { unregister(t) }

// Unattributed counts writes of this process that no Tap could be sure of
// (several Taps and a connection from none of their listeners).
func Unattributed() uint64 { return reg.unattributed.Load() }

// onMessage is the transport layer's message handler.
func (t *Tap) onMessage(msg sip.Message) {
	remote, err := netip.ParseAddrPort(msg.Source())
	if err != nil {
		return
	}
	remote = unmap(remote)
	transport := strings.ToLower(msg.Transport())
	if transport == "udp" {
		return // readFilter took it
	}
	var buf bytes.Buffer
	buf.Grow(1024)
	msg.StringWrite(&buf)
	m := &Message{Time: time.Now(), Dir: In, Transport: transport, Remote: remote,
		Local: t.local(transport, remote), Data: buf.Bytes(), Head: HeadOf(msg)}
	t.sink.Capture(m)
}

// local is the local address of an incoming message from remote: the one
// the gateway wrote to remote from (a stream), else the transport's
// listener.
func (t *Tap) local(transport string, remote netip.AddrPort) netip.AddrPort {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var l netip.AddrPort
	if transport != "udp" {
		l = t.flows[remote]
	}
	if !l.IsValid() {
		l = t.first[transport]
	}
	return t.named(l)
}

func (t *Tap) named(l netip.AddrPort) netip.AddrPort {
	if l.IsValid() && l.Addr().IsUnspecified() && t.ip.IsValid() {
		return netip.AddrPortFrom(t.ip, l.Port())
	}
	return l
}

// Datagram records a UDP datagram the gateway handled without sipgo (the
// stateless REGISTER path): data is copied.
func (t *Tap) Datagram(dir Direction, local, remote net.Addr, data []byte) {
	t.datagram(dir, addrPort(local), addrPort(remote), data)
}

func (t *Tap) datagram(dir Direction, local, remote netip.AddrPort, data []byte) {
	if !startsLikeSIP(data) {
		return // keepalive CRLFs and the like
	}
	// One copy, which the Head's strings point into (scanHeadOf): the
	// caller's buffer is sipgo's, reused for the next message.
	data = bytes.Clone(data)
	h, ok := scanHeadOf(data)
	if !ok {
		return
	}
	t.sink.Capture(&Message{Time: time.Now(), Dir: dir, Transport: "udp", Local: t.named(local), Remote: remote,
		Data: data, Head: h})
}

// startsLikeSIP reports whether data may be a SIP message: a start line's
// first byte (RFC 3261 §7.1, §7.2: a method token or "SIP/2.0"), not the
// CRLF keepalives of RFC 5626 §3.5.1, which are not worth a copy.
func startsLikeSIP(data []byte) bool { return len(data) >= 8 && data[0] >= 'A' && data[0] <= 'Z' }

// written records an outgoing message from the write hook.
func (t *Tap) written(network string, local, remote netip.AddrPort, data []byte) {
	if network == "UDP" {
		t.datagram(Out, local, remote, data)
		return
	}
	if !startsLikeSIP(data) {
		return // keepalive CRLFs and the like
	}
	data = bytes.Clone(data) // sipgo's pooled buffer
	h, ok := scanHeadOf(data)
	if !ok {
		return
	}
	var transport string
	t.mu.RLock()
	scheme, isListener := t.listeners[local]
	if !isListener {
		scheme, isListener = t.listeners[netip.AddrPortFrom(unspecified(local.Addr()), local.Port())]
	}
	t.mu.RUnlock()
	switch {
	case isListener:
		transport = scheme
	case network == "WS" && h.ViaTransport == "WSS":
		transport = "wss"
	case network == "WS":
		transport = "ws"
	case h.ViaTransport == "TLS":
		transport = "tls"
	default:
		transport = "tcp"
	}
	t.mu.Lock()
	if len(t.flows) >= maxFlows {
		clear(t.flows)
	}
	t.flows[remote] = local
	t.mu.Unlock()
	t.sink.Capture(&Message{Time: time.Now(), Dir: Out, Transport: transport, Local: t.named(local), Remote: remote,
		Data: data, Head: h})
}

func addrPort(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.UDPAddr:
		return unmap(v.AddrPort())
	case interface{ AddrPort() netip.AddrPort }: // boundAddr, sipguard's sources
		return unmap(v.AddrPort())
	case *net.TCPAddr:
		return unmap(v.AddrPort())
	case nil:
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return unmap(ap)
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func unspecified(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// PacketConn wraps a UDP listener's socket: what sipgo writes on it is
// captured just before it leaves. (sipgo's write hook runs after the
// write, when on a fast path the answer may already be in and captured.)
func (t *Tap) PacketConn(pc net.PacketConn) net.PacketConn {
	c := &packetConn{PacketConn: pc, t: t, local: addrPort(pc.LocalAddr())}
	if a, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		c.addr = &boundAddr{UDPAddr: a, s: a.String()}
	}
	return c
}

type packetConn struct {
	net.PacketConn
	t     *Tap
	local netip.AddrPort // a bound socket's address does not change
	addr  *boundAddr     // nil: not a UDP socket
}

// boundAddr is a bound socket's address with its text made once: sipgo
// formats the listener's address for its write and read hooks (SIPDebug,
// which Install turns on for the stream transports' capture) on every
// datagram, and again for each request's Via.
type boundAddr struct {
	*net.UDPAddr
	s string
}

func (a *boundAddr) String() string { return a.s }

// LocalAddr implements net.PacketConn.
func (c *packetConn) LocalAddr() net.Addr {
	if c.addr == nil {
		return c.PacketConn.LocalAddr()
	}
	return c.addr
}

// WriteTo implements net.PacketConn.
func (c *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.t.datagram(Out, c.local, addrPort(addr), b)
	return c.PacketConn.WriteTo(b, addr)
}

// wrapsUDP reports whether local is one of the Tap's UDP listeners (whose
// writes PacketConn captures).
func (t *Tap) wrapsUDP(local netip.AddrPort) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.udp[local]
}
