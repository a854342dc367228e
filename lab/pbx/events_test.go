package pbx

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// eventPacket builds an RTP packet (RFC 3550 §5.1) of payload type pt
// carrying one telephone event (RFC 4733 §2.3).
func eventPacket(pt byte, seq uint16, ts uint32, event byte, end bool, duration uint16) []byte {
	p := make([]byte, rtpHeaderLen+4)
	p[0], p[1] = 0x80, pt
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], ts)
	binary.BigEndian.PutUint32(p[8:], 0x1234)
	p[12] = event
	p[13] = 10 // volume -10 dBm0
	if end {
		p[13] |= 0x80
	}
	binary.BigEndian.PutUint16(p[14:], duration)
	return p
}

// press is the packets of one key press as RFC 4733 §2.5.1 sends it:
// a first packet, updates, and the end packet three times (§2.5.1.4).
func press(pt byte, seq *uint16, ts uint32, event byte) [][]byte {
	var out [][]byte
	for i, d := range []uint16{160, 320, 480} {
		out = append(out, eventPacket(pt, *seq, ts, event, false, d))
		*seq++
		if i == 0 {
			out[0][1] |= 0x80 // the marker bit on an event's first packet (RFC 4733 §2.2.2)
		}
	}
	for range 3 {
		out = append(out, eventPacket(pt, *seq, ts, event, true, 640))
		*seq++
	}
	return out
}

// TestEventReceiver: digits from RFC 4733 packet sequences, each key
// press once however many end packets carry it.
func TestEventReceiver(t *testing.T) {
	var seq uint16
	one := press(101, &seq, 1000, 1)
	two := press(101, &seq, 2000, 2)
	star := press(101, &seq, 3000, 10)
	hash := press(101, &seq, 4000, 11)
	five1 := press(101, &seq, 5000, 5)
	five2 := press(101, &seq, 6000, 5)
	cat := func(ps ...[][]byte) [][]byte {
		var out [][]byte
		for _, p := range ps {
			out = append(out, p...)
		}
		return out
	}
	withCSRC := eventPacket(101, 1, 7000, 9, true, 640)
	withCSRC = append(withCSRC[:rtpHeaderLen:rtpHeaderLen], append([]byte{0, 0, 0, 1}, withCSRC[rtpHeaderLen:]...)...)
	withCSRC[0] |= 1
	for _, c := range []struct {
		name    string
		packets [][]byte
		want    string
	}{
		{"one press, end sent three times", one, "1"},
		{"presses in order", cat(one, two, star, hash), "12*#"},
		{"the same key twice", cat(five1, five2), "55"},
		{"end packets all lost: counted when the next starts", cat(one[:3], two), "12"},
		{"only the end packets", cat(one[3:], two[3:]), "12"},
		{"a late packet of the previous event", cat(one, two, one[5:]), "12"},
		{"end retransmitted after the next event began", cat(one[:4], two[:1], one[4:], two[1:]), "12"},
		{"not a DTMF event (16)", [][]byte{eventPacket(101, 1, 1, 16, true, 640)}, ""},
		{"truncated payload", [][]byte{eventPacket(101, 1, 1, 3, true, 640)[:14]}, ""},
		{"CSRC before the payload", [][]byte{withCSRC}, "9"},
		{"no end yet", one[:3], ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e eventReceiver
			for _, p := range c.packets {
				e.packet(p)
			}
			if got := string(e.got); got != c.want {
				t.Errorf("digits %q, want %q", got, c.want)
			}
		})
	}
}

// inviteWithEvents calls number on the simulator from a sipgo UAC whose
// offer has PCMU and telephone-event on payload type 101 (what a phone
// or the gateway offers) and an RTP socket; it returns the answer's SDP
// and that socket.
func inviteWithEvents(t *testing.T, s *Sim, number string) (string, *net.UDPConn, net.Addr) {
	t.Helper()
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rtp.Close() })
	port := rtp.LocalAddr().(*net.UDPAddr).Port
	offer := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n", port)
	ua, _ := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	t.Cleanup(func() { _ = ua.Close() })
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	d := sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5999}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sess, err := d.Invite(ctx, uri(s, number), []byte(offer), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = sess.Bye(bctx)
		bcancel()
	})
	answer := string(sess.InviteResponse.Body())
	ap, err := offerRemote([]byte(answer))
	if err != nil {
		t.Fatalf("answer %q: %v", answer, err)
	}
	return answer, rtp, net.UDPAddrFromAddrPort(ap)
}

// TestVoicemailDigits: a number with DTMF answers telephone-event on the
// offer's payload type (RFC 3264 §6.1) and records the digits sent as
// RFC 4733 events, each once; a number without it answers PCMU only and
// records none.
func TestVoicemailDigits(t *testing.T) {
	s := startSim(t, Options{Numbers: map[string]Number{
		"8000": {Action: Answer, Media: Tone, DTMF: true},
		"2000": {Action: Answer, Media: Tone},
	}})
	answer, rtp, to := inviteWithEvents(t, s, "8000")
	if !strings.Contains(answer, "m=audio ") || !strings.Contains(answer, " RTP/AVP 0 101\r\n") ||
		!strings.Contains(answer, "a=rtpmap:101 telephone-event/8000\r\n") {
		t.Fatalf("the voicemail's answer has no telephone-event on 101:\n%s", answer)
	}
	var seq uint16
	for i, ev := range []byte{1, 2, 3, 11} {
		for _, p := range press(101, &seq, uint32(1000*(i+1)), ev) {
			if _, err := rtp.WriteTo(p, to); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "the digits 123#", func() bool { return inbound(s).Digits == "123#" })
	time.Sleep(100 * time.Millisecond) // nothing more may come of the retransmitted end packets
	if got := inbound(s).Digits; got != "123#" {
		t.Errorf("digits %q, want 123#", got)
	}

	plain := startSim(t, Options{Numbers: map[string]Number{"2000": {Action: Answer, Media: Tone}}})
	answer, rtp, to = inviteWithEvents(t, plain, "2000")
	if strings.Contains(answer, "telephone-event") {
		t.Errorf("a number without DTMF answered telephone-event:\n%s", answer)
	}
	for _, p := range press(101, &seq, 9000, 7) {
		_, _ = rtp.WriteTo(p, to)
	}
	waitFor(t, "the packets counted", func() bool { return inbound(plain).Media.Received >= 6 })
	if got := inbound(plain).Digits; got != "" {
		t.Errorf("digits %q recorded without telephone-event negotiated", got)
	}
}
