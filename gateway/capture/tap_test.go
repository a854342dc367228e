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
