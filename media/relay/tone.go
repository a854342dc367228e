package relay

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Call-progress tones the relay plays into a side itself: the local
// ringback a transferee hears while the transfer target rings without
// early media (RFC 3960 §3: a 180 without SDP asks the caller's side to
// make its own ringback). A tone is one or two frequencies summed, played
// in a cadence of on and off periods (ITU-T E.180). Its samples are
// computed once, for one whole cadence cycle, and kept G.711 encoded
// (µ-law and A-law, ITU-T G.711): playing it only slices the table.

// ErrInvalidTone: a Tone that cannot be played (no frequency, one outside
// the telephone band, a cadence that is not on/off pairs of whole
// milliseconds, a level that clips).
var ErrInvalidTone = errors.New("relay: invalid tone")

// Tone is a call-progress tone.
type Tone struct {
	// Freqs are the frequencies summed, in Hz: one or two, 100 to 3400
	// (the G.711 band). Whole hertz, so that one second holds whole
	// periods and a continuous tone loops without a click.
	Freqs []int
	// Cadence alternates on and off periods, starting with on: an even
	// number of durations, each a whole number of milliseconds from 10 ms
	// to 10 s. Empty: the tone is on all the time.
	Cadence []time.Duration
	// Level is the level of each frequency in dBm0, -40 to -6
	// (ITU-T G.711: 0 dBm0 is a sine of 3.17 dB below the µ-law
	// maximum). Zero: -16 dBm0.
	Level float64
}

// DefaultToneLevel is the level of each frequency of a Tone without one.
const DefaultToneLevel = -16.0

// Codec is a G.711 law the tone is encoded in.
type Codec uint8

const (
	// PCMU is G.711 µ-law (RTP payload type 0, RFC 3551 §4.5.14).
	PCMU Codec = iota
	// PCMA is G.711 A-law (RTP payload type 8).
	PCMA
)

// String is the codec's encoding name in SDP (RFC 3551 §6).
func (c Codec) String() string {
	if c == PCMA {
		return "PCMA"
	}
	return "PCMU"
}

// toneRate is the sample rate of G.711 and of its RTP clock.
const toneRate = 8000

// zeroDBm0 is the peak, in 16-bit linear units, of a sine at 0 dBm0:
// 3.17 dB below full scale (ITU-T G.711 table 5/6 give 0 dBm0 as a sine
// whose peak is 3.17 dB under the µ-law overload point).
var zeroDBm0 = 32767 * math.Pow(10, -3.17/20)

// ToneTable is a Tone computed once and kept encoded: one cadence cycle
// (or one second of a continuous tone) in µ-law and A-law. It is
// immutable and shared by every call that plays the tone.
type ToneTable struct {
	tone Tone
	ulaw []byte
	alaw []byte
}

// NewToneTable checks t and computes its samples.
func NewToneTable(t Tone) (*ToneTable, error) {
	if t.Level == 0 {
		t.Level = DefaultToneLevel
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	n := toneRate // a continuous tone: one second, whole periods of every frequency
	var edges []int
	if len(t.Cadence) > 0 {
		n = 0
		for _, d := range t.Cadence {
			n += int(d / time.Millisecond * toneRate / 1000)
			edges = append(edges, n)
		}
	}
	amp := zeroDBm0 * math.Pow(10, t.Level/20)
	tt := &ToneTable{tone: t, ulaw: make([]byte, n), alaw: make([]byte, n)}
	// ramp softens each start and end of an on period (2 ms), so that
	// the phone's speaker does not click.
	const ramp = 16
	start, period := 0, 0
	for i := range n {
		for period < len(edges) && i >= edges[period] {
			start = edges[period]
			period++
		}
		var v float64
		if period%2 == 0 { // an on period (or a continuous tone)
			for _, f := range t.Freqs {
				v += math.Sin(2 * math.Pi * float64(f) * float64(i) / toneRate)
			}
			v *= amp
			if len(edges) > 0 {
				end := edges[period]
				if k := i - start; k < ramp {
					v *= float64(k) / ramp
				}
				if k := end - 1 - i; k < ramp {
					v *= float64(k) / ramp
				}
			}
		}
		s := int16(math.Round(max(-32768, min(32767, v))))
		tt.ulaw[i], tt.alaw[i] = ulawOf(s), alawOf(s)
	}
	return tt, nil
}

// Tone is the tone the table holds, its Level filled in.
func (tt *ToneTable) Tone() Tone { return tt.tone }

// Samples is the length of the table: one cadence cycle at 8000 Hz.
func (tt *ToneTable) Samples() int { return len(tt.ulaw) }

// Fill copies len(dst) samples of the tone in codec c, starting at sample
// pos of the cycle (wrapping), into dst, and returns the position after
// them.
func (tt *ToneTable) Fill(dst []byte, c Codec, pos int) int {
	src := tt.ulaw
	if c == PCMA {
		src = tt.alaw
	}
	pos %= len(src)
	for len(dst) > 0 {
		k := copy(dst, src[pos:])
		dst = dst[k:]
		pos = (pos + k) % len(src)
	}
	return pos
}

func (t Tone) check() error {
	if len(t.Freqs) == 0 || len(t.Freqs) > 2 {
		return fmt.Errorf("%w: %d frequencies, want 1 or 2", ErrInvalidTone, len(t.Freqs))
	}
	for _, f := range t.Freqs {
		if f < 100 || f > 3400 {
			return fmt.Errorf("%w: %d Hz is outside 100-3400 Hz", ErrInvalidTone, f)
		}
	}
	if len(t.Cadence)%2 != 0 {
		return fmt.Errorf("%w: the cadence has %d periods, want on/off pairs", ErrInvalidTone, len(t.Cadence))
	}
	for _, d := range t.Cadence {
		if d < 10*time.Millisecond || d > 10*time.Second || d%time.Millisecond != 0 {
			return fmt.Errorf("%w: cadence period %s: want whole milliseconds from 10ms to 10s", ErrInvalidTone, d)
		}
	}
	if t.Level < -40 || t.Level > -6 {
		return fmt.Errorf("%w: level %g dBm0 is outside -40 to -6", ErrInvalidTone, t.Level)
	}
	return nil
}

// ulawOf encodes a 16-bit linear sample in G.711 µ-law (ITU-T G.711
// §3): the magnitude, biased by 33 in 14-bit units, falls in one of
// eight segments; the code is sign, segment and the four bits below the
// segment's leading one, all inverted.
func ulawOf(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	seg := 7
	for m := 0x4000; x&m == 0 && seg > 0; m >>= 1 {
		seg--
	}
	return ^byte(sign | seg<<4 | (x>>(seg+3))&0x0f)
}

// alawOf encodes a 16-bit linear sample in G.711 A-law (ITU-T G.711 §2):
// 13-bit magnitude, segment 0 and 1 linear, then one segment per octave;
// even bits inverted (0x55), sign bit set for positive samples.
func alawOf(s int16) byte {
	x := int(s) >> 3 // 13 bits
	mask := 0xd5
	if x < 0 {
		x, mask = -x-1, 0x55
	}
	if x > 0xfff {
		return byte(0x7f ^ mask)
	}
	seg := 0
	for v := x >> 5; v > 0; v >>= 1 {
		seg++
	}
	var v int
	if seg == 0 {
		v = x >> 1
	} else {
		v = seg<<4 | (x>>seg)&0x0f
	}
	return byte(v ^ mask)
}
