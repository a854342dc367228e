package dtmf

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestPayloadLayout holds Payload to the bit layout of RFC 4733 §2.3,
// bytes written by hand from the figure: event, E|R|volume, duration.
func TestPayloadLayout(t *testing.T) {
	for _, tc := range []struct {
		code     uint8
		end      bool
		duration uint16
		want     []byte
	}{
		{5, false, 160, []byte{0x05, 0x0a, 0x00, 0xa0}},
		{11, true, 1280, []byte{0x0b, 0x8a, 0x05, 0x00}},   // '#', E bit, R bit clear
		{16, true, 0xffff, []byte{0x10, 0x8a, 0xff, 0xff}}, // flash, the longest duration
		{0, false, 0, []byte{0x00, 0x0a, 0x00, 0x00}},
	} {
		b := make([]byte, PayloadSize)
		Payload(b, tc.code, tc.end, tc.duration)
		if !bytes.Equal(b, tc.want) {
			t.Errorf("Payload(%d, %v, %d) = % x, want % x", tc.code, tc.end, tc.duration, b, tc.want)
		}
	}
}

func TestCodeChar(t *testing.T) {
	for i, r := range "0123456789*#ABCD!" {
		c, ok := Code(r)
		if !ok || int(c) != i {
			t.Errorf("Code(%q) = %d, %v; want %d", r, c, ok, i)
		}
		if Char(c) != r {
			t.Errorf("Char(%d) = %q, want %q", c, Char(c), r)
		}
	}
	for _, r := range "EeXx \x00+" {
		if _, ok := Code(r); ok {
			t.Errorf("Code(%q) accepted", r)
		}
	}
	if Char(17) != 0 {
		t.Error("Char(17) is an event")
	}
}

// TestPlan checks the layout against RFC 4733 §2.5 in general and the
// golden files for the packets themselves.
func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   Event
		rate uint32
	}{
		{"160ms_8000", Event{Code: 5, Duration: 160 * time.Millisecond}, 8000},
		{"100ms_48000", Event{Code: 11, Duration: 100 * time.Millisecond}, 48000},
		{"short_8000", Event{Code: 1, Duration: 5 * time.Millisecond}, 8000},
		{"long_48000", Event{Code: 10, Duration: 4 * time.Second}, 48000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := Plan(tc.ev, tc.rate)
			if len(steps) < 4 {
				t.Fatalf("%d steps, want a start, updates and three ends", len(steps))
			}
			if !steps[0].Marker || steps[0].At != 0 {
				t.Errorf("first packet %+v: want the marker bit, at once", steps[0])
			}
			ends := 0
			for i, s := range steps {
				if i > 0 && s.Marker {
					t.Errorf("packet %d has the marker bit", i)
				}
				if i > 0 && s.At != steps[i-1].At+Interval {
					t.Errorf("packet %d at %v, previous at %v", i, s.At, steps[i-1].At)
				}
				if i > 0 && s.Duration < steps[i-1].Duration {
					t.Errorf("packet %d: duration went down", i)
				}
				if s.End {
					ends++
				} else if ends > 0 {
					t.Errorf("packet %d: an update after an end packet", i)
				}
			}
			last := steps[len(steps)-1]
			if ends != 3 || last.Duration != steps[len(steps)-3].Duration {
				t.Errorf("%d end packets, want 3 with the same duration", ends)
			}
			// the total duration, in units, matches the (held) duration
			d := min(max(tc.ev.Duration, MinDuration), MaxDuration)
			want := uint64(d) * uint64(tc.rate) / uint64(time.Second)
			want = min(want, 0xffff) // held within the 16-bit field
			if diff := int64(last.Duration) - int64(want); diff < -int64(tc.rate/1000) || diff > 0 {
				t.Errorf("final duration %d units, want about %d", last.Duration, want)
			}
			var b strings.Builder
			p := make([]byte, PayloadSize)
			for _, s := range steps {
				Payload(p, tc.ev.Code, s.End, s.Duration)
				fmt.Fprintf(&b, "at=%v marker=%v payload=% x\n", s.At, s.Marker, p)
			}
			golden(t, filepath.Join("testdata", "plan_"+tc.name+".golden"), b.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
