package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Local ringback for a transferee (issue 11, RFC 3960 §3): a transfer
// target that rings with a 180 without SDP sends no early media, so the
// gateway plays its own ringback tone (media.ringback, 425 Hz 1 s on 4 s
// off by default) into the transferee's RTP stream until the target's
// early media, answer or failure. These tests listen on the transferee's
// RTP socket: the tone's packets (PCMU, 425 Hz by Goertzel, one SSRC,
// gapless sequence numbers, timestamps 160 apart), then the target's own
// stream (its SSRC) and never the tone again.

// rtpRec is an RTP packet the transferee's socket got.
type rtpRec struct {
	pt      byte
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

// rtpRecorder reads an RTP socket until stopped and keeps every packet
// in arrival order.
type rtpRecorder struct {
	mu   sync.Mutex
	pkts []rtpRec
	stop chan struct{}
	done chan struct{}
}

func recordRTP(t *testing.T, p *rtpPort) *rtpRecorder {
	r := &rtpRecorder{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 2048)
		for {
			select {
			case <-r.stop:
				return
			default:
			}
			_ = p.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := p.conn.Read(buf)
			if err != nil || n < 12 {
				continue
			}
			rec := rtpRec{pt: buf[1] & 0x7f, seq: binary.BigEndian.Uint16(buf[2:]), ts: binary.BigEndian.Uint32(buf[4:]),
				ssrc: binary.BigEndian.Uint32(buf[8:]), payload: append([]byte(nil), buf[12:n]...)}
			r.mu.Lock()
			r.pkts = append(r.pkts, rec)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(r.close)
	return r
}

func (r *rtpRecorder) close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

// snapshot is every packet so far.
func (r *rtpRecorder) snapshot() []rtpRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rtpRec(nil), r.pkts...)
}

// waitFor waits until ok holds for the packets so far.
func (r *rtpRecorder) waitFor(d time.Duration, ok func([]rtpRec) bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok(r.snapshot()) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ok(r.snapshot())
}

// ulawLinear decodes G.711 µ-law (ITU-T G.711 table 2), written here
// apart from the gateway's encoder.
func ulawLinear(u byte) float64 {
	u = ^u
	mag := ((int(u&0x0f) << 3) + 0x84) << ((u >> 4) & 7)
	mag -= 0x84
	if u&0x80 != 0 {
		return float64(-mag)
	}
	return float64(mag)
}

// toneAt is the amplitude of f Hz in µ-law samples at 8000 Hz (Goertzel).
func toneAt(pcmu []byte, f float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*f/8000)
	var s1, s2 float64
	for _, b := range pcmu {
		s0 := ulawLinear(b) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return 2 * math.Sqrt(max(s1*s1+s2*s2-coeff*s1*s2, 0)) / float64(len(pcmu))
}

// loud425 counts the 40 ms windows (two packets of ssrc in a row: 17
// whole periods of 425 Hz, no leakage) that are a 425 Hz tone: loud, and
// 425 Hz far above 300 Hz and 1000 Hz.
func loud425(pkts []rtpRec, ssrc uint32) int {
	n := 0
	var prev []byte
	for _, p := range pkts {
		if p.ssrc != ssrc || len(p.payload) != 160 {
			prev = nil
			continue
		}
		if prev == nil {
			prev = p.payload
			continue
		}
		w := append(append([]byte(nil), prev...), p.payload...)
		prev = nil
		if a := toneAt(w, 425); a > 1000 && toneAt(w, 1000) < a/20 && toneAt(w, 300) < a/20 {
			n++
		}
	}
	return n
}

