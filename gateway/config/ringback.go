package config

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Ringback is the tone the gateway plays itself to a party that waits
// for someone else's phone to ring (media.ringback): the transferee of a
// blind transfer (REFER, the attendant API, a park pickup), or the user
// of a click-to-dial call whose device answered, while the target rings
// without early media (a 180 without SDP, RFC 3960 §3). A
// target that sends early media is heard instead, and the tone stops at
// once when it comes, when the target answers or fails, or when the
// party hangs up. The tone is played in G.711 (PCMU or PCMA, whichever
// the party's SDP lists); a party whose SDP lists neither (a browser on
// Opus only, G.722, G.729) hears silence.
type Ringback struct {
	// Tone is the country's ringing tone (ITU-T E.180 Supplement 2):
	// "eu" (425 Hz, 1 s on 4 s off: the ETSI/CEPT tone of most of
	// Europe), "us" (440+480 Hz, 2 s on 4 s off), "uk" (400+450 Hz,
	// 0.4 s on 0.2 s off 0.4 s on 2 s off), "fr" (440 Hz, 1.5 s on 3.5 s
	// off), "jp" (400 Hz, 1 s on 2 s off), or "off": no tone, the party
	// hears silence until early media or the answer. Default: eu.
	Tone string `yaml:"tone"`

	// Frequencies replace the tone's: one or two whole frequencies in Hz,
	// 100 to 3400, summed. Default: the tone's.
	Frequencies []int `yaml:"frequencies"`

	// Cadence replaces the tone's: on and off periods alternating,
	// starting with on, an even number of them, each 10ms to 10s in
	// whole milliseconds. Default: the tone's.
	Cadence []Duration `yaml:"cadence"`

	// Level is the level of each frequency in whole dBm0, -40 to -6.
	// Default: -16.
	Level int `yaml:"level"`
}

// ringbackTone is one country's ringing tone.
type ringbackTone struct {
	freqs   []int
	cadence []time.Duration
}

// ringbackTones are the tones media.ringback.tone names (ITU-T E.180
// Supplement 2, "Various tones used in national networks").
var ringbackTones = map[string]ringbackTone{
	"eu": {[]int{425}, []time.Duration{time.Second, 4 * time.Second}},
	"us": {[]int{440, 480}, []time.Duration{2 * time.Second, 4 * time.Second}},
	"uk": {[]int{400, 450}, []time.Duration{400 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 2 * time.Second}},
	"fr": {[]int{440}, []time.Duration{1500 * time.Millisecond, 3500 * time.Millisecond}},
	"jp": {[]int{400}, []time.Duration{time.Second, 2 * time.Second}},
}

// defaultRingback is media.ringback's default.
func defaultRingback() Ringback { return Ringback{Tone: "eu", Level: -16} }

// Resolve returns the tone to play: its frequencies, its cadence (nil:
// continuous) and the level of each frequency; on is false for "off".
func (r Ringback) Resolve() (freqs []int, cadence []time.Duration, level int, on bool) {
	if r.Tone == "off" {
		return nil, nil, 0, false
	}
	t := ringbackTones[r.Tone]
	freqs, cadence = t.freqs, t.cadence
	if len(r.Frequencies) > 0 {
		freqs = r.Frequencies
	}
	if r.Cadence != nil {
		cadence = nil
		for _, d := range r.Cadence {
			cadence = append(cadence, d.D())
		}
	}
	return slices.Clone(freqs), cadence, r.Level, true
}

func (d *decoder) validateRingback(m *Media) {
	r := &m.Ringback
	const p = "media.ringback"
	if _, ok := ringbackTones[r.Tone]; !ok && r.Tone != "off" {
		names := make([]string, 0, len(ringbackTones)+1)
		for n := range ringbackTones {
			names = append(names, n)
		}
		sort.Strings(names)
		d.errorf(p+".tone", "%q is not a ringing tone: use %s or off", r.Tone, strings.Join(names, ", "))
	}
	if n := len(r.Frequencies); n > 2 {
		d.errorf(p+".frequencies", "%d frequencies: give one or two", n)
	}
	for i, f := range r.Frequencies {
		if f < 100 || f > 3400 {
			d.errorf(index(p+".frequencies", i), "%d Hz is out of range: must be from 100 to 3400 (the G.711 band)", f)
		}
	}
	if len(r.Cadence)%2 != 0 || (r.Cadence != nil && len(r.Cadence) == 0) {
		d.errorf(p+".cadence", "%d periods: give on/off pairs, starting with on", len(r.Cadence))
	}
	for i, c := range r.Cadence {
		if t := c.D(); t < 10*time.Millisecond || t > 10*time.Second || t%time.Millisecond != 0 {
			d.errorf(index(p+".cadence", i), "%s is out of range: must be whole milliseconds from 10ms to 10s", t)
		}
	}
	if r.Level < -40 || r.Level > -6 {
		d.errorf(p+".level", "%d dBm0 is out of range: must be from -40 to -6", r.Level)
	}
}
