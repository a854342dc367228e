package pbx

import (
	"math"
	"testing"
)

func TestULawRoundTrip(t *testing.T) {
	for _, s := range []int16{0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 32000, -32000, 32767, -32768} {
		got := uLawToLinear(linearToULaw(s))
		// µ-law keeps about 4 significant bits of mantissa: the error is
		// below 1/16 of the magnitude (plus the small-signal step).
		if d := math.Abs(float64(got) - float64(s)); d > math.Abs(float64(s))/16+8 {
			t.Errorf("sample %d -> %#x -> %d", s, linearToULaw(s), got)
		}
	}
	if linearToULaw(0) != 0xff {
		t.Errorf("silence = %#x, want 0xff", linearToULaw(0))
	}
}

// TestTone checks that the payload is a 425 Hz sine: zero crossings per
// second of decoded samples.
func TestTone(t *testing.T) {
	var pcm []int16
	for n := uint64(0); n < sampleRate; n += packetSamples {
		for _, u := range tonePayload(n, nil) {
			pcm = append(pcm, uLawToLinear(u))
		}
	}
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
	}
	if crossings < 2*ToneHz-4 || crossings > 2*ToneHz+4 {
		t.Errorf("%d zero crossings in 1 s, want about %d", crossings, 2*ToneHz)
	}
}
