package config

import (
	"reflect"
	"testing"
	"time"
)

// TestRingback: media.ringback's default is the European 425 Hz tone;
// a country's tone, frequencies and cadence given, and off, resolve to
// what the relay plays.
func TestRingback(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		in      string
		freqs   []int
		cadence []time.Duration
		level   int
		on      bool
	}{
		{"", []int{425}, []time.Duration{time.Second, 4 * time.Second}, -16, true},
		{"media: {ringback: {tone: us}}", []int{440, 480}, []time.Duration{2 * time.Second, 4 * time.Second}, -16, true},
		{"media: {ringback: {tone: uk, level: -20}}", []int{400, 450}, []time.Duration{400 * ms, 200 * ms, 400 * ms, 2 * time.Second}, -20, true},
		{"media: {ringback: {tone: fr, frequencies: [450]}}", []int{450}, []time.Duration{1500 * ms, 3500 * ms}, -16, true},
		{"media: {ringback: {cadence: [800ms, 3200ms]}}", []int{425}, []time.Duration{800 * ms, 3200 * ms}, -16, true},
		{"media: {ringback: {tone: off}}", nil, nil, 0, false},
	} {
		cfg, err := Parse("x.yaml", []byte(c.in))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		freqs, cadence, level, on := cfg.Media.Ringback.Resolve()
		if !reflect.DeepEqual(freqs, c.freqs) || !reflect.DeepEqual(cadence, c.cadence) || level != c.level || on != c.on {
			t.Errorf("%q: %v %v %d %v, want %v %v %d %v", c.in, freqs, cadence, level, on, c.freqs, c.cadence, c.level, c.on)
		}
	}
}
