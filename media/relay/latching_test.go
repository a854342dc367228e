package relay

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// A phone behind NAT writes a private address in its SDP and sends from
// the public address its SIP comes from: that address latches (and gets the
// media); a stranger's never does.
func TestLatchSignallingSource(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, _ := r.NewSession()
	phone, b := newEndpoint(t), newEndpoint(t)
	stranger := newEndpointAt(t, strangerIP)
	private := netip.MustParseAddrPort("192.0.2.10:4000") // RFC 5737: unreachable
	s.A().SetRemote(Remote{RTP: private, Signalling: loopback})
	s.B().SetRemote(Remote{RTP: b.addr()})

	stranger.send(s.A().LocalAddr(), stranger.packet()) // first, in the window
	phone.send(s.A().LocalAddr(), phone.packet())
	if p := b.recvRTP(time.Second); p == nil || p.SSRC != phone.ssrc {
		t.Fatalf("A→B: got %v, want the phone's packet", p)
	}
	b.send(s.B().LocalAddr(), b.packet())
	if phone.recvRTP(time.Second) == nil {
		t.Fatal("B→A should go to the latched signalling address")
	}
	if got, _ := stranger.recv(50 * time.Millisecond); got != nil {
		t.Fatal("the stranger got media")
	}
	if st := s.A().Stats(); st.Source != phone.addr() || st.Strangers != 1 || st.Ignored != 1 {
		t.Fatalf("A stats %+v", st)
	}

	// LatchSDPAddr does not trust the signalling address
	r2 := newTestRelay(t, Config{Latching: LatchSDPAddr})
	s2, _ := r2.NewSession()
	s2.A().SetRemote(Remote{RTP: private, Signalling: loopback})
	phone.send(s2.A().LocalAddr(), phone.packet())
	eventually(t, "refused", func() bool { return s2.A().Stats().Strangers == 1 })
	if s2.A().Stats().Source.IsValid() {
		t.Fatal("latched with LatchSDPAddr on the signalling address")
	}
}

// Inside the learning window the exact SDP address takes the latch over
// from another allowed source; after it, nothing does.
func TestLatchPrefersSDPAddress(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{LearnWindow: 300 * time.Millisecond})
	s, _ := r.NewSession()
	exact, other, late, b := newEndpoint(t), newEndpoint(t), newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: exact.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})

	other.send(s.A().LocalAddr(), other.packet()) // same IP, first: latches
	eventually(t, "latched on the first", func() bool { return s.A().Stats().Source == other.addr() })
	exact.send(s.A().LocalAddr(), exact.packet()) // the SDP's address: takes over
	eventually(t, "latched on the SDP address", func() bool { return s.A().Stats().Source == exact.addr() })
	other.send(s.A().LocalAddr(), other.packet()) // not back
	eventually(t, "ignored", func() bool { return s.A().Stats().Ignored == 1 })
	if got := s.A().Stats().Source; got != exact.addr() {
		t.Fatalf("latch went back to %v", got)
	}
	time.Sleep(350 * time.Millisecond)
	late.send(s.A().LocalAddr(), late.packet())
	eventually(t, "ignored after the window", func() bool { return s.A().Stats().Ignored == 2 })
	if got := s.A().Stats().Source; got != exact.addr() {
		t.Fatalf("latched %v after the window", got)
	}
}

// The SSRC is learnt with the source: after the window, packets from the
// latched source with another SSRC (a spoofer who knows the address, not the
// stream) are ignored, unless AllowSSRCChange; a new SDP learns it again.
func TestStrictSSRC(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		r := newTestRelay(t, Config{LearnWindow: 50 * time.Millisecond, AllowSSRCChange: allow})
		s, _ := r.NewSession()
		a, b := newEndpoint(t), newEndpoint(t)
		s.A().SetRemote(Remote{RTP: a.addr()})
		s.B().SetRemote(Remote{RTP: b.addr()})
		a.send(s.A().LocalAddr(), a.packet())
		b.recvRTP(time.Second)
		time.Sleep(100 * time.Millisecond)
		a.ssrc++
		a.send(s.A().LocalAddr(), a.packet())
		p := b.recvRTP(200 * time.Millisecond)
		if allow != (p != nil) {
			t.Fatalf("allow %v: new SSRC forwarded: %v", allow, p != nil)
		}
		if allow {
			continue
		}
		if st := s.A().Stats(); st.Ignored != 1 || st.Strangers != 0 || st.Packets != 1 {
			t.Fatalf("stats %+v", st)
		}
		s.A().SetRemote(Remote{RTP: a.addr()}) // e.g. a re-INVITE after a transfer
		a.send(s.A().LocalAddr(), a.packet())
		if p := b.recvRTP(time.Second); p == nil || p.SSRC != a.ssrc {
			t.Fatal("the new SSRC after a new SDP was not forwarded")
		}
	}
}

// Before a side has an SDP (the callee before its answer), every source is
// a stranger: nothing latches, and the other side's media goes nowhere.
func TestNoSDPNoLatch(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, _ := r.NewSession()
	a := newEndpoint(t)
	intruders := []*endpoint{newEndpointAt(t, strangerIP), newEndpoint(t)}
	s.A().SetRemote(Remote{RTP: a.addr(), Signalling: loopback})
	for _, in := range intruders {
		in.send(s.B().LocalAddr(), in.packet())
		in.send(s.B().LocalRTCPAddr(), rtcpSR(t, in.ssrc))
	}
	eventually(t, "strangers", func() bool { return s.B().Stats().Strangers == 4 })
	a.send(s.A().LocalAddr(), a.packet())
	eventually(t, "A's packet", func() bool { return s.A().Stats().Packets == 1 })
	for _, in := range intruders {
		if got, _ := in.recv(50 * time.Millisecond); got != nil {
			t.Fatal("an intruder got the caller's media before the answer")
		}
	}
	if st := s.B().Stats(); st.Source.IsValid() {
		t.Fatalf("B latched %v before its SDP", st.Source)
	}
}

// Ports come in random order: the next call's ports cannot be read off the
// last call's SDP.
func TestPortsRandomOrder(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{}) // 50 pairs
	var ports []int
	for range 10 {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		ports = append(ports, s.A().Port(), s.B().Port())
	}
	sequential := 0
	for i := 1; i < len(ports); i++ {
		if ports[i] == ports[i-1]+2 {
			sequential++
		}
	}
	// 19 steps, each +2 with odds about 1/25 when random
	if sequential > 8 {
		t.Fatalf("ports in order: %v", ports)
	}
}

// Strangers are logged at most once per strangerLogEvery, with their count.
func TestStrangersLoggedRateLimited(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	r := newTestRelay(t, Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	s, _ := r.NewSession()
	stranger := newEndpointAt(t, strangerIP)
	for range 50 {
		stranger.send(s.A().LocalAddr(), stranger.packet())
	}
	eventually(t, "50 strangers", func() bool { return r.Counters().Strangers == 50 })
	out := buf.String()
	if n := strings.Count(out, "media from a stranger"); n != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "source="+stranger.addr().String()) {
		t.Fatalf("log line without the source: %s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
