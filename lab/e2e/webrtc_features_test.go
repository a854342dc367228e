package e2e

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// The B2BUA's features with a browser (the web phone in Chromium) on one
// leg (issue 12): mute, the round trip in the call record and /metrics,
// transfers, forking, the voicemail pilot.

// pcmuLoud is the magnitude (of 32124, G.711 μ-law) a sample must pass to
// count as sound: Chromium's fake microphone beeps far above it, the
// silence of a disabled track is 0.
const pcmuLoud = 1000

// pcmuIsLoud reports whether the PCMU payload of the RTP packet pkt has a
// sample past pcmuLoud (RFC 3550 §5.1 header, CSRCs and extension skipped;
// ITU-T G.711 μ-law decoding).
func pcmuIsLoud(pkt []byte) bool {
	if len(pkt) < 12 {
		return false
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 { // header extension (RFC 3550 §5.3.1)
		if len(pkt) < off+4 {
			return false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 && end > off { // padding
		end -= int(pkt[end-1])
	}
	if off >= end {
		return false
	}
	for _, u := range pkt[off:end] {
		u = ^u
		exp, mant := int(u>>4)&7, int(u&0x0f)
		mag := ((mant<<3)+0x84)<<exp - 0x84
		if mag > pcmuLoud {
			return true
		}
	}
	return false
}

// loudCount is how many PCMU packets with sound p received.
func (p *wrPhone) loudCount() int { return int(p.rtp.loud.Load()) }

// TestWebPhoneMuteAndRTT: the web phone calls a G.711 phone through the
// gateway. Before muting, the phone hears the browser (PCMU packets with
// sound: Chromium's fake microphone beeps twice a second). The page's
// Mute button (JsSIP mute: the track disabled) shows pressed and the
// phone hears silence only, for 3 s; Unmute brings the sound back. The
// gateway measures the round trip to the browser from its RTCP reports
// (rtt_ms in /api/v1/media/calls); after the browser hangs up, the call
// record has it as media_a.rtt_ms (the caller's side is the browser) and
// none on the phone's side, and /metrics counts it in the histogram
// switchboard_webrtc_rtt_seconds.
func TestWebPhoneMuteAndRTT(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1002, password: secret, extension: "1002"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	phone := newWRPhone(t, g, "u1000")
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	b.do("dial 1000", 10*time.Second, clearInput("#number"),
		chromedp.SendKeys(chromedp.CSS("#number"), "1000"),
		chromedp.Click(chromedp.CSS("#call-btn")))
	b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
	b.audioFlows(t)

	pcmu := func() int { return phone.rtp.count(0) }
	waitFor(t, 20*time.Second, "the phone hears the browser's microphone", func() bool { return phone.loudCount() >= 3 })

	t.Run("mute", func(t *testing.T) {
		b.t = t
		b.do("mute", 10*time.Second, chromedp.Click(chromedp.CSS("#mute-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#mute-btn[aria-pressed="true"]`)))
		time.Sleep(500 * time.Millisecond) // what was under way when the button was pressed
		loud0, pkts0 := phone.loudCount(), pcmu()
		time.Sleep(3 * time.Second)
		loud, pkts := phone.loudCount(), pcmu()
		t.Logf("muted 3 s: the phone got %d PCMU packets, %d with sound", pkts-pkts0, loud-loud0)
		if loud != loud0 {
			t.Errorf("muted, the phone still heard the browser: %d loud packets in 3 s", loud-loud0)
		}
		if on, err := b.eval(`document.getElementById('mute-btn').getAttribute('aria-pressed')`); err != nil || on != "true" {
			t.Errorf("mute button %q %v", on, err)
		}
		b.do("unmute", 10*time.Second, chromedp.Click(chromedp.CSS("#mute-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#mute-btn[aria-pressed="false"]`)))
		took := waitFor(t, 10*time.Second, "the phone hears the browser again", func() bool { return phone.loudCount() >= loud+3 })
		t.Logf("unmuted: sound again after %v", took.Round(time.Millisecond))
	})
	b.t = t

	var live float64
	waitFor(t, 30*time.Second, "a round trip measured at the gateway", func() bool {
		br, _ := g.browserCall(t)
		if br.WebRTC.RTTMS != nil {
			live = *br.WebRTC.RTTMS
		}
		return live > 0
	})
	b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	r := waitCDR(t, g, "u1002", func(r cdr.Record) bool { return r.Caller == "u1002" })
	t.Logf("round trip: live %.3f ms; record: browser's side %.3f ms, phone's side %.3f ms", live, r.MediaA.RTTMs, r.MediaB.RTTMs)
	// loopback: positive and far below a second (a wrong computation is
	// off by seconds or years)
	if r.MediaA.RTTMs <= 0 || r.MediaA.RTTMs > 1000 {
		t.Errorf("the record's round trip to the browser: %v ms", r.MediaA.RTTMs)
	}
	if r.MediaB.RTTMs != 0 {
		t.Errorf("a round trip %v ms on the phone's plain RTP side", r.MediaB.RTTMs)
	}
	if n := g.metric("switchboard_webrtc_rtt_seconds_count"); n < 1 {
		t.Errorf("switchboard_webrtc_rtt_seconds_count %v, want at least the one measured", n)
	}
	if s := g.metric("switchboard_webrtc_rtt_seconds_sum"); s <= 0 || s > 60 {
		t.Errorf("switchboard_webrtc_rtt_seconds_sum %v", s)
	}
	g.released(t, 15*time.Second, 0, 0)
}
