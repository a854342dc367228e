package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Hold and resume on WebRTC legs (issue 12): a browser's re-INVITE goes
// through its leg's PeerConnection state (same ICE and DTLS) and on to the
// phone as a plain re-INVITE; a phone's re-INVITE reaches the browser as
// a WebRTC offer. The relay forwards what the directions allow (RFC 3264
// §8.4): the test phone keeps sending while it is recvonly, like a phone
// that ignores hold, and the test browser (pion) sends whatever it says.

var reWRAttr = regexp.MustCompile(`(?m)^a=(fingerprint|ice-ufrag|ice-pwd|setup):(.*?)\r?$`)

// wrTransport is an SDP's fingerprint, ICE credentials and a=setup.
func wrTransport(body string) map[string]string {
	out := map[string]string{}
	for _, m := range reWRAttr.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// wrWithDir is a browser's SDP with its direction attribute set to dir.
func wrWithDir(body, dir string) string {
	return reSDPDir.ReplaceAllString(body, "a="+dir+"\r")
}

// stalled checks that count does not move while moving goes up by 50
// packets (a second of the other direction's stream): media is held one
// way and flows the other.
func stalled(t *testing.T, what string, count, moving func() int) {
	t.Helper()
	c0, m0 := count(), moving()
	waitFor(t, 20*time.Second, what+": the other direction flows", func() bool { return moving() >= m0+50 })
	if d := count() - c0; d > 3 { // packets in flight when the hold took effect
		t.Errorf("%s: %d packets passed while held", what, d)
	}
}

// TestWebRTCBrowserHolds: a browser that called a phone holds (a
// re-INVITE with a=sendonly, the same ICE and DTLS, as JsSIP sends) and
// resumes (a=sendrecv). The phone gets plain re-INVITEs with a=sendonly,
// then a=sendrecv; the browser gets WebRTC answers with a=recvonly, then
// a=sendrecv, the fingerprint, ICE credentials and a=setup:active of the
// call's answer. While held nothing reaches the browser (the phone keeps
// sending) and the browser's audio reaches the phone; after the resume
// audio flows both ways again.
func TestWebRTCBrowserHolds(t *testing.T) {
	g := startGateway(t, wrUsers)
	ph := newWRPhone(t, g, "u1001")
	br := newWRBrowser(t, g, "u1000")
	offer, err := br.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	c := br.invite("1001", string(offer))
	if c.final.Status != 200 {
		t.Fatalf("INVITE: %d\n%s", c.final.Status, c.final.Raw)
	}
	first := wrTransport(c.final.Body)
	if err := br.pc.Accept([]byte(c.final.Body)); err != nil {
		t.Fatal(err)
	}
	br.pc.Stream(false)
	rx := func() int { _, n, _ := br.pc.Counts(); return int(n) }
	atPhone := func() int { return ph.rtp.count(0) }
	waitFor(t, 30*time.Second, "audio both ways", func() bool { return rx() >= 50 && atPhone() >= 50 })

	// Hostile and odd re-offers: an ICE restart (another browser's
	// credentials and fingerprint), a malformed body and one with 100 candidates
	// get 488 with a Warning; the call goes on. The phone sees none.
	other := newWRBrowser(t, g, "u1001")
	restart, err := other.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	// (a body over the SIP transport's 64 KB closes the WebSocket before
	// any SDP is read; 100 candidates is what fits and is too many)
	flood := string(offer) + strings.Repeat("a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n", 100)
	for name, body := range map[string]string{
		"ICE restart":    string(restart),
		"malformed":      "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:sha-256 00\r\n",
		"100 candidates": flood,
	} {
		c.cseq++
		br.send("INVITE", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq, nil, body)
		res := br.next(20 * time.Second)
		br.send("ACK", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq, nil, "")
		if res.Status < 400 {
			t.Errorf("%s re-INVITE: %d, want a refusal", name, res.Status)
		}
		t.Logf("%s re-INVITE: %d %s", name, res.Status, res.get("Warning"))
	}
	if inv := ph.lastReinvite(); inv != nil {
		t.Errorf("the phone got a re-INVITE for a refused re-offer:\n%s", inv.Raw)
	}
	r0, p0 := rx(), atPhone()
	waitFor(t, 20*time.Second, "audio both ways after the refused re-offers", func() bool { return rx() >= r0+50 && atPhone() >= p0+50 })

	for _, step := range []struct{ dir, phoneGets, browserGets string }{
		{"sendonly", "sendonly", "recvonly"},
		{"sendrecv", "sendrecv", "sendrecv"},
	} {
		re, err := br.pc.Offer()
		if err != nil {
			t.Fatal(err)
		}
		c.cseq++
		br.send("INVITE", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq, nil, wrWithDir(string(re), step.dir))
		res := br.next(20 * time.Second)
		if res.Status != 200 {
			t.Fatalf("%s re-INVITE: %d %s\n%s", step.dir, res.Status, res.get("Warning"), res.Raw)
		}
		br.send("ACK", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq, nil, "")
		if !strings.Contains(res.Body, "UDP/TLS/RTP/SAVPF") || wrDir(res.Body) != step.browserGets {
			t.Errorf("%s: browser's answer is not WebRTC with a=%s:\n%s", step.dir, step.browserGets, res.Body)
		}
		if got := wrTransport(res.Body); got["fingerprint"] != first["fingerprint"] || got["ice-ufrag"] != first["ice-ufrag"] ||
			got["ice-pwd"] != first["ice-pwd"] || got["setup"] != "active" {
			t.Errorf("%s: answer's transport %v, the call's %v", step.dir, got, first)
		}
		if err := br.pc.Accept([]byte(res.Body)); err != nil {
			t.Fatalf("%s: the browser refused the answer: %v\n%s", step.dir, err, res.Body)
		}
		inv := ph.lastReinvite()
		if inv == nil || strings.Contains(inv.Body, "SAVPF") || wrDir(inv.Body) != step.phoneGets {
			t.Fatalf("%s: the phone's re-INVITE is not plain with a=%s: %v", step.dir, step.phoneGets, inv)
		}
		if step.dir == "sendonly" {
			// The same offer again (a replay, a refresh by re-INVITE):
			// our last answer, and the phone is not troubled (RFC 3264 §8).
			c.cseq++
			br.send("INVITE", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq, nil, wrWithDir(string(re), step.dir))
			again := br.next(20 * time.Second)
			br.send("ACK", c.target, c.to, c.callID, c.tag, randHex(8), c.cseq, nil, "")
			if again.Status != 200 || again.Body != res.Body {
				t.Errorf("the same hold offer again: %d, answer changed: %v", again.Status, again.Body != res.Body)
			}
			if ph.lastReinvite() != inv {
				t.Error("the phone was re-INVITEd for an unchanged offer")
			}
			stalled(t, "browser on hold", rx, atPhone)
		} else {
			r0, p0 := rx(), atPhone()
			waitFor(t, 20*time.Second, "audio both ways after the resume", func() bool { return rx() >= r0+50 && atPhone() >= p0+50 })
		}
	}
	if res := br.bye(c); res.Status != 200 {
		t.Fatalf("BYE: %d\n%s", res.Status, res.Raw)
	}
	g.released(t, 10*time.Second, 0, 0)
}

// TestWebRTCPhoneHoldsBrowser: a phone called by a browser holds (a plain
// re-INVITE with a=sendonly) and resumes. The browser gets WebRTC
// re-offers (a=sendonly, then a=sendrecv) with the fingerprint and ICE-lite
// credentials of the call and a=setup:active, the role established (RFC
// 8842 §5.5); its answers (a=recvonly, then a=sendrecv) reach the phone as
// plain answers. While held nothing reaches the phone from the browser and
// the phone's audio reaches the browser; after the resume both ways. A
// re-INVITE without SDP from the phone gets a plain offer in the 2xx.
func TestWebRTCPhoneHoldsBrowser(t *testing.T) {
	g := startGateway(t, wrUsers)
	ph := newWRPhone(t, g, "u1001")
	br := newWRBrowser(t, g, "u1000")
	offer, err := br.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	c := br.invite("1001", string(offer))
	if c.final.Status != 200 {
		t.Fatalf("INVITE: %d\n%s", c.final.Status, c.final.Raw)
	}
	first := wrTransport(c.final.Body)
	if err := br.pc.Accept([]byte(c.final.Body)); err != nil {
		t.Fatal(err)
	}
	br.pc.Stream(false)
	rx := func() int { _, n, _ := br.pc.Counts(); return int(n) }
	atPhone := func() int { return ph.rtp.count(0) }
	waitFor(t, 30*time.Second, "audio both ways", func() bool { return rx() >= 50 && atPhone() >= 50 })

	for i, step := range []struct{ dir, browserGets, answer, phoneGets string }{
		{"sendonly", "sendonly", "recvonly", "recvonly"},
		{"sendrecv", "sendrecv", "sendrecv", "sendrecv"},
	} {
		done := make(chan *sipMsg, 1)
		go func() { done <- ph.reinvite(step.dir, 2+i) }()
		inv := br.next(20 * time.Second)
		if inv.Method != "INVITE" {
			t.Fatalf("%s: browser got %q, want a re-INVITE", step.dir, firstLine(inv.Raw))
		}
		if !strings.Contains(inv.Body, "UDP/TLS/RTP/SAVPF") || wrDir(inv.Body) != step.browserGets {
			br.reply(inv, 488, "Not Acceptable Here", "", "")
			<-done
			t.Fatalf("%s: the browser's re-offer is not WebRTC with a=%s:\n%s", step.dir, step.browserGets, inv.Body)
		}
		if got := wrTransport(inv.Body); got["fingerprint"] != first["fingerprint"] || got["ice-ufrag"] != first["ice-ufrag"] ||
			got["ice-pwd"] != first["ice-pwd"] || got["setup"] != "active" {
			t.Errorf("%s: re-offer's transport %v, the call's %v", step.dir, got, first)
		}
		ans, err := br.pc.Answer([]byte(inv.Body))
		if err != nil {
			br.reply(inv, 488, "Not Acceptable Here", "", "")
			<-done
			t.Fatalf("%s: the browser refused the re-offer: %v\n%s", step.dir, err, inv.Body)
		}
		br.reply(inv, 200, "OK", "", wrWithDir(string(ans), step.answer)) // as Chrome answers
		if ack := br.next(10 * time.Second); ack.Method != "ACK" {
			t.Errorf("%s: browser got %q, want the ACK", step.dir, firstLine(ack.Raw))
		}
		res := <-done
		if res.Status != 200 || strings.Contains(res.Body, "SAVPF") || wrDir(res.Body) != step.phoneGets {
			t.Fatalf("%s: phone's re-INVITE got %d, not a plain a=%s answer:\n%s", step.dir, res.Status, step.phoneGets, res.Raw)
		}
		if step.dir == "sendonly" {
			stalled(t, "phone on hold", atPhone, rx)
		} else {
			r0, p0 := rx(), atPhone()
			waitFor(t, 20*time.Second, "audio both ways after the resume", func() bool { return rx() >= r0+50 && atPhone() >= p0+50 })
		}
	}
	// A re-INVITE without SDP from the phone (RFC 3261 §14.2): the 2xx
	// offers the session as it stands, plain RTP at the relay, not the
	// browser's WebRTC SDP; the browser is not troubled.
	res := ph.reinvite("", 4)
	if res.Status != 200 || strings.Contains(res.Body, "SAVPF") || strings.Contains(res.Body, "fingerprint") || wrDir(res.Body) != "sendrecv" {
		t.Fatalf("re-INVITE without SDP: %d, not a plain sendrecv offer:\n%s", res.Status, res.Raw)
	}
	r0, p0 := rx(), atPhone()
	waitFor(t, 20*time.Second, "audio both ways after the re-INVITE without SDP", func() bool { return rx() >= r0+50 && atPhone() >= p0+50 })
	if res := br.bye(c); res.Status != 200 {
		t.Fatalf("BYE: %d\n%s", res.Status, res.Raw)
	}
	g.released(t, 10*time.Second, 0, 0)
}

// TestWebRTCSessionRefresh: (50 s, not with -short) a phone calls a
// browser, which answers with Session-Expires 90;refresher=uac (RFC 4028):
// the gateway refreshes the browser's leg by re-INVITE at about 45 s. The
// re-offer is WebRTC, not the phone's plain SDP: the description of the
// gateway's first offer (same o= session, fingerprint, ICE-lite
// credentials) with a=setup the role established (RFC 8842 §5.5); the
// browser answers it, and audio goes on both ways.
func TestWebRTCSessionRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 45 s for the session refresh")
	}
	g := startGateway(t, wrUsers)
	br := newWRBrowser(t, g, "u1001")
	media := newWRRTP(t)
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "1001", wrPhoneSDP(media.addr()))
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()
	inv := br.next(10 * time.Second)
	if inv.Method != "INVITE" || !strings.Contains(inv.Body, "UDP/TLS/RTP/SAVPF") {
		t.Fatalf("browser got %q, want a WebRTC INVITE", inv.Raw)
	}
	tag := randHex(4)
	ans, err := br.pc.Answer([]byte(inv.Body))
	if err != nil {
		t.Fatal(err)
	}
	br.replyWith(inv, 200, "OK", tag, string(ans), []string{"Session-Expires: 90;refresher=uac", "Require: timer", "Supported: timer"})
	if err := <-answered; err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	media.stream(wrSDPAddr(t, string(s.InviteResponse.Body())))
	br.pc.Stream(false)
	rx := func() int { _, n, _ := br.pc.Counts(); return int(n) }
	atPhone := func() int { return media.count(0) }
	waitFor(t, 30*time.Second, "audio both ways", func() bool { return rx() >= 50 && atPhone() >= 50 })

	re := br.next(70 * time.Second)
	for re.Method == "ACK" {
		re = br.next(70 * time.Second)
	}
	if re.Method != "INVITE" {
		t.Fatalf("browser got %q, want the refresh re-INVITE", firstLine(re.Raw))
	}
	first, got := wrTransport(inv.Body), wrTransport(re.Body)
	role := map[string]string{"active": "passive", "passive": "active"}[wrTransport(string(ans))["setup"]]
	if !strings.Contains(re.Body, "UDP/TLS/RTP/SAVPF") || wrDir(re.Body) != "sendrecv" || got["fingerprint"] != first["fingerprint"] ||
		got["ice-ufrag"] != first["ice-ufrag"] || got["ice-pwd"] != first["ice-pwd"] || got["setup"] != role {
		t.Fatalf("refresh offer is not the call's WebRTC description with a=setup:%s (%v, the call's %v):\n%s", role, got, first, re.Body)
	}
	sess := func(b string) string { f := strings.Fields(reSDPOrigin.FindString(b)); return strings.Join(f[:2], " ") }
	if sess(re.Body) != sess(inv.Body) {
		t.Errorf("refresh offer's o= session %q, the call's %q", sess(re.Body), sess(inv.Body))
	}
	ans2, err := br.pc.Answer([]byte(re.Body))
	if err != nil {
		t.Fatalf("the browser refused the refresh offer: %v\n%s", err, re.Body)
	}
	br.reply(re, 200, "OK", "", string(ans2))
	if ack := br.next(10 * time.Second); ack.Method != "ACK" {
		t.Errorf("browser got %q, want the ACK", firstLine(ack.Raw))
	}
	r0, p0 := rx(), atPhone()
	waitFor(t, 20*time.Second, "audio both ways after the refresh", func() bool { return rx() >= r0+50 && atPhone() >= p0+50 })
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	bye := br.next(10 * time.Second)
	if bye.Method == "BYE" {
		br.reply(bye, 200, "OK", "", "")
	}
	g.released(t, 10*time.Second, 0, 0)
}

var reSDPOrigin = regexp.MustCompile(`(?m)^o=.*$`)
