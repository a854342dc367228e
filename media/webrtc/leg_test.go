package webrtc_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc"
	"github.com/switchboard-gw/switchboard/media/webrtc/webrtctest"
)

var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

func newEngine(t *testing.T, consent time.Duration) *webrtc.Engine {
	t.Helper()
	e, err := webrtc.New(webrtc.Config{ListenIP: loopback, Port: webrtc.PortAny, ConsentTimeout: consent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func newBrowser(t *testing.T, codecs ...string) *webrtctest.Browser {
	t.Helper()
	b, err := webrtctest.New(webrtctest.Options{Codecs: codecs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// phone is a plain RTP endpoint: it sends a 20 ms stream to a peer and
// counts what comes back, by payload type.
type phone struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	byPT  map[uint8]int
	from  map[netip.AddrPort]bool
	stop  chan struct{}
	wg    sync.WaitGroup
	sent  atomic.Int64
	audio uint8
}

func newPhone(t *testing.T) *phone {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{conn: c, byPT: map[uint8]int{}, from: map[netip.AddrPort]bool{}, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, src, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n >= 12 {
				p.mu.Lock()
				p.byPT[buf[1]&0x7f]++
				p.from[src] = true
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		close(p.stop)
		_ = c.Close()
		p.wg.Wait()
	})
	return p
}

func (p *phone) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// stream sends pt audio every 20 ms to to, every 50th packet an RFC 4733
// event with eventPT.
func (p *phone) stream(to netip.AddrPort, pt, eventPT uint8) {
	p.audio = pt
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		pkt := make([]byte, 12+160)
		pkt[0] = 0x80
		binary.BigEndian.PutUint32(pkt[8:], 0x1234)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			case <-tk.C:
			}
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
			out := pkt
			pkt[1] = pt
			if i%50 == 49 && eventPT != 0 {
				pkt[1] = eventPT
				out = append(pkt[:12:12], 5, 0x80, 0, 160)
			}
			if _, err := p.conn.WriteToUDPAddrPort(out, to); err == nil {
				p.sent.Add(1)
			}
		}
	}()
}

func (p *phone) count(pt uint8) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byPT[pt]
}

// eventually waits up to d for cond (a bound against hangs, not a timing
// assertion).
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// plainAnswer answers a plain offer as a G.711 phone at addr would: the
// first of want that the offer has, and its telephone-event.
func plainAnswer(t *testing.T, offer []byte, addr netip.AddrPort, want string) ([]byte, uint8, uint8) {
	t.Helper()
	sd, err := sdp.Parse(offer)
	if err != nil {
		t.Fatalf("plain offer: %v\n%s", err, offer)
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		t.Fatal(err)
	}
	var audio, ev *sdp.Codec
	for i, c := range st.Codecs {
		if audio == nil && strings.EqualFold(c.Name, want) {
			audio = &st.Codecs[i]
		}
		if ev == nil && c.Name == "telephone-event" && c.ClockRate == 8000 {
			ev = &st.Codecs[i]
		}
	}
	if audio == nil || ev == nil {
		t.Fatalf("plain offer lacks %s or telephone-event/8000:\n%s", want, offer)
	}
	body := fmt.Sprintf("v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d %d\r\na=rtpmap:%d %s\r\na=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\na=sendrecv\r\n",
		addr.Port(), audio.PayloadType, ev.PayloadType, audio.PayloadType, audio.String(), ev.PayloadType, ev.PayloadType)
	return []byte(body), audio.PayloadType, ev.PayloadType
}

// TestBrowserCalls: a browser offers, a G.711 phone answers PCMU; audio and
// RFC 4733 events flow both ways through the leg, PCMU untouched.
func TestBrowserCalls(t *testing.T) {
	e := newEngine(t, 10*time.Second)
	b := newBrowser(t) // Opus, PCMU, PCMA, like Chrome
	offer, err := b.Offer()
	if err != nil {
		t.Fatal(err)
	}
	leg, plain, err := e.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	if !bytes.Contains(plain, []byte("RTP/AVP")) || bytes.Contains(plain, []byte("fingerprint")) {
		t.Fatalf("plain offer is not plain RTP:\n%s", plain)
	}
	p := newPhone(t)
	ans, pt, ev := plainAnswer(t, plain, p.addr(), "PCMU")
	wans, err := leg.Answer(ans, p.addr())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a=ice-lite", "a=setup:active", "a=fingerprint:", "a=rtcp-mux", "a=group:BUNDLE", "PCMU/8000"} {
		if !bytes.Contains(wans, []byte(want)) {
			t.Errorf("answer lacks %q:\n%s", want, wans)
		}
	}
	if bytes.Contains(wans, []byte("opus")) {
		t.Errorf("answer offers opus the phone did not take:\n%s", wans)
	}
	again, err := leg.Answer(ans, p.addr())
	if err != nil || !bytes.Equal(again, wans) {
		t.Errorf("second Answer (183 then 200) = %v, differs: %v", err, !bytes.Equal(again, wans))
	}
	if err := b.Accept(wans); err != nil {
		t.Fatal(err)
	}
	b.Stream(true)
	p.stream(leg.LocalAddr(), pt, ev)
	eventually(t, 15*time.Second, "audio both ways", func() bool {
		_, rx, evs := b.Counts()
		return rx >= 100 && evs >= 2 && p.count(pt) >= 100 && p.count(ev) >= 2
	})
	sent, rx, evs := b.Counts()
	t.Logf("browser sent %d, got %d audio (PT %d) and %d events; phone sent %d, got %d PCMU and %d events; leg %+v",
		sent, rx, b.ReceivedPT(), evs, p.sent.Load(), p.count(pt), p.count(ev), leg.Stats())
	if b.ReceivedPT() != 0 {
		t.Errorf("browser got payload type %d, want PCMU 0", b.ReceivedPT())
	}
	p.mu.Lock()
	for src := range p.from {
		if src != leg.LocalAddr() {
			t.Errorf("phone got media from %v, not the leg %v", src, leg.LocalAddr())
		}
	}
	p.mu.Unlock()
	if _, ok := leg.Connected(); !ok {
		t.Error("leg not connected")
	}
	fastPath(t, leg)
}

