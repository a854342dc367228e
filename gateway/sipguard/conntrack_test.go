package sipguard

import (
	"bufio"
	"net"
	"net/netip"
	"testing"
	"time"
)

// dialFrom connects to addr from local address ip (any 127.0.0.x works on
// Linux loopback).
func dialFrom(t *testing.T, ip, addr string) *tcpClient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &tcpClient{t: t, c: c, br: bufio.NewReader(c)}
}

// TestGlobalConnCap: sources each under their per-IP limit still cannot
// hold more than MaxConns connections together; a trusted source is
// counted but not refused.
func TestGlobalConnCap(t *testing.T) {
	checkLeaks(t)
	g, _, addr := tcpGateway(t, Options{MaxConns: 3, MaxConnsPerIP: 2,
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	var open []*tcpClient
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		c := dialFrom(t, ip, addr)
		c.write(sipReq("OPTIONS", "TCP", "", ""))
		c.expect("SIP/2.0 200 OK")
		open = append(open, c)
	}
	late := dialFrom(t, "127.0.0.5", addr)
	late.expectClosed(2 * time.Second)
	if st := g.Stats(); st.ConnsRefused != 1 || st.Conns != 3 {
		t.Fatalf("stats %+v", st)
	}
	pbx := dialFrom(t, "127.0.0.1", addr)
	pbx.write(sipReq("OPTIONS", "TCP", "", ""))
	pbx.expect("SIP/2.0 200 OK")
	// Room comes back when connections close (the trusted one counts).
	_ = open[0].c.Close()
	_ = open[1].c.Close()
	waitFor(t, "slots to free", func() bool { return g.Stats().Conns == 2 })
	again := dialFrom(t, "127.0.0.6", addr)
	again.write(sipReq("OPTIONS", "TCP", "", ""))
	again.expect("SIP/2.0 200 OK")
}

// TestUnprovenIdle: a connection that only ever got a 200 to OPTIONS is
// closed after UnprovenIdleTimeout even while it sends CRLF keepalives;
// one whose REGISTER got a 2xx keeps the long idle limit.
func TestUnprovenIdle(t *testing.T) {
	checkLeaks(t)
	g, _, addr := tcpGateway(t, Options{UnprovenIdleTimeout: 300 * time.Millisecond})
	scanner := dialFrom(t, "127.0.0.9", addr)
	scanner.write(sipReq("OPTIONS", "TCP", "", ""))
	scanner.expect("SIP/2.0 200 OK")
	phone := dialFrom(t, "127.0.0.2", addr)
	phone.write(sipReq("REGISTER", "TCP", "", ""))
	phone.expect("SIP/2.0 200 OK")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_, _ = scanner.c.Write([]byte("\r\n\r\n"))
				_, _ = phone.c.Write([]byte("\r\n\r\n"))
			}
		}
	}()
	waitFor(t, "the unproven connection to close", func() bool { return g.Stats().TimedOut == 1 })
	close(stop)
	<-done
	// The phone's flow is still served.
	phone.write(sipReq("OPTIONS", "TCP", "", ""))
	for {
		msg := readSIP(t, phone.c, phone.br)
		if firstLine(msg) == "SIP/2.0 200 OK" {
			break
		}
	}
	if g.Stats().Conns != 1 {
		t.Fatalf("stats %+v", g.Stats())
	}
}

// TestProvenFlowSilentAfterRegister: a phone whose REGISTER got its 200
// and then sends nothing at all (no CRLF keepalives: many TCP phones
// send none) keeps its connection past UnprovenIdleTimeout. The read that
// waited for its next message began before the 200 was written, under the
// unproven limit; the flow is proven meanwhile, and that limit must not
// close it. A scanner connected after the 200 and silent after its OPTIONS
// is closed: when it is, the phone's old unproven limit has passed too.
func TestProvenFlowSilentAfterRegister(t *testing.T) {
	checkLeaks(t)
	g, _, addr := tcpGateway(t, Options{UnprovenIdleTimeout: 300 * time.Millisecond})
	phone := dialFrom(t, "127.0.0.2", addr)
	phone.write(sipReq("REGISTER", "TCP", "", ""))
	phone.expect("SIP/2.0 200 OK")
	scanner := dialFrom(t, "127.0.0.9", addr)
	scanner.write(sipReq("OPTIONS", "TCP", "", ""))
	scanner.expect("SIP/2.0 200 OK")
	scanner.expectClosed(10 * time.Second)
	phone.write(sipReq("OPTIONS", "TCP", "", ""))
	phone.expect("SIP/2.0 200 OK")
	if st := g.Stats(); st.TimedOut != 1 || st.Conns != 1 {
		t.Fatalf("stats %+v, want only the scanner timed out", st)
	}
}
