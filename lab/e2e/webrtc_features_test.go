package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

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

// callState is the web phone's call panel state ("ringing", "active",
// "ended", ...).
func (b *browser) callState() string {
	s, _ := b.eval(`document.getElementById('call-panel').dataset.state || ''`)
	return s
}

// waitOut waits until baresip's output (and ctrl_tcp events) holds more
// than n of s.
func (p *baresip) waitOut(t *testing.T, d time.Duration, s string, n int) {
	t.Helper()
	waitFor(t, d, "baresip: "+s, func() bool { return strings.Count(p.out.String(), s) > n })
}

// TestWebPhoneForked: u1001 is registered twice, as the web phone in
// Chromium and as a baresip that answers by hand; a baresip u1000 calls
// 1001 and both ring. (1) The browser answers: the baresip fork's call
// closes unanswered (its CALL_CLOSED event, no "Call established"), audio
// flows between the browser and the caller. (2) The baresip answers: the
// page stops ringing and says "Answered elsewhere" (the CANCEL's Reason,
// RFC 3326), the browser's WebRTC leg is released at once while the call
// goes on (switchboard_webrtc_legs 0, one relay session), and the record
// has media both ways.
func TestWebPhoneForked(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	b := startBrowser(t)
	b.login(g, "u1001", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	fork := startBaresip(t, g, "u1001")
	fork.command("/answermode manual")
	fork.waitOut(t, 10*time.Second, "Answer mode changed to: manual", 0)
	caller := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "u1000 and both of u1001's", func(rs []registration) bool {
		n := 0
		for _, r := range rs {
			if r.AOR == "u1001@example.com" {
				n++
			}
		}
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok && n == 2
	})

	ring := func(t *testing.T, calls int) {
		t.Helper()
		caller.command("/dial sip:1001@example.com")
		b.do("the browser rings", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ringing"]`)))
		fork.waitOut(t, 30*time.Second, "Incoming call", calls)
	}

	t.Run("the browser answers", func(t *testing.T) {
		b.t = t
		ring(t, 0)
		closed := strings.Count(fork.out.String(), `"type":"CALL_CLOSED"`)
		b.do("answer", 20*time.Second, chromedp.Click(chromedp.CSS("#answer-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
		fork.waitOut(t, 15*time.Second, `"type":"CALL_CLOSED"`, closed)
		if strings.Contains(fork.out.String(), "Call established") {
			t.Errorf("the baresip fork was connected too:\n%s", tail(fork.out.String(), 1500))
		}
		b.audioFlows(t)
		br, far := g.browserCall(t)
		waitFor(t, 15*time.Second, "the caller's audio at the relay", func() bool {
			br, far = g.browserCall(t)
			return far.PacketsIn >= 50 && br.WebRTC.ToBrowser >= 50 && br.WebRTC.FromBrowser >= 50
		})
		t.Logf("caller's leg: %d packets in, %d out; browser's leg: %d from, %d to the browser", far.PacketsIn, far.PacketsOut, br.WebRTC.FromBrowser, br.WebRTC.ToBrowser)
		caller.command("/hangup")
		b.do("call over", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		g.released(t, 15*time.Second, 0, 0)
	})
	b.t = t
	if t.Failed() {
		return
	}

	t.Run("the SIP phone answers", func(t *testing.T) {
		b.t = t
		established := strings.Count(fork.out.String(), "Call established")
		start := time.Now()
		ring(t, 1)
		if n := g.metric("switchboard_webrtc_legs"); n != 1 {
			t.Errorf("ringing: %v WebRTC legs, want the browser's 1", n)
		}
		fork.command("/accept")
		fork.waitOut(t, 15*time.Second, "Call established", established)
		b.do("the browser stops ringing", 20*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		if got := b.text("#call-state"); got != "Answered elsewhere" {
			t.Errorf("the page says %q, want Answered elsewhere", got)
		}
		// the call goes on between the baresips; the browser's leg is gone
		g.released(t, 15*time.Second, 0, 1)
		if st := b.callState(); st != "ended" {
			t.Errorf("the page's call is %q", st)
		}
		time.Sleep(2 * time.Second) // some audio between the two baresips
		caller.command("/hangup")
		r := waitCDR(t, g, "u1000", func(r cdr.Record) bool { return r.Setup.After(start) })
		t.Logf("record: %s → %s answered by %s, media %d / %d packets", r.Caller, r.Callee, r.AnsweredBy, r.MediaA.Packets, r.MediaB.Packets)
		if r.Status != 200 || r.MediaA.Packets == 0 || r.MediaB.Packets == 0 {
			t.Errorf("record %+v, want answered with media both ways", r)
		}
		g.released(t, 15*time.Second, 0, 0)
	})
}

// startBaresipPilot runs baresip as a voicemail pilot behind a trunk: the
// account sip:number@127.0.0.1 on a UDP port of its own (returned),
// registering nowhere, answering every call automatically with PCMU and
// telephone-event (RFC 4733), its events (ctrl_tcp: CALL_DTMF_START) in
// its output.
func startBaresipPilot(t *testing.T, number string) (*baresip, int) {
	t.Helper()
	bin := requireTool(t, "baresip")
	modules := "/usr/lib/baresip/modules"
	for _, m := range []string{"account.so", "ausine.so", "g711.so", "stdio.so", "menu.so", "ctrl_tcp.so"} {
		if _, err := os.Stat(filepath.Join(modules, m)); err != nil {
			t.Skipf("baresip module %s not found in %s", m, modules)
		}
	}
	dir, port, ctrlPort := t.TempDir(), freeUDPPort(t, "127.0.0.1"), freeTCPPort(t)
	config := fmt.Sprintf(`module_path %s
sip_listen 127.0.0.1:%d
rtp_ports 20000-29999
module stdio.so
module g711.so
module ausine.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:%d
audio_player none
audio_source ausine,440
ausrc_srate 48000
ausrc_channels 2
audio_alert none
`, modules, port, ctrlPort)
	accounts := fmt.Sprintf("<sip:%s@127.0.0.1;transport=udp>;regint=0;answermode=auto;audio_codecs=PCMU\n", number)
	for name, body := range map[string]string{"config": config, "accounts": accounts} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-f", dir, "-n", "127.0.0.1", "-t", "60")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &baresip{t: t, cmd: cmd, stdin: stdin, out: &logBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	exited, err := startChild(cmd)
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-exited; close(b.done) }()
	go b.events(ctrlPort) // webrtc_dtmf_test.go
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("baresip pilot %s output:\n%s", number, tail(b.out.String(), 4000))
		}
	})
	return b, port
}

// TestWebPhoneVoicemailPilot: the web phone dials the voicemail pilot
// 8000, which a trunk routes to the PBX's side, where a baresip answers
// with PCMU and telephone-event. Audio flows both ways (the browser's
// inbound-rtp/outbound-rtp, the relay's counters of the trunk's leg); the
// digits 1, 2, 3 pressed on the page's keypad (JsSIP's SIP INFO) reach
// the pilot in the order pressed, once each (baresip's CALL_DTMF_START;
// baresip raises it for RFC 4733 and for INFO alike, so that the gateway
// sent RFC 4733 towards the leg with telephone-event is what
// TestWebRTCInfoDTMF proves, not this test).
func TestWebPhoneVoicemailPilot(t *testing.T) {
	pilot, port := startBaresipPilot(t, "8000")
	g := startGateway(t, fmt.Sprintf(`registrar: {algorithms: [MD5]}
users:
  - {username: u1002, password: secret, extension: "1002"}
trunks:
  - {name: pbx, target: "sip:127.0.0.1:%d", probe: {interval: 0s}, match: ["8000"]}
`, port))
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	b.do("dial 8000", 10*time.Second, clearInput("#number"),
		chromedp.SendKeys(chromedp.CSS("#number"), "8000"),
		chromedp.Click(chromedp.CSS("#call-btn")))
	b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
	pilot.waitOut(t, 10*time.Second, "Call established", 0)
	b.audioFlows(t)
	var br, far mediaLeg
	waitFor(t, 15*time.Second, "audio both ways on the trunk's leg", func() bool {
		br, far = g.browserCall(t)
		return far.PacketsIn >= 50 && far.PacketsOut >= 50
	})
	t.Logf("trunk's leg: %d packets in, %d out; browser's leg: %d from, %d to the browser", far.PacketsIn, far.PacketsOut, br.WebRTC.FromBrowser, br.WebRTC.ToBrowser)
	for _, k := range []string{"1", "2", "3"} {
		before := len(reBaresipDTMF.FindAllString(pilot.out.String(), -1))
		b.do("DTMF "+k, 10*time.Second, chromedp.Click(chromedp.CSS(`#keypad button[data-key="`+k+`"]`)))
		waitFor(t, 15*time.Second, "the pilot hears "+k, func() bool {
			return len(reBaresipDTMF.FindAllString(pilot.out.String(), -1)) > before
		})
	}
	var got []string
	for _, m := range reBaresipDTMF.FindAllStringSubmatch(pilot.out.String(), -1) {
		got = append(got, m[1])
	}
	t.Logf("the pilot's DTMF events: %v", got)
	if strings.Join(got, "") != "123" {
		t.Errorf("the pilot heard %v, want 1 2 3 once each", got)
	}
	b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	r := waitCDR(t, g, "u1002", func(r cdr.Record) bool { return r.Callee == "8000" })
	t.Logf("record: %s → %s via %s, status %d, media %d / %d packets", r.Caller, r.Callee, r.Trunk, r.Status, r.MediaA.Packets, r.MediaB.Packets)
	if r.Trunk != "pbx" || r.Status != 200 || r.MediaA.Packets == 0 || r.MediaB.Packets == 0 {
		t.Errorf("record %+v", r)
	}
	g.released(t, 15*time.Second, 0, 0)
}

// expectNotify2xx waits for the NOTIFY on callID whose sipfrag is a 2xx
// status line (RFC 3515 §2.4.5), whatever its reason phrase.
func expectNotify2xx(t *testing.T, p *testPhone, callID string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case n := <-p.notifies:
			if n.CallID().Value() != callID {
				continue
			}
			frag := strings.TrimSpace(string(n.Body()))
			if strings.HasPrefix(frag, "SIP/2.0 1") {
				continue
			}
			if !strings.HasPrefix(frag, "SIP/2.0 2") {
				t.Fatalf("NOTIFY sipfrag %q, want a 2xx", frag)
			}
			return
		case <-timeout:
			t.Fatal("no NOTIFY with a 2xx sipfrag")
		}
	}
}

