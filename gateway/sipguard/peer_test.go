package sipguard

import (
	"net"
	"testing"
	"time"
)

// sipgo formats the source of every datagram it reads, twice (its debug
// hook and the message's Source): the guarded socket names the sender as
// the kernel did, and a repeated sender costs no formatting.
func TestUDPSourceNamedOnce(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	g := New(Options{Logger: quietLogger()})
	guarded := g.PacketConn(pc)
	c := newUDPClient(t, pc.LocalAddr(), "127.0.0.1:0")
	const msg = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-peer\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:x@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n" +
		"Call-ID: peer@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	buf := make([]byte, maxDatagram)
	var got []net.Addr
	for range 2 {
		c.send(msg)
		_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := guarded.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != msg {
			t.Fatalf("read %q, want %q", buf[:n], msg)
		}
		got = append(got, from)
	}
	want := c.pc.LocalAddr()
	for _, from := range got {
		if from.String() != want.String() || from.Network() != want.Network() {
			t.Errorf("source %s %s, want %s %s", from.Network(), from, want.Network(), want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = got[1].String() }); n != 0 {
		t.Errorf("the source's String took %.0f allocations, want 0", n)
	}

	// Another sender in between is named as itself, and the first again.
	other := newUDPClient(t, pc.LocalAddr(), "127.0.0.1:0")
	for _, cl := range []*udpClient{other, c, other} {
		cl.send(msg)
		_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, from, err := guarded.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := cl.pc.LocalAddr().String(); from.String() != want {
			t.Errorf("source %s, want %s", from, want)
		}
	}
}