// checkRingback checks the first packets the transferee got are the
// gateway's ringback: PCMU on one SSRC, gapless, whole 20 ms packets apart in
// timestamps, at least 10 windows of 40 ms of them 425 Hz. It returns the tone's SSRC.
func checkRingback(t *testing.T, rec *rtpRecorder, log func() string) uint32 {
	t.Helper()
	var ssrc uint32
	if !rec.waitFor(10*time.Second, func(ps []rtpRec) bool {
		if len(ps) == 0 {
			return false
		}
		ssrc = ps[0].ssrc
		return loud425(ps, ssrc) >= 10
	}) {
		ps := rec.snapshot()
		t.Fatalf("the waiting party heard no ringback while the target rang without early media: %d packets, %d of 425 Hz\n%s",
			len(ps), loud425(ps, ssrc), log())
	}
	ps := rec.snapshot()
	for i, p := range ps {
		if p.ssrc != ssrc {
			break
		}
		if p.pt != 0 || len(p.payload) != 160 {
			t.Errorf("ringback packet %d: payload type %d, %d bytes; want PCMU, 160", i, p.pt, len(p.payload))
		}
		// a tone that fell behind on a loaded machine skips packets:
		// the timestamps jump by whole packets, the sequence does not
		if i == 0 {
			continue
		}
		if d := p.ts - ps[i-1].ts; p.seq != ps[i-1].seq+1 || d == 0 || d%160 != 0 || d > 8000 {
			t.Errorf("ringback packet %d: sequence %d timestamp %d after %d %d", i, p.seq, p.ts, ps[i-1].seq, ps[i-1].ts)
		}
	}
	t.Logf("ringback: %d packets, %d of them 425 Hz, SSRC %08x", len(ps), loud425(ps, ssrc), ssrc)
	return ssrc
}

// silentRing holds the PBX's call to user in ringing with the plain 180
// the fake PBX sends (no SDP, no early media), until the test's verdict:
// 0 answers; 183 sends early media, then waits again; else the final
// status.
type silentRing struct {
	user    string
	ring    chan *farCall
	verdict chan int
	// cancelled is closed when the INVITE's transaction ended while it
	// rang (a CANCEL: sipgo answers it and the INVITE 487 itself).
	cancelled chan struct{}
}

func newSilentRing(user string) *silentRing {
	return &silentRing{user: user, ring: make(chan *farCall, 1), verdict: make(chan int, 2), cancelled: make(chan struct{})}
}

func (g *silentRing) ringing(fc *farCall, req *sip.Request) (int, string) {
	if req.Recipient.User != g.user {
		return 0, ""
	}
	g.ring <- fc
	deadline := time.After(20 * time.Second)
	for {
		select {
		case code := <-g.verdict:
			switch code {
			case 0:
				return 0, ""
			case 183:
				body := answerFor(string(req.Body()), "127.0.0.2", fc.rtp.port)
				_ = fc.dlg.Respond(183, "Session Progress", []byte(body), sip.NewHeader("Content-Type", "application/sdp"))
				continue
			}
			return code, "Busy Here"
		case <-deadline:
			return 408, "Request Timeout"
		case <-time.After(200 * time.Millisecond):
			// Still ringing? A provisional fails once the transaction
			// ended. (A 180 again: the gateway's tone goes on.)
			if err := fc.dlg.Respond(180, "Ringing", nil); err != nil {
				close(g.cancelled)
				return 487, "Request Terminated"
			}
		}
	}
}

func (g *silentRing) rings(t *testing.T) *farCall {
	t.Helper()
	select {
	case fc := <-g.ring:
		return fc
	case <-time.After(10 * time.Second):
		t.Fatalf("the transfer target %s did not ring", g.user)
		return nil
	}
}