// fastPath checks that, once the leg is up, its SRTP goes through the
// fast path (srtpmux) both ways, not through pion: of the next 50 packets
// each way, all but the one or two in flight while counting.
func fastPath(t *testing.T, leg *webrtc.Leg) {
	t.Helper()
	s0 := leg.Stats()
	var s1 webrtc.Stats
	eventually(t, 15*time.Second, "50 more packets each way", func() bool {
		s1 = leg.Stats()
		return s1.FromBrowser-s0.FromBrowser >= 50 && s1.ToBrowser-s0.ToBrowser >= 50
	})
	in, out := s1.FastIn-s0.FastIn, s1.FastOut-s0.FastOut
	from, to := s1.FromBrowser-s0.FromBrowser, s1.ToBrowser-s0.ToBrowser
	if in+2 < from || out+2 < to {
		t.Errorf("fast path carried %d of %d packets from the browser and %d of %d to it", in, from, out, to)
	}
	if s1.FastBad != 0 {
		t.Errorf("fast path refused %d packets of the browser", s1.FastBad)
	}
}

// TestBrowserCalled: the gateway offers to a browser (a call to a WebRTC
// contact): ICE-lite, actpass, only the RTP side's codecs; the browser's
// answer becomes a plain answer and audio flows both ways.
func TestBrowserCalled(t *testing.T) {
	e := newEngine(t, 10*time.Second)
	p := newPhone(t)
	plainOffer := fmt.Sprintf("v=0\r\no=pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 8 0 18 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:18 G729/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n", p.addr().Port())
	leg, offer, err := e.Offer([]byte(plainOffer), p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	for _, want := range []string{"a=ice-lite", "a=setup:actpass", "UDP/TLS/RTP/SAVPF 8 0 101", "a=candidate:"} {
		if !bytes.Contains(offer, []byte(want)) {
			t.Errorf("offer lacks %q:\n%s", want, offer)
		}
	}
	b := newBrowser(t, pwebrtc.MimeTypePCMA, pwebrtc.MimeTypePCMU)
	answer, err := b.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := leg.Accept(answer)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := sdp.Parse(plain)
	if err != nil {
		t.Fatalf("plain answer: %v\n%s", err, plain)
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		t.Fatal(err)
	}
	if st.RTP != leg.LocalAddr() || st.Codecs[0].Name != "PCMA" {
		t.Fatalf("plain answer at %v with %v, want %v with PCMA first:\n%s", st.RTP, st.Codecs, leg.LocalAddr(), plain)
	}
	b.Stream(true)
	p.stream(leg.LocalAddr(), 8, 101)
	eventually(t, 15*time.Second, "audio both ways", func() bool {
		_, rx, evs := b.Counts()
		return rx >= 100 && evs >= 2 && p.count(8) >= 100 && p.count(101) >= 2
	})
	_, rx, evs := b.Counts()
	t.Logf("browser got %d (PT %d) + %d events; phone got %d PCMA + %d events", rx, b.ReceivedPT(), evs, p.count(8), p.count(101))
	if b.ReceivedPT() != 8 {
		t.Errorf("browser got payload type %d, want PCMA 8", b.ReceivedPT())
	}
	fastPath(t, leg) // here we are the DTLS server (the browser answered active)
}

// TestBrowserVanishes: a browser whose socket goes away without a word
// ends its leg within the consent timeout (RFC 7675), and closing the leg
// and the engine releases every goroutine.
func TestBrowserVanishes(t *testing.T) {
	before := runtime.NumGoroutine()
	e, err := webrtc.New(webrtc.Config{ListenIP: loopback, Port: webrtc.PortAny, ConsentTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := webrtctest.New(webrtctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	offer, _ := b.Offer()
	leg, plain, err := e.AcceptOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	p := newPhone(t)
	ans, pt, _ := plainAnswer(t, plain, p.addr(), "PCMU")
	wans, err := leg.Answer(ans, p.addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Accept(wans); err != nil {
		t.Fatal(err)
	}
	b.Stream(false)
	eventually(t, 15*time.Second, "media from the browser", func() bool { return p.count(pt) > 10 })
	gone := time.Now()
	b.Vanish()
	select {
	case <-leg.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("leg still up 30 s after the browser vanished")
	}
	t.Logf("leg ended %v after the browser vanished (consent timeout 3 s): %v", time.Since(gone).Round(time.Millisecond), leg.Err())
	if !errors.Is(leg.Err(), webrtc.ErrConsent) {
		t.Errorf("Err = %v, want ErrConsent", leg.Err())
	}
	_ = leg.Close()
	_ = b.Close()
	if n := e.Len(); n != 0 {
		t.Errorf("engine still has %d legs", n)
	}
	_ = e.Close()
	eventually(t, 10*time.Second, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= before+1 // the phone's reader, closed by Cleanup
	})
}
