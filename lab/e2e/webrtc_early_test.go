package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestWebRTCEarlyMedia: a browser calls a phone that answers 183 Session
// Progress with SDP and streams (a ringback or an announcement, RFC 3960)
// before its 200. The browser gets the 183 with a WebRTC answer (ICE-lite,
// DTLS, PCMU) and hears the phone's audio before the call is answered;
// after the 200 audio flows both ways; the BYE releases every leg and
// relay session.
func TestWebRTCEarlyMedia(t *testing.T) {
	g := startGateway(t, wrUsers)
	c := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := c.register("u1001", "secret"); res.Status != 200 {
		t.Fatalf("register u1001: %d %s", res.Status, res.Reason)
	}
	ph := &wrPhone{t: t, c: c, user: "u1001", rtp: newWRRTP(t), tag: randHex(4)}
	invites := make(chan *sipMsg, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the phone: 183 with SDP and audio at once, the 200 when the test says
		defer close(done)
		buf := make([]byte, 65536)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := c.conn.Read(buf)
			if err != nil || strings.Trim(string(buf[:n]), "\r\n") == "" {
				continue
			}
			m := parseSIP(string(buf[:n]))
			switch {
			case m.Method == "INVITE" && !strings.Contains(m.get("To"), "tag="):
				ph.reply(m, 183, "Session Progress", wrPhoneSDP(ph.rtp.addr()))
				ph.rtp.stream(wrSDPAddr(t, m.Body))
				invites <- m
			case m.Method == "BYE":
				ph.reply(m, 200, "OK", "")
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })

	br := newWRBrowser(t, g, "u1000")
	offer, err := br.pc.Offer()
	if err != nil {
		t.Fatal(err)
	}
	call := &wrCall{callID: randHex(8), tag: randHex(4), to: "<sip:1001@example.com>", cseq: 1}
	ruri := "sip:1001@example.com"
	branch := randHex(8)
	br.send("INVITE", ruri, call.to, call.callID, call.tag, branch, call.cseq, nil, string(offer))
	res := br.next(10 * time.Second)
	if res.Status == 407 {
		br.send("ACK", ruri, res.get("To"), call.callID, call.tag, branch, call.cseq, nil, "")
		auth, err := digestAuthorization(res.all("Proxy-Authenticate"), "INVITE", ruri, br.user, "secret")
		if err != nil {
			t.Fatalf("407: %v", err)
		}
		call.cseq++
		branch = randHex(8)
		br.send("INVITE", ruri, call.to, call.callID, call.tag, branch, call.cseq, []string{"Proxy-Authorization: " + auth}, string(offer))
		res = br.next(10 * time.Second)
	}
	for res.Status > 100 && res.Status < 200 && res.Body == "" {
		res = br.next(15 * time.Second)
	}
	if res.Status != 183 {
		t.Fatalf("want a 183 with SDP before the answer, got %d\n%s", res.Status, res.Raw)
	}
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-lite", "a=fingerprint:", "PCMU/8000"} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("the 183's SDP lacks %q:\n%s", want, res.Body)
		}
	}
	if err := br.pc.Accept([]byte(res.Body)); err != nil {
		t.Fatal(err)
	}
	inv := <-invites
	took := waitFor(t, 30*time.Second, "the phone's early media at the browser", func() bool {
		_, rx, _ := br.pc.Counts()
		return rx >= 50
	})
	_, early, _ := br.pc.Counts()
	t.Logf("early media: %d packets at the browser %v after the 183, before any 200", early, took.Round(time.Millisecond))

	// the phone answers: the same SDP (RFC 3264: the 183's answer stands)
	ph.reply(inv, 200, "OK", wrPhoneSDP(ph.rtp.addr()))
	res = br.next(15 * time.Second)
	for res.Status > 100 && res.Status < 200 {
		res = br.next(15 * time.Second)
	}
	if res.Status != 200 {
		t.Fatalf("final response %d\n%s", res.Status, res.Raw)
	}
	call.to = res.get("To")
	call.target = strings.Trim(strings.SplitN(res.get("Contact"), ">", 2)[0], "<")
	br.send("ACK", call.target, call.to, call.callID, call.tag, randHex(8), call.cseq, nil, "")
	br.pc.Stream(false)
	waitFor(t, 30*time.Second, "audio both ways after the answer", func() bool {
		_, rx, _ := br.pc.Counts()
		return rx >= early+50 && ph.rtp.count(0) >= 50
	})
	_, rx, _ := br.pc.Counts()
	t.Logf("after the 200: browser got %d packets in all, the phone %d", rx, ph.rtp.count(0))
	if res := br.bye(call); res.Status != 200 {
		t.Fatalf("BYE: %d\n%s", res.Status, res.Raw)
	}
	g.released(t, 15*time.Second, 0, 0)
}
