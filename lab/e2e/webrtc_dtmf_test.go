package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gobwas/ws"
)

// SIP INFO DTMF turned into RFC 4733 events by the gateway
// (gateway/b2bua dtmf.go, media/relay inject.go), checked at the far end's
// RTP socket with a parser of its own.

// rtpEvent is one RFC 4733 packet as a phone receives it.
type rtpEvent struct {
	Seq      uint16
	TS       uint32
	SSRC     uint32
	Marker   bool
	Code     byte
	End      bool
	Duration uint16
}

// rtpSeen is one RTP packet's header fields.
type rtpSeen struct {
	pt   byte
	seq  uint16
	ts   uint32
	ssrc uint32
}

// capture reads the RTP arriving at r for d: every packet's header and
// the RFC 4733 events of payload type ev.
func (r *rtpPort) capture(ev byte, d time.Duration) (all []rtpSeen, events []rtpEvent) {
	buf := make([]byte, 2048)
	_ = r.conn.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := r.conn.Read(buf)
		if err != nil {
			return all, events
		}
		if n < 12 || buf[0]>>6 != 2 || (buf[1] >= 192 && buf[1] <= 223) {
			continue
		}
		p := rtpSeen{pt: buf[1] & 0x7f, seq: binary.BigEndian.Uint16(buf[2:]), ts: binary.BigEndian.Uint32(buf[4:]), ssrc: binary.BigEndian.Uint32(buf[8:])}
		all = append(all, p)
		if p.pt == ev && n >= 16 {
			events = append(events, rtpEvent{Seq: p.seq, TS: p.ts, SSRC: p.ssrc, Marker: buf[1]&0x80 != 0,
				Code: buf[12], End: buf[13]&0x80 != 0, Duration: binary.BigEndian.Uint16(buf[14:])})
		}
	}
}

// events is capture's events alone.
func (r *rtpPort) events(ev byte, d time.Duration) []rtpEvent {
	_, evs := r.capture(ev, d)
	return evs
}

// endsOf counts the end packets of event code among evs.
func endsOf(evs []rtpEvent, code byte) int {
	n := 0
	for _, e := range evs {
		if e.Code == code && e.End {
			n++
		}
	}
	return n
}

// sendInfo sends an INFO from the browser on the dialog of inv, a call the
// gateway made to it (the browser answered with tag), and returns the
// final response.
func (b *wrBrowser) sendInfo(inv *sipMsg, tag string, cseq int, ctype, body string) *sipMsg {
	b.t.Helper()
	target := strings.Trim(strings.SplitN(inv.get("Contact"), ">", 2)[0], "<")
	var s strings.Builder
	fmt.Fprintf(&s, "INFO %s SIP/2.0\r\nVia: SIP/2.0/WSS %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n", target, b.ws.host, randHex(8))
	fmt.Fprintf(&s, "From: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d INFO\r\n", inv.get("To"), tag, inv.get("From"), inv.get("Call-ID"), cseq)
	fmt.Fprintf(&s, "Content-Type: %s\r\nContent-Length: %d\r\n\r\n%s", ctype, len(body), body)
	b.write(ws.NewTextFrame([]byte(s.String())))
	want := fmt.Sprintf("%d INFO", cseq)
	for {
		m := b.next(10 * time.Second)
		if m.Status >= 200 && m.get("CSeq") == want {
			return m
		}
	}
}

