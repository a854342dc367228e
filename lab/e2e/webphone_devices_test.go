package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// watchPeerConnections makes the page keep every RTCPeerConnection it
// creates in window.__sbPCs (JsSIP creates its connection with the
// global constructor at call time), so a test can read what the page's
// own connection does; with relayOnly the connections also use only
// relayed candidates (iceTransportPolicy "relay", as a browser on a
// network that allows nothing but TURN).
func (b *browser) watchPeerConnections(relayOnly bool) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
	  window.__sbRelayOnly = %t;
	  if (window.__sbPCs) return 'again';
	  const Orig = window.RTCPeerConnection;
	  window.__sbPCs = [];
	  window.RTCPeerConnection = class extends Orig {
	    constructor(cfg, ...rest) {
	      cfg = Object.assign({}, cfg || {});
	      if (window.__sbRelayOnly) cfg.iceTransportPolicy = 'relay';
	      super(cfg, ...rest);
	      window.__sbPCs.push(this);
	    }
	  };
	  return 'ok';
	})()`, relayOnly)
	if _, err := b.eval(js); err != nil {
		b.t.Fatalf("watching the page's peer connections: %v", err)
	}
}

// evalAwait evaluates a JavaScript expression that yields a promise of a
// string.
func (b *browser) evalAwait(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return s
}

// senderDevice is the device id and label of the microphone track the
// page's current connection sends, and whether that track is live.
func (b *browser) senderDevice() (id, label, state string) {
	b.t.Helper()
	s := b.evalAwait(`(async () => {
	  const pc = (window.__sbPCs || []).at(-1);
	  if (!pc) return '||';
	  const s = pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
	  if (!s) return '||';
	  return [s.track.getSettings().deviceId || '', s.track.label, s.track.readyState].join('|');
	})()`)
	parts := strings.SplitN(s, "|", 3)
	return parts[0], parts[1], parts[2]
}

// dialNumber types number on the page's dial pad and presses Call.
func (b *browser) dialNumber(number string) {
	b.t.Helper()
	b.do("dial "+number, 10*time.Second, clearInput("#number"),
		chromedp.SendKeys(chromedp.CSS("#number"), number),
		chromedp.Click(chromedp.CSS("#call-btn")))
}

// chooseDevice selects the option i (1: the first after "Default") of the
// select sel as a user does, and returns its value (the device id) and
// label.
func (b *browser) chooseDevice(sel string, i int) (id, label string) {
	b.t.Helper()
	s, err := b.eval(fmt.Sprintf(`(() => { const s = document.querySelector(%q);
	  if (s.options.length <= %d) return '|';
	  s.selectedIndex = %d; s.dispatchEvent(new Event('change'));
	  return s.options[%d].value + '|' + s.options[%d].textContent; })()`, sel, i, i, i, i))
	if err != nil {
		b.t.Fatalf("choosing option %d of %s: %v", i, sel, err)
	}
	id, label, _ = strings.Cut(s, "|")
	return id, label
}

// TestWebPhoneDevices: the microphone and speaker chosen in the web
// phone's device list are the ones a call uses. Chromium's fake devices
// (--use-fake-device-for-media-stream) give two microphones and two
// speakers besides the default. The user picks microphone 1 and speaker
// 1 before the call: the connection's audio sender carries microphone
// 1's track and the remote audio plays on speaker 1 (its sinkId). During
// the call the user picks microphone 2: the sender's track becomes
// microphone 2's (replaceTrack, no re-INVITE), the old one is stopped,
// and baresip still receives the browser's audio afterwards (the relay's
// counter of the browser's leg grows by 50 packets and more).
func TestWebPhoneDevices(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1002, password: secret, extension: "1002"}
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	peer := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "baresip u1000", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok
	})
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	b.do("open the device list", 20*time.Second, chromedp.Click(chromedp.CSS("#devices summary")),
		chromedp.WaitReady(chromedp.CSS("#mic-select option:nth-child(3)")),
		chromedp.WaitReady(chromedp.CSS("#speaker-select option:nth-child(2)")))
	mic1, mic1Label := b.chooseDevice("#mic-select", 1)
	spk1, spk1Label := b.chooseDevice("#speaker-select", 1)
	t.Logf("chosen before the call: microphone %q, speaker %q", mic1Label, spk1Label)
	if mic1 == "" || spk1 == "" {
		t.Fatalf("no device to choose: microphone %q, speaker %q; page: %s", mic1, spk1, b.pageText())
	}

	b.watchPeerConnections(false)
	b.dialNumber("1000")
	b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
	b.audioFlows(t)
	id, label, state := b.senderDevice()
	t.Logf("sending from %q (%s)", label, state)
	if id != mic1 || label != mic1Label || state != "live" {
		t.Errorf("the call sends from %q %q (%s), want the chosen microphone %q %q", id, label, state, mic1, mic1Label)
	}
	if sink, _ := b.eval(`document.getElementById('remote-audio').sinkId`); sink != spk1 {
		t.Errorf("the call plays on sink %q, want the chosen speaker %q", sink, spk1)
	}

	// Another microphone during the call.
	mic2, mic2Label := b.chooseDevice("#mic-select", 2)
	if mic2 == "" || mic2 == mic1 {
		t.Fatalf("no second microphone: %q", mic2)
	}
	waitFor(t, 15*time.Second, "the sender on microphone "+mic2Label, func() bool {
		id, _, state := b.senderDevice()
		return id == mic2 && state == "live"
	})
	br, _ := g.browserCall(t)
	before := br.WebRTC.FromBrowser
	waitFor(t, 15*time.Second, "the browser's audio after the switch at the gateway", func() bool {
		br, _ = g.browserCall(t)
		return br.WebRTC.FromBrowser >= before+50
	})
	stopped, err := b.eval(`(() => { const pc = window.__sbPCs.at(-1);
	  return String(pc.getSenders().filter((s) => s.track && s.track.kind === 'audio').length); })()`)
	if err != nil || stopped != "1" {
		t.Errorf("audio senders after the switch: %q %v, want 1", stopped, err)
	}
	spk2, spk2Label := b.chooseDevice("#speaker-select", 2)
	if spk2 != "" {
		waitFor(t, 10*time.Second, "the remote audio on speaker "+spk2Label, func() bool {
			sink, _ := b.eval(`document.getElementById('remote-audio').sinkId`)
			return sink == spk2
		})
	}
	b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	r := waitCDR(t, g, "u1002", func(r cdr.Record) bool { return r.Caller == "u1002" })
	if r.Status != 200 || r.MediaA.Packets == 0 || r.MediaB.Packets == 0 {
		t.Errorf("record %+v", r)
	}
	// The history lists the call as outgoing to 1000.
	b.waitHistory(`#history li[data-number="1000"]`)
	if got := b.attr(`#history li[data-number="1000"] .dir`, "title"); got != "outgoing" {
		t.Errorf("the call to 1000 listed as %q, want outgoing", got)
	}
	_ = peer
	g.released(t, 15*time.Second, 0, 0)
}

