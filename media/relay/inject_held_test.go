package relay

import (
	"encoding/binary"
	"testing"
)

// TestHeldByOverlappingSenders: a DTMF event sent while a ringback tone
// plays (an INFO from the transferor during a transfer) must not release
// the audio the tone holds back when the event ends: the holds count.
func TestHeldByOverlappingSenders(t *testing.T) {
	pkt := func(seq uint16) []byte {
		b := make([]byte, 172)
		b[0] = 0x80
		binary.BigEndian.PutUint16(b[2:4], seq)
		binary.BigEndian.PutUint32(b[8:12], 0x11223344)
		return b
	}
	var o outStream
	if !o.forward(pkt(100), 1) {
		t.Fatal("audio not forwarded with nothing playing")
	}
	o.held++ // the tone starts
	o.held++ // an event starts during the tone
	if o.forward(pkt(101), 2) {
		t.Fatal("audio forwarded during tone and event")
	}
	o.held-- // the event ends; the tone plays on
	if o.forward(pkt(102), 3) {
		t.Fatal("audio forwarded while the tone still plays: the event's end released the tone's hold")
	}
	o.held-- // the tone ends
	b := pkt(103)
	if !o.forward(b, 4) {
		t.Fatal("audio held back after both ended")
	}
	// two packets were held back and none injected here: the next
	// audio packet takes the first free number after the last sent
	if got := binary.BigEndian.Uint16(b[2:4]); got != 101 {
		t.Fatalf("sequence number after the holds = %d, want 101 (gapless)", got)
	}
}