// TestWebRTCInfoDTMF: a phone calls a browser; the browser's keypad sends
// DTMF as SIP INFO (application/dtmf-relay, JsSIP's default). The phone
// negotiated telephone-event, so it gets no INFO but RFC 4733 events in
// the RTP it receives: its payload type 101, the event code, the marker
// on the first packet, three end packets with the INFO's duration
// (160 ms = 1280 units at 8 kHz), the audio's SSRC, a timestamp on the
// audio's timeline, and one gapless sequence of audio and events (RFC 4733
// §2.5, RFC 3550 §5.1). The other way, the phone's INFO reaches the
// browser as events on its WebRTC leg, and the phone's own RFC 4733
// packets pass the bridge as RTP.
func TestWebRTCInfoDTMF(t *testing.T) {
	g := startGateway(t, wrUsers)
	br := newWRBrowser(t, g, "u1001")
	media := newRTPPort(t, "127.0.0.1")
	ph := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := call(ctx, ph, g.UDP, "1001", mediaBody("127.0.0.1", media.port, "", 0, 101))
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { answered <- s.WaitAnswer(ctx, answerOpts()) }()
	inv := br.next(10 * time.Second)
	if inv.Method != "INVITE" {
		t.Fatalf("browser got %q, want INVITE", inv.Raw)
	}
	tag := randHex(4)
	ans, err := br.pc.Answer([]byte(inv.Body))
	if err != nil {
		t.Fatalf("browser cannot answer: %v\n%s", err, inv.Body)
	}
	br.reply(inv, 200, "OK", tag, string(ans))
	if err := <-answered; err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s.InviteResponse.Body()), "telephone-event/8000") {
		t.Fatalf("phone's answer lacks telephone-event:\n%s", s.InviteResponse.Body())
	}
	br.pc.Stream(false) // audio only: every event the phone gets is the gateway's
	waitFor(t, 20*time.Second, "browser audio at the phone", func() bool {
		all, _ := media.capture(101, 200*time.Millisecond)
		return len(all) > 3
	})

	type capt struct {
		all []rtpSeen
		evs []rtpEvent
	}
	got := make(chan capt, 1)
	go func() {
		all, evs := media.capture(101, 1500*time.Millisecond)
		got <- capt{all, evs}
	}()
	time.Sleep(300 * time.Millisecond)
	res := br.sendInfo(inv, tag, 1, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
	if res.Status != 200 {
		t.Fatalf("INFO: %d %s", res.Status, res.Raw)
	}
	c := <-got
	var audio []rtpSeen
	for _, p := range c.all {
		if p.pt == 0 {
			audio = append(audio, p)
		} else if p.pt != 101 {
			t.Errorf("phone got payload type %d", p.pt)
		}
	}
	t.Logf("phone got %d audio and %d event packets: %+v", len(audio), len(c.evs), c.evs)
	if len(c.evs) < 4 || len(audio) < 10 {
		t.Fatalf("phone got %d event and %d audio packets; want the digit as RFC 4733 beside the audio", len(c.evs), len(audio))
	}
	if !c.evs[0].Marker {
		t.Error("first event packet without the marker bit (RFC 4733 §2.5.1.1)")
	}
	ends := 0
	for _, e := range c.evs {
		if e.Code != 5 || e.SSRC != audio[0].ssrc || e.TS != c.evs[0].TS {
			t.Errorf("event %+v: want code 5 on SSRC %x with the first's timestamp", e, audio[0].ssrc)
		}
		if e.End {
			ends++
			if e.Duration != 1280 {
				t.Errorf("end packet duration %d, want 1280", e.Duration)
			}
		}
	}
	if ends != 3 {
		t.Errorf("%d end packets, want 3 (RFC 4733 §2.5.1.4)", ends)
	}
	seqs := make([]int, 0, len(c.all))
	for _, p := range c.all {
		seqs = append(seqs, int(p.seq))
	}
	sort.Ints(seqs)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Errorf("sequence numbers jump from %d to %d: audio and events are not one stream", seqs[i-1], seqs[i])
			break
		}
	}
	var before, after *rtpSeen
	for i := range audio {
		if audio[i].seq < c.evs[0].Seq {
			before = &audio[i]
		} else if after == nil {
			after = &audio[i]
		}
	}
	if before == nil || after == nil || c.evs[0].TS+160 < before.ts || c.evs[0].TS > after.ts+160 {
		t.Errorf("event timestamp %d off the audio's timeline (%+v, %+v)", c.evs[0].TS, before, after)
	}

	// a body the gateway cannot read passes on as INFO (the phone, a
	// sipgo UA without an INFO handler, answers 405); a flood of digits
	// beyond the queue gets 503 and the call goes on
	if res := br.sendInfo(inv, tag, 2, "application/dtmf-relay", "Signal=X\r\n"); res.Status != 405 {
		t.Errorf("unreadable INFO: %d, want the phone's 405 passed back", res.Status)
	}
	refused := 0
	for i := range 40 {
		if res := br.sendInfo(inv, tag, 3+i, "application/dtmf", "1"); res.Status == 503 {
			refused++
		} else if res.Status != 200 {
			t.Errorf("INFO %d of the flood: %d", i, res.Status)
		}
	}
	t.Logf("INFO flood: %d of 40 refused with 503", refused)
	if refused == 0 {
		t.Error("a flood of 40 INFO digits was all queued")
	}

	// the other way: the phone's INFO becomes events on the browser's
	// leg, and the phone's own RFC 4733 packets pass as RTP
	_, _, ev0 := br.pc.Counts()
	if res := inDialog(ctx, t, s, sip.INFO, "application/dtmf-relay", "Signal=#\r\nDuration=100\r\n"); res.StatusCode != 200 {
		t.Fatalf("phone's INFO: %d %s", res.StatusCode, res.Reason)
	}
	// the whole event (7 packets for a 100 ms digit): while it lasts the
	// audio towards the browser is held back, the phone's own events too
	waitFor(t, 10*time.Second, "the phone's INFO as events at the browser", func() bool {
		_, _, ev := br.pc.Counts()
		return ev >= ev0+7
	})
	time.Sleep(200 * time.Millisecond)
	_, _, ev1 := br.pc.Counts()
	media.send(t, sdpAddr(t, string(s.InviteResponse.Body())), 101, 20)
	waitFor(t, 10*time.Second, "the phone's RFC 4733 at the browser", func() bool {
		_, _, ev := br.pc.Counts()
		return ev >= ev1+10
	})
	for {
		select {
		case m := <-br.in:
			if m.Method == "INFO" {
				t.Errorf("browser got the INFO: %s", m.Raw)
			}
			continue
		default:
		}
		break
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	bye := br.next(10 * time.Second)
	for bye.Method != "BYE" {
		bye = br.next(10 * time.Second)
	}
	br.reply(bye, 200, "OK", "", "")
	g.released(t, 15*time.Second, 0, 0)
}

// freeTCPPort is a TCP port on 127.0.0.1 free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// events copies baresip's ctrl_tcp event stream (JSON netstrings) into
// its output, until baresip exits.
func (b *baresip) events(port int) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var c net.Conn
	for {
		var err error
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		select {
		case <-b.done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	go func() { <-b.done; _ = c.Close() }()
	_, _ = io.Copy(b.out, c)
}

var reBaresipDTMF = regexp.MustCompile(`"type":"CALL_DTMF_START"[^}]*"param":"(.)"`)

// baresipDTMF reports whether baresip's events (ctrl_tcp) say digit d
// arrived: an RFC 4733 event (or an INFO) it took as DTMF.
func baresipDTMF(out string, d byte) bool {
	for _, m := range reBaresipDTMF.FindAllStringSubmatch(out, -1) {
		if m[1][0] == d {
			return true
		}
	}
	return false
}
