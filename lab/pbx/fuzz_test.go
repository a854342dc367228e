package pbx

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// FuzzEventReceiver feeds packet sequences (each a 1-byte length, then
// the packet) to the RFC 4733 reader: whatever arrives, a timestamp
// gives at most one digit, and only DTMF digits are recorded.
func FuzzEventReceiver(f *testing.F) {
	var seq uint16
	var seed []byte
	for i, ev := range []byte{1, 11, 15} {
		for _, p := range press(101, &seq, uint32(1000*(i+1)), ev) {
			seed = append(append(seed, byte(len(p))), p...)
		}
	}
	f.Add(seed)
	f.Add([]byte{16, 0x91, 101, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e eventReceiver
		stamps := map[uint32]bool{}
		for len(data) > 0 {
			n := int(data[0])
			data = data[1:]
			if n > len(data) {
				n = len(data)
			}
			p := data[:n]
			data = data[n:]
			if len(p) < rtpHeaderLen {
				continue // the reader only sees RTP packets (readLoop checks)
			}
			stamps[binary.BigEndian.Uint32(p[4:])] = true
			e.packet(p)
		}
		if len(e.got) > len(stamps) {
			t.Fatalf("%d digits %q from %d timestamps", len(e.got), e.got, len(stamps))
		}
		for _, d := range e.got {
			if !strings.ContainsRune(dtmfDigits, rune(d)) {
				t.Fatalf("digit %q is no DTMF digit", d)
			}
		}
	})
}

// FuzzReadOffer: any body is read or refused without a panic, and what
// was read survives the simulator's own answer: the answer it writes for
// that address and telephone-event type reads back the same.
func FuzzReadOffer(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 ::1\r\n"))
	f.Add(answerSDP(netip.MustParseAddrPort("127.0.0.1:40000"), 96))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := readOffer(body)
		if err != nil {
			return
		}
		back, err := readOffer(answerSDP(o.rtp, o.eventPT))
		if err != nil {
			t.Fatalf("our answer for %+v does not read: %v", o, err)
		}
		if back != o {
			t.Fatalf("read %+v, our answer for it reads %+v", o, back)
		}
	})
}