// answerWhenRinging answers the web phone's next call from a goroutine
// (the caller's dial blocks until the answer); its error, if any, comes
// on the channel.
func (b *browser) answerWhenRinging() <-chan error {
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		defer cancel()
		errc <- chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ringing"]`)),
			chromedp.Click(chromedp.CSS("#answer-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
	}()
	return errc
}

// TestWebPhoneTransferee: the web phone in Chromium is the transferee.
// A SIP phone (sipgo, u1000 on a trusted address) calls it and transfers
// it. (1) Blind (RFC 5589 §6): REFER to 1001, a baresip that rings until
// told to answer; while it rings the browser keeps receiving audio (the
// gateway's ringback, issue 11: its inbound-rtp grows by 50 packets and
// more in 2 s, though the transferor sends nothing), then baresip
// answers, the phone gets NOTIFY 200 and a BYE, the browser stays in the
// call and hears baresip's tone. (2) Attended (RFC 5589 §7, RFC 3891): the phone calls the browser
// again and 2001 on the PBX, then REFERs the browser to 2001 with Replaces
// naming that call; the phone gets NOTIFY 200 and BYEs on both calls, and
// audio flows between the browser and 2001 (the browser's inbound-rtp
// grows with 2001's packets, 2001 receives the browser's).
func TestWebPhoneTransferee(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, strings.Replace(dialogConfig(pbx.agent.addr), "[MD5, SHA-256]", "[MD5]", 1)+`users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1001, password: secret, extension: "1001"}
  - {username: u1002, password: secret, extension: "1002"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	target := startBaresip(t, g, "u1001")
	target.command("/answermode manual")
	target.waitOut(t, 10*time.Second, "Answer mode changed to: manual", 0)
	g.waitRegistrations(20*time.Second, "baresip u1001", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1001@example.com"]
		return ok
	})
	ph := newTestPhone(t)
	rtp1 := newRTPPort(t, "127.0.0.1")
	ph.port = rtp1.port
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	callBrowser := func(t *testing.T) *sipgo.DialogClientSession {
		t.Helper()
		answered := b.answerWhenRinging()
		s := ph.dial(ctx, g.UDP, "1002", mediaBody("127.0.0.1", rtp1.port, "", 0))
		if err := <-answered; err != nil {
			t.Fatalf("the browser did not answer: %v\npage: %s", err, b.pageText())
		}
		return s
	}

	t.Run("blind, the browser hears the target ring", func(t *testing.T) {
		b.t, ph.t = t, t
		s1 := callBrowser(t)
		cid := s1.InviteRequest.CallID().Value()
		st0 := b.iceStats(t)
		if res := inDialog(ctx, t, s1, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:1001@example.com>")); res.StatusCode != 202 {
			t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
		}
		ph.expectNotify(cid, "SIP/2.0 100 Trying")
		target.waitOut(t, 15*time.Second, "Incoming call", 0)
		st1 := b.iceStats(t)
		time.Sleep(2 * time.Second) // the target rings until it is told to answer
		st2 := b.iceStats(t)
		t.Logf("browser inbound-rtp: %d at the REFER, %d when the target rang, %d 2 s later", st0.Inbound, st1.Inbound, st2.Inbound)
		if st2.Inbound < st1.Inbound+50 {
			t.Errorf("while the target rang the browser got %d packets in 2 s, want ≥ 50 (the ringback tone)\ngateway: %s", st2.Inbound-st1.Inbound, tail(g.log.String(), 1500))
		}
		target.command("/accept")
		target.waitOut(t, 15*time.Second, "Call established", 0)
		expectNotify2xx(t, ph, cid) // baresip's reason phrase: "200 Answering"
		ph.expectBye(cid)
		time.Sleep(2 * time.Second) // the target's tone
		st3 := b.iceStats(t)
		t.Logf("browser inbound-rtp 2 s after the target answered: %d", st3.Inbound)
		if st3.Inbound < st2.Inbound+50 {
			t.Errorf("the browser got %d packets in the 2 s after the target answered", st3.Inbound-st2.Inbound)
		}
		if st := b.callState(); st != "active" {
			t.Errorf("after the transfer the page's call is %q, want active; page: %s", st, b.pageText())
		}
		b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		target.waitOut(t, 10*time.Second, `"type":"CALL_CLOSED"`, 0)
		g.released(t, 15*time.Second, 0, 0)
	})
	b.t = t
	if t.Failed() {
		return
	}

	t.Run("attended, to 2001 on the PBX", func(t *testing.T) {
		b.t, ph.t = t, t
		s1 := callBrowser(t)
		rtp2 := newRTPPort(t, "127.0.0.1")
		s2 := ph.dial(ctx, g.UDP, "2001", mediaBody("127.0.0.1", rtp2.port, "", 0))
		c := pbx.get("2001")
		cid1, cid2 := s1.InviteRequest.CallID().Value(), s2.InviteRequest.CallID().Value()
		toTag, _ := s2.InviteResponse.To().Params.Get("tag")
		fromTag, _ := s2.InviteRequest.From().Params.Get("tag")
		rep := url.QueryEscape(cid2 + ";to-tag=" + toTag + ";from-tag=" + fromTag)
		if res := inDialog(ctx, t, s1, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com?Replaces="+rep+">")); res.StatusCode != 202 {
			t.Fatalf("REFER with Replaces: %d %s", res.StatusCode, res.Reason)
		}
		ph.expectNotify(cid1, "SIP/2.0 100 Trying")
		ph.expectNotify(cid1, "SIP/2.0 200 OK")
		ph.expectBye(cid1, cid2)
		// 2001 talks; the browser hears it and 2001 hears the browser
		st0 := b.iceStats(t)
		sent := sendRTP(t, c.rtp, c.relayAddr, 150)
		heard := c.rtp.recv(2 * time.Second)[0]
		<-sent
		st := b.iceStats(t)
		t.Logf("after the transfer: the browser got %d packets (%d → %d), 2001 got %d of the browser's in 2 s", st.Inbound-st0.Inbound, st0.Inbound, st.Inbound, heard)
		if st.Inbound < st0.Inbound+50 {
			t.Errorf("the browser got %d of 2001's 150 packets", st.Inbound-st0.Inbound)
		}
		if heard < 50 {
			t.Errorf("2001 got %d packets from the browser in 2 s", heard)
		}
		if s := b.callState(); s != "active" {
			t.Errorf("the page's call is %q, want active", s)
		}
		b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
		g.released(t, 15*time.Second, 0, 0)
	})
}
