package ladder

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/capture"
	"github.com/switchboard-gw/switchboard/gateway/hep"
)

// benchInvite is a typical INVITE with SDP (~900 bytes).
var benchInvite = strings.ReplaceAll(`INVITE sip:2000@example.com SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-524287-1---4f6ab2a3c5d7e9f1;rport
Max-Forwards: 70
Contact: <sip:u1000@127.0.0.1:5070;transport=udp>
To: <sip:2000@example.com>
From: "Reception" <sip:u1000@example.com>;tag=6a3b1f9c
Call-ID: %s
CSeq: 2 INVITE
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE
Content-Type: application/sdp
Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri
User-Agent: Switchboard bench
Allow-Events: presence, kpml, talk
Proxy-Authorization: Digest username="u1000",realm="example.com",nonce="a1b2c3d4e5f60718",uri="sip:2000@example.com",response="0123456789abcdef0123456789abcdef",algorithm=MD5,cnonce="abcdef",qop=auth,nc=00000001
Content-Length: %d

v=0
o=- 3918287411 3918287411 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 40000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
`, "\n", "\r\n")

// BenchmarkCaptureCost measures what capturing costs per SIP message over
// UDP (scan the head, copy, file it in the ladder, queue it for HEP, whose
// sender runs on its own goroutine to a local collector)
// against the anchor the gateway pays for every message anyway: sipgo
// parsing it and writing it out again. Both run side by side in one run;
// the ratio is capture/anchor.
//
//	go test -run XXX -bench CaptureCost -benchtime 200000x ./gateway/ladder/
func BenchmarkCaptureCost(b *testing.B) {
	const calls = 1000 // Call-IDs cycled through, as on a busy gateway
	data := make([][]byte, calls)
	for i := range data {
		body := benchInvite[strings.Index(benchInvite, "\r\n\r\n")+4:]
		data[i] = []byte(fmt.Sprintf(benchInvite, fmt.Sprintf("bench-%d@127.0.0.1", i), len(body)))
	}
	store := New(Options{})
	// The HEP mirror sends to a collector that reads and discards.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 65535)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	h := hep.New(hep.Options{Collector: pc.LocalAddr().String()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for i := range calls {
		id := fmt.Sprintf("bench-%d@127.0.0.1", i)
		store.Link(id, id)
	}
	tap := capture.NewTap(capture.Sinks{store, h}, netip.Addr{})
	la, ra := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5070}

	var anchor, capt time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := data[i%calls]
		t0 := time.Now()
		msg, err := sip.ParseMessage(d) // anchor: the gateway parses every message it reads ...
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		msg.StringWrite(&buf) // ... and serialises every message it sends
		t1 := time.Now()
		_ = msg
		// capture: the UDP paths (the read filter's and the listener
		// socket's), one message received and one sent; half of it is
		// one message's cost.
		tap.Datagram(capture.In, la, ra, d)
		tap.Datagram(capture.Out, la, ra, d)
		t2 := time.Now()
		anchor += t1.Sub(t0)
		capt += t2.Sub(t1) / 2
	}
	b.StopTimer()
	a, c := float64(anchor.Nanoseconds())/float64(b.N), float64(capt.Nanoseconds())/float64(b.N)
	b.ReportMetric(a, "anchor-ns/msg")
	b.ReportMetric(c, "capture-ns/msg")
	b.ReportMetric(c/a, "capture/anchor")
	st := h.Stats()
	b.Logf("HEP: %d sent, %d dropped (queue full: the sender shares the CPU)", st.Sent, st.Dropped)
	b.Logf("per message: capture %.0f ns, anchor (sipgo parse + serialise) %.0f ns, ratio %.2f; a call of ~14 messages (two legs) costs %.1f µs to capture",
		c, a, c/a, 14*c/1000)
}
