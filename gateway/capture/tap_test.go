package capture

import (
	"net"
	"net/netip"
	"sync"
	"testing"
)

type recordSink struct {
	mu   sync.Mutex
	msgs []*Message
}

func (r *recordSink) Capture(m *Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

// A UDP and a TCP listener on one address (the usual sip.listen): what
// sipgo writes on the UDP socket is captured once, before it leaves, not
// again by the write hook sipgo calls after the write.
func TestTapUDPWriteCapturedOnceBesideTCPListener(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	peer, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	local := pc.LocalAddr().(*net.UDPAddr).AddrPort()

	sink := &recordSink{}
	tap := NewTap(sink, netip.Addr{})
	tap.SetListeners([]Listener{{Scheme: "udp", Addr: local}, {Scheme: "tcp", Addr: local}})
	defer tap.Close()

	msg := []byte("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: once@h\r\nCSeq: 1 OPTIONS\r\n\r\n")
	wrapped := tap.PacketConn(pc)
	if _, err := wrapped.WriteTo(msg, peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	// What sipgo's UDPConnection.WriteTo does after a successful write.
	tracer{}.SIPTraceWrite("UDP", wrapped.LocalAddr().String(), peer.LocalAddr().String(), msg)

	if len(sink.msgs) != 1 {
		t.Fatalf("captured %d messages, want 1", len(sink.msgs))
	}
	if m := sink.msgs[0]; m.Transport != "udp" || m.Dir != Out || m.CallID != "once@h" {
		t.Errorf("captured %+v, want an outgoing udp message of Call-ID once@h", m)
	}

	// A write on a stream from the shared address is the TCP listener's.
	tracer{}.SIPTraceWrite("TCP", local.String(), "127.0.0.1:9", msg)
	if len(sink.msgs) != 2 || sink.msgs[1].Transport != "tcp" {
		t.Errorf("stream write captured as %+v, want one tcp message", sink.msgs[len(sink.msgs)-1])
	}
}

// sipgo reads every datagram into one buffer and serialises every message
// into pooled ones: what a sink was handed must not change when the
// caller's buffer is written over by the next message.
func TestCapturedMessageOwnsItsBytes(t *testing.T) {
	first := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: first@h\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 INVITE\r\n\r\n"
	next := "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK2\r\nCall-ID: other@hh\r\nFrom: <sip:q@r>;tag=9\r\nTo: <sip:s@t>;tag=8\r\nCSeq: 77 BYE\r\n\r\n"
	la := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
	ra := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5070}
	for _, dir := range []Direction{In, Out} {
		sink := &recordSink{}
		tap := NewTap(sink, netip.Addr{})
		buf := make([]byte, 1024)
		n := copy(buf, first)
		tap.Datagram(dir, la, ra, buf[:n])
		copy(buf, next) // the reader's next datagram
		if len(sink.msgs) != 1 {
			t.Fatalf("%v: captured %d messages, want 1", dir, len(sink.msgs))
		}
		m := sink.msgs[0]
		want := Head{Method: "INVITE", CallID: "first@h", CSeq: 1, CSeqMethod: "INVITE", From: "<sip:x@y>;tag=1",
			To: "<sip:a@b>", ViaTransport: "UDP"}
		if m.Head != want || string(m.Data) != first {
			t.Errorf("%v: captured %+v %q after the buffer was reused, want %+v %q", dir, m.Head, m.Data, want, first)
		}
	}
}

// Capturing a datagram is on the path of every SIP message the gateway
// reads or writes over UDP (28 a call through the B2BUA): one copy of its
// bytes and the Message, not a string per header besides.
func TestDatagramAllocations(t *testing.T) {
	msg := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
		"From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b2\r\n" +
		"Call-ID: 1-alloc@127.0.0.1\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n")
	tap := NewTap(Sinks{}, netip.Addr{})
	local, remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}
	got := testing.AllocsPerRun(200, func() { tap.Datagram(Out, local, remote, msg) })
	if got > 2 {
		t.Errorf("capturing a datagram took %.0f allocations, want at most 2 (its bytes and the Message)", got)
	}
}

// sipgo formats the listener's address on every datagram it reads or
// writes (its debug hook, on for the capture) and for each request's Via:
// the wrapper names the same address as the socket, made once.
func TestPacketConnLocalAddr(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	wrapped := NewTap(Sinks{}, netip.Addr{}).PacketConn(pc)
	got, want := wrapped.LocalAddr(), pc.LocalAddr()
	if got.String() != want.String() || got.Network() != want.Network() {
		t.Fatalf("LocalAddr = %s %s, want %s %s", got.Network(), got, want.Network(), want)
	}
	if ap := addrPort(got); ap != want.(*net.UDPAddr).AddrPort() {
		t.Errorf("addrPort(LocalAddr) = %v, want %v", ap, want)
	}
	if n := testing.AllocsPerRun(100, func() { _ = wrapped.LocalAddr().String() }); n != 0 {
		t.Errorf("LocalAddr().String() took %.0f allocations, want 0", n)
	}
}