// sendRTP sends n 20 ms PCMU packets from src to dst in the background
// (SSRC: src's port, as rtpPort.send).
func sendRTP(t *testing.T, src *rtpPort, dst func() netip.AddrPort, n int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pkt := make([]byte, 12+160)
		pkt[0] = 0x80
		binary.BigEndian.PutUint32(pkt[8:], uint32(src.port))
		for i := range n {
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
			if _, err := src.conn.WriteToUDPAddrPort(pkt, dst()); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return done
}

// afterTone checks that once the target's stream (its SSRC) reached the
// transferee, the tone never came again, and that enough of it came.
func afterTone(t *testing.T, ps []rtpRec, tone, target uint32) {
	t.Helper()
	first, n := -1, 0
	for i, p := range ps {
		switch p.ssrc {
		case target:
			if first < 0 {
				first = i
			}
			n++
		case tone:
			if first >= 0 {
				t.Errorf("a ringback packet (seq %d) after the target's audio", p.seq)
				return
			}
		}
	}
	if n < 15 {
		t.Errorf("%d packets of the target's stream (SSRC %08x) reached the transferee, want 15 of 50", n, target)
	}
}

// mediaSessionsGone waits until the gateway has no relay session left.
func mediaSessionsGone(t *testing.T, g *gateway) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.metric("switchboard_media_sessions") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%v relay sessions left after the call ended", g.metric("switchboard_media_sessions"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBlindTransferRingback: the phone REFERs 2000 to 2001 and hangs up
// at once; 2001 rings with a 180 without SDP. 2000 hears the gateway's
// ringback (425 Hz PCMU on one gapless stream), then, once 2001 answers,
// 2001's own stream and never the tone again; when 2001 hangs up the
// call's relay ports are freed.
func TestBlindTransferRingback(t *testing.T) {
	gate := newSilentRing("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ringing })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	b := pbx.get("2000")
	rec := recordRTP(t, b.rtp)
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	c := gate.rings(t)
	tone := checkRingback(t, rec, g.log.String)
	g.waitLog(`msg="ringback started"`, 5*time.Second)

	gate.verdict <- 0
	if resume := pbx.next(sip.INVITE); resume == nil {
		t.Fatal("2000 not re-INVITEd towards 2001")
	}
	<-sendRTP(t, c.rtp, c.relayAddr, 50)
	time.Sleep(200 * time.Millisecond)
	afterTone(t, rec.snapshot(), tone, uint32(c.rtp.port))
	g.waitLog(`msg="call transferred"`, 5*time.Second)

	rec.close()
	if err := agentBye(ctx, c.dlg, pbx.agent.addr); err != nil {
		t.Fatalf("BYE from 2001: %v", err)
	}
	select {
	case <-pbx.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("2000 got no BYE when 2001 hung up")
	}
	g.waitLog(`msg="call ended"`, 5*time.Second)
	mediaSessionsGone(t, g)
}

// TestBlindTransferRingbackThenEarlyMedia: 2001 rings with a plain 180
// (ringback from the gateway), then sends 183 with SDP and plays its own
// early media: the transferee hears 2001's stream from then on, before
// any answer, and never the tone again.
func TestBlindTransferRingbackThenEarlyMedia(t *testing.T) {
	gate := newSilentRing("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ringing })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	b := pbx.get("2000")
	rec := recordRTP(t, b.rtp)
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	c := gate.rings(t)
	tone := checkRingback(t, rec, g.log.String)

	gate.verdict <- 183
	// early media: the relay address of 2001's leg is the offer's
	<-sendRTP(t, c.rtp, c.relayAddr, 50)
	time.Sleep(200 * time.Millisecond)
	afterTone(t, rec.snapshot(), tone, uint32(c.rtp.port))
	select {
	case <-c.ready:
		t.Fatal("2001 answered before the test said so")
	default:
	}
	gate.verdict <- 0
	ph.expectNotify(s.InviteRequest.CallID().Value(), "SIP/2.0 100 Trying")
	ph.expectNotify(s.InviteRequest.CallID().Value(), "SIP/2.0 200 OK")
	ph.expectBye(s.InviteRequest.CallID().Value())
	g.waitLog(`msg="call transferred"`, 5*time.Second)
}

// TestBlindTransferRingbackTargetBusy: the phone holds 2000 and REFERs
// it to 2001, staying on the call; 2001 rings with a plain 180 and then
// answers 486. The held transferee (recvonly) hears the ringback while
// 2001 rings, and no tone once the transfer failed (NOTIFY 486); the
// phone gets its call back.
func TestBlindTransferRingbackTargetBusy(t *testing.T) {
	gate := newSilentRing("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ringing })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	b := pbx.get("2000")
	if res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendonly", 0, 101), 2)); res.StatusCode != 200 {
		t.Fatalf("hold: %d", res.StatusCode)
	}
	pbx.next(sip.INVITE)
	rec := recordRTP(t, b.rtp)
	cid := s.InviteRequest.CallID().Value()
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	ph.expectNotify(cid, "SIP/2.0 100 Trying")
	gate.rings(t)
	tone := checkRingback(t, rec, g.log.String)
	gate.verdict <- 486
	ph.expectNotify(cid, "SIP/2.0 486 Busy Here")
	time.Sleep(200 * time.Millisecond) // what was sent before the NOTIFY arrives
	n := len(rec.snapshot())
	time.Sleep(500 * time.Millisecond)
	for _, p := range rec.snapshot()[n:] {
		if p.ssrc == tone {
			t.Fatalf("ringback goes on after the transfer failed (seq %d)", p.seq)
		}
	}
	// the phone's call with 2000 goes on: it can take it back
	if res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "", 0, 101), 3)); res.StatusCode != 200 {
		t.Fatalf("resume after the failed transfer: %d", res.StatusCode)
	}
}