// TestWebPhoneTURN: the web phone gets its TURN credentials from the
// gateway's authenticated endpoint (GET /phone/api/ice: 401 without a
// session) and a call works through the gateway's own TURN server when
// the browser may use nothing but relayed candidates: Chromium (relay
// only) calls a baresip, audio flows both ways, the selected candidate
// pair's local candidate is a relay one, and the gateway's TURN server
// lists the allocation of u1002's credentials with packets relayed both
// ways.
func TestWebPhoneTURN(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5]}
users:
  - {username: u1000, password: secret, extension: "1000"}
  - {username: u1002, password: secret, extension: "1002"}
turn:
  listen: [udp://127.0.0.1:0]
  relay_address: 127.0.0.1
  public_host: 127.0.0.1
  port_min: 0
  port_max: 0
  allow_peers: [127.0.0.0/8]
`)
	if _, page := g.api("GET", "/phone"); strings.Contains(string(page), `id="jssip-missing"`) {
		t.Fatal("the binary embeds no JsSIP: make build runs the npm step (make webphone) first")
	}
	res, err := httpClient.Get("https://" + g.HTTP + "/phone/api/ice")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /phone/api/ice without a session: %d, want 401", res.StatusCode)
	}
	peer := startBaresip(t, g, "u1000")
	g.waitRegistrations(20*time.Second, "baresip u1000", func(rs []registration) bool {
		_, ok := byAOR(rs)["u1000@example.com"]
		return ok
	})
	b := startBrowser(t)
	b.login(g, "u1002", "secret")
	b.do("registered", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#reg-status[data-state="registered"]`)))
	b.watchPeerConnections(true)
	b.dialNumber("1000")
	b.do("in call", 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="active"]`)))
	b.audioFlows(t)
	pair := b.evalAwait(`(async () => {
	  const pc = window.__sbPCs.at(-1);
	  const r = await pc.getStats();
	  let id = '';
	  r.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) id = s.selectedCandidatePairId; });
	  const p = r.get(id);
	  if (!p) return 'none';
	  const l = r.get(p.localCandidateId), m = r.get(p.remoteCandidateId);
	  return [l.candidateType, l.relayProtocol || '', l.url || '', m.candidateType].join(' ');
	})()`)
	t.Logf("selected pair (local type, relay protocol, server, remote type): %s", pair)
	if !strings.HasPrefix(pair, "relay udp turn:127.0.0.1:") {
		t.Errorf("selected pair %q, want a local relay candidate of the gateway's TURN server", pair)
	}
	var allocs []struct {
		User            string `json:"user"`
		PacketsToPeer   uint64 `json:"packets_to_peer"`
		PacketsFromPeer uint64 `json:"packets_from_peer"`
	}
	waitFor(t, 15*time.Second, "the TURN allocation relays both ways", func() bool {
		code, body := g.api("GET", "/api/v1/turn/allocations")
		if code != http.StatusOK {
			t.Fatalf("GET /api/v1/turn/allocations: %d %s", code, body)
		}
		allocs = allocs[:0]
		if err := json.Unmarshal(body, &allocs); err != nil {
			t.Fatalf("allocations: %v: %s", err, body)
		}
		for _, a := range allocs {
			if a.User == "u1002" || strings.HasSuffix(a.User, ":u1002") {
				if a.PacketsToPeer >= 50 && a.PacketsFromPeer >= 50 {
					return true
				}
			}
		}
		return false
	})
	t.Logf("TURN allocations: %+v", allocs)
	b.do("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#hangup-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#call-panel[data-state="ended"]`)))
	_ = peer
	g.released(t, 15*time.Second, 0, 0)
}
