package b2bua

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/relay"
)

// toneSink is a UDP socket a relay side sends to: it counts the packets.
type toneSink struct {
	conn *net.UDPConn
	n    chan struct{}
}

func newToneSink(t *testing.T) *toneSink {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &toneSink{conn: c, n: make(chan struct{}, 4096)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			select {
			case s.n <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close(); <-done })
	return s
}

// drain forgets what came so far.
func (s *toneSink) drain() {
	for {
		select {
		case <-s.n:
		default:
			return
		}
	}
}

// hears reports whether a packet comes within d.
func (s *toneSink) hears(d time.Duration) bool {
	select {
	case <-s.n:
		return true
	case <-time.After(d):
		return false
	}
}

// TestRingbackForkStates: the tone a waiting party hears while a forked
// target rings (RFC 3960 §3) on a real relay side: a 180 without SDP
// starts it; early media pauses it and a later 180 does not bring it
// back; the end of the early media's branch brings it back when another
// branch rings, not when none does; stop ends it for good, and nothing
// after stop starts it again.
func TestRingbackForkStates(t *testing.T) {
	c, _ := testCall(t, newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" }))
	tt, err := relay.NewToneTable(relay.Tone{Freqs: []int{425}}) // on all the time
	if err != nil {
		t.Fatal(err)
	}
	c.gw.o.Ringback = tt
	sink := newToneSink(t)
	side := c.media.A()
	side.SetRemote(relay.Remote{RTP: sink.conn.LocalAddr().(*net.UDPAddr).AddrPort()})
	party := []byte(testSDP(sink.conn.LocalAddr().(*net.UDPAddr).Port, 1, "", 0))
	rb := c.ringbackTo(side, func() []byte { return party }, "test")
	ringing := &sip.Response{StatusCode: 180}
	early := &sip.Response{StatusCode: 183}
	early.SetBody([]byte(testSDP(40000, 1, "", 0)))
	const wait = 2 * time.Second // generous: a loaded machine
	const quiet = 300 * time.Millisecond

	silent := func(what string) {
		t.Helper()
		time.Sleep(50 * time.Millisecond) // a packet in flight when it stopped
		sink.drain()
		if sink.hears(quiet) {
			t.Fatalf("%s: the tone plays", what)
		}
	}
	playing := func(what string) {
		t.Helper()
		sink.drain()
		if !sink.hears(wait) {
			t.Fatalf("%s: no tone", what)
		}
	}

	silent("before any provisional")
	rb.provisional(ringing, false)
	playing("after a 180 without SDP")
	rb.provisional(early, true)
	silent("while early media plays")
	rb.provisional(ringing, false)
	silent("a 180 of another branch while early media plays")
	rb.earlyLost(true)
	playing("the early branch failed, another rings")
	rb.provisional(early, true)
	silent("early media again")
	rb.earlyLost(false)
	silent("the early branch failed, none rang")
	rb.provisional(ringing, false)
	playing("a 180 after the early media ended")
	rb.stop()
	silent("after stop")
	rb.earlyLost(true)
	rb.provisional(ringing, false)
	silent("nothing starts a stopped tone")

	var none *ringback // no tone configured: every method does nothing
	none.provisional(ringing, false)
	none.earlyLost(true)
	none.stop()
}
