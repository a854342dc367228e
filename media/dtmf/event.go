package dtmf

import (
	"encoding/binary"
	"time"
)

// Event is one telephone event to signal: its RFC 4733 event code and how
// long it lasts.
type Event struct {
	// Code is the event code of RFC 4733 §3.2: 0-9 the digits, 10 '*',
	// 11 '#', 12-15 'A'-'D', 16 flash.
	Code uint8
	// Duration is how long the tone lasts.
	Duration time.Duration
}

// Limits of an event's duration: shorter ones are lengthened to MinDuration
// (a receiver needs about 40 ms to detect a tone, ITU-T Q.24), longer ones
// cut to MaxDuration. DefaultDuration is for a body that gives none.
const (
	MinDuration     = 40 * time.Millisecond
	MaxDuration     = 5 * time.Second
	DefaultDuration = 250 * time.Millisecond
)

// Volume is the power level written in every packet: -10 dBm0 (RFC 4733
// §2.3.4 gives the field; DTMF generators send between -4 and -13 dBm0).
const Volume = 10

// Code maps a DTMF character to its RFC 4733 §3.2 event code.
func Code(r rune) (uint8, bool) {
	switch {
	case r >= '0' && r <= '9':
		return uint8(r - '0'), true
	case r == '*':
		return 10, true
	case r == '#':
		return 11, true
	case r >= 'A' && r <= 'D':
		return uint8(r-'A') + 12, true
	case r >= 'a' && r <= 'd':
		return uint8(r-'a') + 12, true
	case r == '!': // hook flash, as SIP INFO writes it
		return 16, true
	}
	return 0, false
}

// Char is the character of event code c (the inverse of Code), 0 when c
// is no DTMF event.
func Char(c uint8) rune {
	switch {
	case c <= 9:
		return rune('0' + c)
	case c == 10:
		return '*'
	case c == 11:
		return '#'
	case c <= 15:
		return rune('A' + c - 12)
	case c == 16:
		return '!'
	}
	return 0
}

// PayloadSize is the size of one event's payload (RFC 4733 §2.3).
const PayloadSize = 4

// Payload writes the 4-byte payload of RFC 4733 §2.3 into b:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The R bit is zero (§2.3.3); volume is Volume; duration is in RTP
// timestamp units.
func Payload(b []byte, code uint8, end bool, duration uint16) {
	_ = b[PayloadSize-1]
	b[0] = code
	b[1] = Volume & 0x3f
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], duration)
}

// Step is one packet of an event's signalling, as Plan lays it out.
type Step struct {
	// At is when the packet goes out, from the event's start.
	At time.Duration
	// Marker is the RTP marker bit: set on the first packet of an event
	// (RFC 4733 §2.5.1.1).
	Marker bool
	// End is the E bit (RFC 4733 §2.5.1.4).
	End bool
	// Duration is the payload's duration field, in timestamp units from
	// the event's start (RFC 4733 §2.5.1.2).
	Duration uint16
}

// Interval is the spacing of an event's packets: one per 20 ms, the
// packetization interval of the audio they replace (RFC 4733 §2.5.1.2:
// updates at the interval the source uses for its audio).
const Interval = 20 * time.Millisecond

// Plan lays out the packets that signal ev at clockRate (RFC 4733 §2.5):
// the first at once with the marker bit and the first interval's
// duration, an update every Interval with the duration so far, and the
// final packet with the E bit and the full duration sent three times
// (§2.5.1.4) one Interval apart. Every packet carries the timestamp of
// the event's start (§2.3.1); the caller gives each its own sequence
// number. The duration is held within MinDuration..MaxDuration and
// within the 16-bit field at this clock rate (1.36 s at 48 kHz).
func Plan(ev Event, clockRate uint32) []Step {
	if clockRate == 0 {
		clockRate = 8000
	}
	d := min(max(ev.Duration, MinDuration), MaxDuration)
	units := func(t time.Duration) uint64 { return uint64(t) * uint64(clockRate) / uint64(time.Second) }
	if units(d) > 0xffff {
		d = time.Duration(uint64(0xffff) * uint64(time.Second) / uint64(clockRate))
	}
	// the tone's packets: one per interval, each with the duration up to
	// the end of its interval (the last one's is the full duration)
	n := int((d + Interval - 1) / Interval)
	steps := make([]Step, 0, n+2)
	for i := 0; i < n-1; i++ {
		steps = append(steps, Step{At: time.Duration(i) * Interval, Marker: i == 0,
			Duration: uint16(units(time.Duration(i+1) * Interval))})
	}
	full := uint16(units(d))
	for k := 0; k < 3; k++ {
		i := n - 1 + k
		steps = append(steps, Step{At: time.Duration(i) * Interval, Marker: i == 0, End: true, Duration: full})
	}
	return steps
}
