package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// The WebRTC bridge end to end through the built gateway; the peers are in
// webrtc_peers_test.go.

const wrUsers = `users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
`

// waitFor polls cond up to d (a bound against hangs; the time is logged,
// not asserted).
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return time.Since(start)
}

// released waits until no WebRTC leg and no relay session is left; on
// failure it logs the gateway's call and media goroutines.
func (g *gateway) released(t *testing.T, d time.Duration, legs, sessions float64) {
	t.Helper()
	start := time.Now()
	for g.metric("switchboard_webrtc_legs") != legs || g.metric("switchboard_media_sessions") != sessions {
		if time.Since(start) > d {
			_, dump := g.api("GET", "/debug/pprof/goroutine?debug=1")
			for _, stack := range strings.Split(string(dump), "\n\n") {
				if strings.Contains(stack, "b2bua") || strings.Contains(stack, "media/webrtc") {
					t.Log(stack)
				}
			}
			t.Fatalf("after %v: %v legs, %v relay sessions; want %v, %v", d, g.metric("switchboard_webrtc_legs"),
				g.metric("switchboard_media_sessions"), legs, sessions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mediaGoroutines counts the gateway's goroutines in pion or the bridge
// (from the loopback-only /debug/pprof).
func (g *gateway) mediaGoroutines() int {
	g.t.Helper()
	_, dump := g.api("GET", "/debug/pprof/goroutine?debug=1")
	n := 0
	for _, stack := range strings.Split(string(dump), "\n\n") {
		if !strings.Contains(stack, "github.com/pion/") && !strings.Contains(stack, "media/webrtc.") {
			continue
		}
		var k int
		if _, err := fmt.Sscanf(stack, "%d @", &k); err == nil {
			n += k
		}
	}
	return n
}

// TestWebRTCBrowserCallsPhone: a browser registered over WSS calls a
// G.711 phone; the gateway answers it with ICE-lite, DTLS active and PCMU;
// audio and RFC 4733 events flow both ways (counted at both ends); the
// browser's BYE ends the call and every leg and relay session is released.
func TestWebRTCBrowserCallsPhone(t *testing.T) {
	g := startGateway(t, wrUsers)
	ph := newWRPhone(t, g, "u1001")
	br := newWRBrowser(t, g, "u1000")
	offer, err := br.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := br.invite("1001", string(offer))
	if c.final.Status != 200 {
		t.Fatalf("INVITE: %d\n%s", c.final.Status, c.final.Raw)
	}
	ans := c.final.Body
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=setup:active", "a=fingerprint:", "PCMU/8000", "a=candidate:"} {
		if !strings.Contains(ans, want) {
			t.Errorf("answer lacks %q:\n%s", want, ans)
		}
	}
	if err := br.pc.Accept([]byte(ans)); err != nil {
		t.Fatal(err)
	}
	br.pc.Stream(true)
	took := waitFor(t, 30*time.Second, "audio and events both ways", func() bool {
		_, rx, ev := br.pc.Counts()
		return rx >= 100 && ev >= 2 && ph.rtp.count(0) >= 100 && ph.rtp.count(101) >= 2
	})
	sent, rx, ev := br.pc.Counts()
	t.Logf("offer to media both ways: %v (first audio at the browser after %v); browser sent %d, got %d PCMU (PT %d), %d events; phone sent %d, got %d PCMU, %d events",
		time.Since(start).Round(time.Millisecond), br.pc.FirstReceived().Sub(start).Round(time.Millisecond), sent, rx, br.pc.ReceivedPT(), ev, ph.rtp.sent.Load(), ph.rtp.count(0), ph.rtp.count(101))
	_ = took
	if br.pc.ReceivedPT() != 0 {
		t.Errorf("browser got payload type %d, want PCMU (0) passed through", br.pc.ReceivedPT())
	}
	if v := g.metric("switchboard_webrtc_legs"); v != 1 {
		t.Errorf("switchboard_webrtc_legs = %v during the call, want 1", v)
	}
	if res := br.bye(c); res.Status != 200 {
		t.Fatalf("BYE: %d\n%s", res.Status, res.Raw)
	}
	waitFor(t, 10*time.Second, "BYE at the phone", func() bool { return ph.got("BYE") })
	g.released(t, 10*time.Second, 0, 0)
}

// TestWebRTCPhoneCallsBrowser: a phone calls a user whose contact is a
// browser (registered over WSS): the browser gets a WebRTC offer
// (ICE-lite, actpass, the phone's codecs), answers it, and audio and
// events flow both ways.
func TestWebRTCPhoneCallsBrowser(t *testing.T) {
	g := startGateway(t, wrUsers)
	br := newWRBrowser(t, g, "u1001")
	media := newWRRTP(t)
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	s, err := call(ctx, ph, g.UDP, "1001", wrPhoneSDP(media.addr()))
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()

	inv := br.next(10 * time.Second)
	if inv.Method != "INVITE" {
		t.Fatalf("browser got %q, want INVITE", inv.Raw)
	}
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=setup:actpass", "a=fingerprint:", "PCMU/8000", "telephone-event/8000"} {
		if !strings.Contains(inv.Body, want) {
			t.Errorf("offer to the browser lacks %q:\n%s", want, inv.Body)
		}
	}
	tag := randHex(4)
	br.reply(inv, 180, "Ringing", tag, "")
	ans, err := br.pc.Answer([]byte(inv.Body))
	if err != nil {
		t.Fatalf("browser cannot answer the gateway's offer: %v\n%s", err, inv.Body)
	}
	br.reply(inv, 200, "OK", tag, string(ans))
	if err := <-answered; err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	media.stream(wrSDPAddr(t, string(s.InviteResponse.Body())))
	br.pc.Stream(true)
	waitFor(t, 30*time.Second, "audio and events both ways", func() bool {
		_, rx, ev := br.pc.Counts()
		return rx >= 100 && ev >= 2 && media.count(0) >= 100 && media.count(101) >= 2
	})
	sent, rx, ev := br.pc.Counts()
	t.Logf("offer to media both ways: %v; browser sent %d, got %d (PT %d), %d events; phone got %d PCMU, %d events",
		time.Since(start).Round(time.Millisecond), sent, rx, br.pc.ReceivedPT(), ev, media.count(0), media.count(101))
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	bye := br.next(10 * time.Second)
	for bye.Method == "ACK" {
		bye = br.next(10 * time.Second)
	}
	if bye.Method != "BYE" {
		t.Fatalf("browser got %q, want BYE", bye.Raw)
	}
	br.reply(bye, 200, "OK", "", "")
	g.released(t, 10*time.Second, 0, 0)
}

// TestWebRTCBrowserVanishes: a browser in a call disappears (its socket
// closes: no BYE, no DTLS close_notify, no more consent checks). The
// gateway ends the call within the consent timeout (RFC 7675), BYEs the
// phone, and releases the legs, relay ports and goroutines; another call
// in progress is not disturbed.
func TestWebRTCBrowserVanishes(t *testing.T) {
	g := startGateway(t, wrUsers+"  - {username: u1002, password: secret, extension: \"1002\"}\n  - {username: u1003, password: secret, extension: \"1003\"}\n"+
		"webrtc: {port: 0, consent_timeout: 5s}\n")

	// the call that stays
	ph2 := newWRPhone(t, g, "u1003")
	br2 := newWRBrowser(t, g, "u1002")
	offer2, _ := br2.pc.Offer()
	c2 := br2.invite("1003", string(offer2))
	if c2.final.Status != 200 {
		t.Fatalf("second call: %d", c2.final.Status)
	}
	if err := br2.pc.Accept([]byte(c2.final.Body)); err != nil {
		t.Fatal(err)
	}
	br2.pc.Stream(false)

	ph := newWRPhone(t, g, "u1001")
	time.Sleep(500 * time.Millisecond) // let the gateway settle before the baseline
	goroutines, media0 := g.metric("go_goroutines"), g.mediaGoroutines()
	br := newWRBrowser(t, g, "u1000")
	offer, _ := br.pc.Offer()
	c := br.invite("1001", string(offer))
	if c.final.Status != 200 {
		t.Fatalf("INVITE: %d\n%s", c.final.Status, c.final.Raw)
	}
	if err := br.pc.Accept([]byte(c.final.Body)); err != nil {
		t.Fatal(err)
	}
	br.pc.Stream(false)
	waitFor(t, 30*time.Second, "audio both ways", func() bool {
		_, rx, _ := br.pc.Counts()
		return rx >= 50 && ph.rtp.count(0) >= 50
	})
	during, media1 := g.metric("go_goroutines"), g.mediaGoroutines()
	// the tab is gone: its media socket and its WebSocket close, nothing
	// is said to the gateway
	br.pc.Vanish()
	_ = br.ws.conn.Close()
	took := waitFor(t, 30*time.Second, "BYE at the phone after the browser vanished", func() bool { return ph.got("BYE") })
	t.Logf("call ended %v after the browser vanished (consent_timeout 5s)", took.Round(time.Millisecond))
	g.released(t, 10*time.Second, 1, 1) // the other call's
	waitFor(t, 10*time.Second, "the vanished call's media goroutines (pion, the bridge) released", func() bool {
		return g.mediaGoroutines() <= media0
	})
	// The call's own goroutines wait for the BYE towards the vanished
	// browser to time out (32 s, RFC 3261 Timer F).
	waitFor(t, 60*time.Second, "the vanished call's goroutines released", func() bool {
		return g.metric("go_goroutines") <= goroutines+3
	})
	t.Logf("gateway goroutines: %v before the call, %v during, %v after (pion and the bridge: %d, %d, %d)",
		goroutines, during, g.metric("go_goroutines"), media0, media1, g.mediaGoroutines())
	// the other call still flows
	before := ph2.rtp.count(0)
	waitFor(t, 10*time.Second, "the other call's audio", func() bool { return ph2.rtp.count(0) >= before+50 })
	if ph2.got("BYE") {
		t.Fatal("the other call was ended")
	}
	if res := br2.bye(c2); res.Status != 200 {
		t.Fatalf("BYE: %d", res.Status)
	}
	g.released(t, 15*time.Second, 0, 0)
	g.requireAlive()
}

// TestWebRTCBadOffers: WebRTC offers without a DTLS fingerprint, without
// ICE credentials, or with candidates that do not parse or name no usable
// address get 488 with a Warning that says why (RFC 3261 §20.43), and
// nothing stays open.
func TestWebRTCBadOffers(t *testing.T) {
	g := startGateway(t, wrUsers)
	newWRPhone(t, g, "u1001")
	br := newWRBrowser(t, g, "u1000")
	good, err := br.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	drop := func(prefix string) string {
		var out []string
		for _, l := range strings.Split(string(good), "\r\n") {
			if !strings.HasPrefix(l, prefix) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\r\n")
	}
	addCand := func(c string) string {
		return strings.Replace(string(good), "a=end-of-candidates", "a=candidate:"+c+"\r\na=end-of-candidates", 1)
	}
	if !strings.Contains(string(good), "a=end-of-candidates") {
		addCand = func(c string) string { return string(good) + "a=candidate:" + c + "\r\n" }
	}
	for _, tc := range []struct {
		name, offer, warning string
	}{
		{"no fingerprint", drop("a=fingerprint:"), "fingerprint"},
		{"no ice-ufrag", drop("a=ice-ufrag:"), "ICE credentials"},
		{"unparseable candidate", addCand("garbage"), "candidate"},
		{"candidate on 0.0.0.0", addCand("1 1 udp 2130706431 0.0.0.0 9 typ host"), "candidate"},
		{"multicast candidate", addCand("1 1 udp 2130706431 224.0.0.1 5000 typ host"), "candidate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := br.invite("1001", tc.offer)
			if c.final.Status != 488 {
				t.Fatalf("status %d, want 488\n%s", c.final.Status, c.final.Raw)
			}
			if w := c.final.get("Warning"); !strings.Contains(w, tc.warning) {
				t.Errorf("Warning %q does not mention %q", w, tc.warning)
			}
		})
	}
	if v := g.metric("switchboard_webrtc_legs"); v != 0 {
		t.Errorf("switchboard_webrtc_legs = %v after refused offers", v)
	}
	g.requireAlive()
}

// TestWebRTCHostileMedia: while a browser call flows, strangers spray the
// gateway's WebRTC port with DTLS-looking garbage, random bytes and ICE
// connectivity checks (STUN Binding requests) with made-up and with the
// call's own ufrag from other addresses; the call keeps flowing and the
// gateway survives.
func TestWebRTCHostileMedia(t *testing.T) {
	g := startGateway(t, wrUsers)
	ph := newWRPhone(t, g, "u1001")
	br := newWRBrowser(t, g, "u1000")
	offer, _ := br.pc.Offer()
	c := br.invite("1001", string(offer))
	if c.final.Status != 200 {
		t.Fatalf("INVITE: %d\n%s", c.final.Status, c.final.Raw)
	}
	if err := br.pc.Accept([]byte(c.final.Body)); err != nil {
		t.Fatal(err)
	}
	br.pc.Stream(false)
	waitFor(t, 30*time.Second, "audio both ways", func() bool {
		_, rx, _ := br.pc.Counts()
		return rx >= 50 && ph.rtp.count(0) >= 50
	})
	m := regexp.MustCompile(`a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host`).FindStringSubmatch(c.final.Body)
	if m == nil {
		t.Fatalf("no host candidate in the answer:\n%s", c.final.Body)
	}
	port, _ := strconv.Atoi(m[2])
	target := &net.UDPAddr{IP: net.ParseIP(m[1]), Port: port}
	ufrag := regexp.MustCompile(`a=ice-ufrag:(\S+)`).FindStringSubmatch(c.final.Body)[1]

	var stop atomic.Bool
	var wg sync.WaitGroup
	var sprayed atomic.Int64
	for _, src := range []string{"127.0.0.2", "127.0.0.3"} {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1200)
			for i := 0; !stop.Load(); i++ {
				var pkt []byte
				switch i % 5 {
				case 0: // a DTLS ClientHello record header with garbage
					_, _ = rand.Read(buf[:300])
					buf[0], buf[1], buf[2] = 22, 0xfe, 0xfd
					pkt = buf[:300]
				case 1: // random bytes
					_, _ = rand.Read(buf)
					pkt = buf[:1+i%1200]
				case 2, 3: // ICE checks: a made-up ufrag, then the call's own with a wrong password
					user := "nobody:" + randHex(4)
					if i%5 == 3 {
						user = ufrag + ":" + randHex(4)
					}
					msg, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(user),
						stun.NewShortTermIntegrity("wrong-password-123456"), stun.Fingerprint)
					if err != nil {
						continue
					}
					pkt = msg.Raw
				case 4: // an SRTP-looking packet
					_, _ = rand.Read(buf[:200])
					buf[0], buf[1] = 0x80, 0
					pkt = buf[:200]
				}
				if _, err := conn.WriteToUDP(pkt, target); err == nil {
					sprayed.Add(1)
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	_, rx0, _ := br.pc.Counts()
	ph0 := ph.rtp.count(0)
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()
	_, rx1, _ := br.pc.Counts()
	ph1 := ph.rtp.count(0)
	t.Logf("sprayed %d datagrams at %v for 3 s; meanwhile the browser got %d packets and the phone %d", sprayed.Load(), target, rx1-rx0, ph1-ph0)
	if rx1-rx0 < 75 || ph1-ph0 < 75 { // 150 expected in 3 s each way
		t.Errorf("the call suffered under the spray: browser +%d, phone +%d packets in 3 s", rx1-rx0, ph1-ph0)
	}
	g.requireAlive()
	if res := br.bye(c); res.Status != 200 {
		t.Fatalf("BYE: %d", res.Status)
	}
}

// TestWebRTCBrowserCallsBrowser: two browsers through the gateway, each
// leg terminated and bridged through the relay. Both have Opus, so Opus
// goes end to end untouched (payload type 111 at both ends), with RFC 4733
// events both ways.
func TestWebRTCBrowserCallsBrowser(t *testing.T) {
	g := startGateway(t, wrUsers)
	callee := newWRBrowser(t, g, "u1001")
	caller := newWRBrowser(t, g, "u1000")
	offer, err := caller.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	placed := make(chan *wrCall, 1)
	go func() { placed <- caller.invite("1001", string(offer)) }()

	inv := callee.next(15 * time.Second)
	if inv.Method != "INVITE" {
		t.Fatalf("callee got %q, want INVITE", firstLine(inv.Raw))
	}
	if !strings.Contains(inv.Body, "opus/48000/2") || !strings.Contains(inv.Body, "a=ice-lite") {
		t.Fatalf("offer to the callee browser lacks Opus or ICE-lite:\n%s", inv.Body)
	}
	tag := randHex(4)
	ans, err := callee.pc.Answer([]byte(inv.Body))
	if err != nil {
		t.Fatal(err)
	}
	callee.reply(inv, 200, "OK", tag, string(ans))
	var c *wrCall
	select {
	case c = <-placed:
	case <-time.After(20 * time.Second):
		t.Fatal("caller got no final response")
	}
	if c.final.Status != 200 {
		t.Fatalf("INVITE: %d\n%s", c.final.Status, c.final.Raw)
	}
	if !strings.Contains(c.final.Body, "opus/48000/2") || strings.Contains(c.final.Body, "PCMU") {
		t.Errorf("answer to the caller is not Opus alone:\n%s", c.final.Body)
	}
	if err := caller.pc.Accept([]byte(c.final.Body)); err != nil {
		t.Fatal(err)
	}
	caller.pc.Stream(true)
	callee.pc.Stream(true)
	waitFor(t, 30*time.Second, "Opus and events both ways", func() bool {
		_, rx1, ev1 := caller.pc.Counts()
		_, rx2, ev2 := callee.pc.Counts()
		return rx1 >= 100 && rx2 >= 100 && ev1 >= 2 && ev2 >= 2
	})
	_, rx1, ev1 := caller.pc.Counts()
	_, rx2, ev2 := callee.pc.Counts()
	t.Logf("caller got %d (PT %d) + %d events, callee got %d (PT %d) + %d events", rx1, caller.pc.ReceivedPT(), ev1, rx2, callee.pc.ReceivedPT(), ev2)
	if caller.pc.ReceivedPT() != 111 || callee.pc.ReceivedPT() != 111 {
		t.Errorf("payload types %d and %d, want Opus 111 end to end", caller.pc.ReceivedPT(), callee.pc.ReceivedPT())
	}
	if res := caller.bye(c); res.Status != 200 {
		t.Fatalf("BYE: %d", res.Status)
	}
	m := callee.next(10 * time.Second)
	for m.Method != "BYE" {
		m = callee.next(10 * time.Second)
	}
	callee.reply(m, 200, "OK", "", "")
	g.released(t, 10*time.Second, 0, 0)
}