// rawRequest reads the next SIP request of method on a raw UDP device,
// skipping anything else.
func rawRequest(t *testing.T, c *sipConn, method string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		_ = c.conn.SetReadDeadline(deadline)
		n, err := c.conn.Read(buf)
		if err != nil {
			break
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, method+" ") {
			return msg
		}
	}
	t.Fatalf("the device got no %s", method)
	return ""
}

// deviceAnswer is the response to a raw request: its Via, From, Call-ID and
// CSeq, To with tag, a Contact, and body as SDP when given.
func deviceAnswer(c *sipConn, req string, code int, reason, tag, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	head, _, _ := strings.Cut(req, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			b.WriteString(l + "\r\n")
		case "to", "t":
			if tag != "" && !strings.Contains(l, "tag=") {
				l += ";tag=" + tag
			}
			b.WriteString(l + "\r\n")
		}
	}
	b.WriteString(c.contact("u1000") + "\r\n")
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// TestClickToDialRingback: click-to-dial (RFC 3725) from the attendant
// API for gateway:u1000: the user's device (a raw UDP phone) answers
// first, then 2001 on the PBX rings with a plain 180. The user hears the
// gateway's ringback until 2001 answers, then 2001's stream and never the
// tone again.
func TestClickToDialRingback(t *testing.T) {
	gate := newSilentRing("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ringing })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	dev := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	dev.callID, dev.tag = randHex(8), randHex(4)
	if res := dev.register("u1000", "secret"); res.Status != 200 {
		t.Fatalf("REGISTER: %d %s", res.Status, res.Reason)
	}
	if code, body := g.apiJSON("POST", "/api/v1/calls", `{"from":"gateway:u1000","to":"2001"}`); code != 201 {
		t.Fatalf("make call: %d %s", code, body)
	}
	inv := rawRequest(t, dev, "INVITE", 10*time.Second)
	rtp := newRTPPort(t, "127.0.0.1")
	rec := recordRTP(t, rtp)
	tag := randHex(4)
	dev.send(deviceAnswer(dev, inv, 200, "OK", tag, answerFor(inv[strings.Index(inv, "\r\n\r\n")+4:], "127.0.0.1", rtp.port)))
	rawRequest(t, dev, "ACK", 5*time.Second)

	c := gate.rings(t)
	tone := checkRingback(t, rec, g.log.String)
	gate.verdict <- 0
	c = pbx.get("2001")
	<-sendRTP(t, c.rtp, c.relayAddr, 50)
	time.Sleep(200 * time.Millisecond)
	afterTone(t, rec.snapshot(), tone, uint32(c.rtp.port))

	rec.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := agentBye(ctx, c.dlg, pbx.agent.addr); err != nil {
		t.Fatalf("BYE from 2001: %v", err)
	}
	bye := rawRequest(t, dev, "BYE", 5*time.Second)
	dev.send(deviceAnswer(dev, bye, 200, "OK", "", ""))
	g.waitLog(`msg="call ended"`, 5*time.Second)
	mediaSessionsGone(t, g)
}

// TestBlindTransferRingbackTransfereeHangsUp: the transferor hung up
// after the 202, 2001 rings with a plain 180 and 2000 hears the ringback;
// 2000 hangs up: the tone stops, the INVITE to 2001 is CANCELled, the call
// ends and its relay ports are freed.
func TestBlindTransferRingbackTransfereeHangsUp(t *testing.T) {
	gate := newSilentRing("2001")
	pbx := newFarEnd(t, func(f *farEnd) { f.ringing = gate.ringing })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	b := pbx.get("2000")
	rec := recordRTP(t, b.rtp)
	if res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>")); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatalf("BYE right after the 202: %v", err)
	}
	gate.rings(t)
	tone := checkRingback(t, rec, g.log.String)
	if err := agentBye(ctx, b.dlg, pbx.agent.addr); err != nil {
		t.Fatalf("the transferee's BYE while the target rings: %v", err)
	}
	select {
	case <-gate.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatalf("the INVITE to 2001 was not cancelled\n%s", g.log.String())
	}
	g.waitLog(`msg="call ended"`, 5*time.Second)
	mediaSessionsGone(t, g)
	time.Sleep(100 * time.Millisecond)
	n := len(rec.snapshot())
	time.Sleep(300 * time.Millisecond)
	for _, p := range rec.snapshot()[n:] {
		if p.ssrc == tone {
			t.Fatalf("ringback after the call ended (seq %d)", p.seq)
		}
	}
}
