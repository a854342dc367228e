package relay

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The G.711 decoders of the tests, written from ITU-T G.711 tables 1 and
// 2 (a code's segment and step, the decision value's midpoint): the
// encoders under test are checked against them, not against themselves.
func ulawDecode(u byte) int {
	u = ^u
	seg, mant := int(u>>4)&7, int(u&0x0f)
	mag := ((mant<<3)+0x84)<<seg - 0x84
	if u&0x80 != 0 {
		return -mag
	}
	return mag
}

func alawDecode(a byte) int {
	a ^= 0x55
	seg, mant := int(a>>4)&7, int(a&0x0f)
	mag := mant<<4 + 8
	if seg > 0 {
		mag = (mant<<4 + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return mag
	}
	return -mag
}

// TestG711Encode: the encoders give the codes of G.711's tables at the
// ends and around zero, and every 16-bit sample comes back from the
// tables' decoder monotonic and within half a step.
func TestG711Encode(t *testing.T) {
	for _, c := range []struct {
		in         int16
		ulaw, alaw byte
	}{
		{0, 0xff, 0xd5},
		{-1, 0x7f, 0x55},
		{32767, 0x80, 0xaa},
		{-32768, 0x00, 0x2a},
		{1000, 0xce, 0xfa},
		{-1000, 0x4e, 0x7a},
	} {
		if u := ulawOf(c.in); u != c.ulaw {
			t.Errorf("µ-law of %d: %#02x, want %#02x", c.in, u, c.ulaw)
		}
		if a := alawOf(c.in); a != c.alaw {
			t.Errorf("A-law of %d: %#02x, want %#02x", c.in, a, c.alaw)
		}
	}
	prevU, prevA := math.MinInt, math.MinInt
	for s := -32768; s <= 32767; s++ {
		u, a := ulawDecode(ulawOf(int16(s))), alawDecode(alawOf(int16(s)))
		if u < prevU || a < prevA {
			t.Fatalf("not monotonic at %d: µ-law %d after %d, A-law %d after %d", s, u, prevU, a, prevA)
		}
		prevU, prevA = u, a
		bound := abs(s)/16 + 16 // half the step of the sample's segment
		if abs(s) < 32000 && (abs(u-s) > bound || abs(a-s) > bound) {
			t.Fatalf("%d comes back as µ-law %d, A-law %d (bound %d)", s, u, a, bound)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// goertzel is the amplitude of frequency f in x (8000 Hz samples).
func goertzel(x []float64, f float64) float64 {
	w := 2 * math.Pi * f / toneRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(p, 0)) / float64(len(x))
}

func decode(b []byte, c Codec) []float64 {
	x := make([]float64, len(b))
	for i, v := range b {
		if c == PCMA {
			x[i] = float64(alawDecode(v))
		} else {
			x[i] = float64(ulawDecode(v))
		}
	}
	return x
}

// TestToneSpectrum: 200 ms of an on period holds the tone's frequencies
// at the level asked (within 1 dB: 0 dBm0 is 3.17 dB below the G.711
// maximum) and next to nothing elsewhere, in both laws.
func TestToneSpectrum(t *testing.T) {
	for _, c := range []struct {
		name  string
		tone  Tone
		other []float64
	}{
		{"425 continuous", Tone{Freqs: []int{425}}, []float64{350, 500, 1000}},
		{"440+480 US", Tone{Freqs: []int{440, 480}, Cadence: []time.Duration{2 * time.Second, 4 * time.Second}, Level: -19}, []float64{350, 620, 1000}},
		{"400+450 UK", Tone{Freqs: []int{400, 450}, Cadence: []time.Duration{400 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 2 * time.Second}}, []float64{300, 550, 1000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tt, err := NewToneTable(c.tone)
			if err != nil {
				t.Fatal(err)
			}
			level := c.tone.Level
			if level == 0 {
				level = -16
			}
			want := 32767 * math.Pow(10, (-3.17+level)/20)
			for _, codec := range []Codec{PCMU, PCMA} {
				// 200 ms, 50 ms into the first on period: whole periods
				// of every frequency (no leakage into the others)
				b := make([]byte, 1600)
				tt.Fill(b, codec, 400)
				x := decode(b, codec)
				for _, f := range c.tone.Freqs {
					got := goertzel(x, float64(f))
					if db := 20 * math.Log10(got/want); math.Abs(db) > 1 {
						t.Errorf("%s %d Hz: amplitude %.0f, want %.0f (%+.2f dB)", codec, f, got, want, db)
					}
				}
				for _, f := range c.other {
					if got := goertzel(x, f); got > want/50 {
						t.Errorf("%s: %g Hz at amplitude %.0f in a tone of %v", codec, f, got, c.tone.Freqs)
					}
				}
			}
		})
	}
}

// TestToneCadence: 20 ms frames of a whole cycle are loud in the on
// periods and silent in the off periods, as the cadence says, and the
// table is exactly one cycle long.
func TestToneCadence(t *testing.T) {
	ms := time.Millisecond
	for _, cad := range [][]time.Duration{
		{1000 * ms, 4000 * ms},                    // ETSI/CEPT 425 Hz
		{400 * ms, 200 * ms, 400 * ms, 2000 * ms}, // UK double ring
	} {
		tt, err := NewToneTable(Tone{Freqs: []int{425}, Cadence: cad})
		if err != nil {
			t.Fatal(err)
		}
		var cycle time.Duration
		for _, d := range cad {
			cycle += d
		}
		if got := tt.Samples(); got != int(cycle/ms)*8 {
			t.Fatalf("cadence %v: %d samples, want %d", cad, got, int(cycle/ms)*8)
		}
		b := make([]byte, tt.Samples())
		tt.Fill(b, PCMU, 0)
		x := decode(b, PCMU)
		peak := 32767 * math.Pow(10, (-3.17-16)/20)
		var at time.Duration
		for i, d := range cad {
			on := i%2 == 0
			for f := at; f < at+d; f += 20 * ms {
				frame := x[int(f/ms)*8 : int(f/ms)*8+160]
				var e float64
				for _, v := range frame {
					e += v * v
				}
				rms := math.Sqrt(e / 160)
				if on && rms < peak/math.Sqrt2/2 {
					t.Errorf("cadence %v: frame at %s rms %.0f in an on period", cad, f, rms)
				}
				if !on && rms > 10 {
					t.Errorf("cadence %v: frame at %s rms %.0f in an off period", cad, f, rms)
				}
			}
			at += d
		}
		// the cycle wraps: the table played from its end starts again
		w := make([]byte, 320)
		if pos := tt.Fill(w, PCMU, tt.Samples()-160); pos != 160 {
			t.Errorf("Fill across the end returns %d, want 160", pos)
		}
	}
}

// TestToneInvalid: tones that cannot be played are refused.
func TestToneInvalid(t *testing.T) {
	ms := time.Millisecond
	for _, tn := range []Tone{
		{},
		{Freqs: []int{425, 450, 475}},
		{Freqs: []int{50}},
		{Freqs: []int{4000}},
		{Freqs: []int{425}, Cadence: []time.Duration{time.Second}},
		{Freqs: []int{425}, Cadence: []time.Duration{5 * ms, time.Second}},
		{Freqs: []int{425}, Cadence: []time.Duration{time.Second, 11 * time.Second}},
		{Freqs: []int{425}, Cadence: []time.Duration{time.Second + 500*time.Microsecond, time.Second}},
		{Freqs: []int{425}, Level: -3},
		{Freqs: []int{425}, Level: -60},
	} {
		if _, err := NewToneTable(tn); !errors.Is(err, ErrInvalidTone) {
			t.Errorf("%+v: %v, want ErrInvalidTone", tn, err)
		}
	}
}

// TestPlayTone: a tone played into side A while A's far end was hearing
// B's audio: A's far end gets the tone on B's stream (its SSRC, the next
// sequence numbers, PCMA with the payload type asked, 20 ms of samples a
// packet, timestamps 160 apart), none of B's audio meanwhile, and B's
// audio again, gapless, once the tone stops; nothing of the tone after.
func TestPlayTone(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	a, b := newEndpoint(t), newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	s.B().SetRemote(Remote{RTP: b.addr()})
	tt, err := NewToneTable(Tone{Freqs: []int{425}, Cadence: []time.Duration{time.Second, 4 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopB := make(chan struct{})
	bDone := make(chan struct{})
	go func() { // B's far end: 20 ms audio until told
		defer close(bDone)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopB:
				return
			case <-tk.C:
				b.send(s.B().LocalAddr(), b.packet())
			}
		}
	}()
	var got []*rtp.Packet
	read := func(d time.Duration) {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			raw, _ := a.recv(time.Until(deadline))
			if raw == nil {
				return
			}
			var p rtp.Packet
			if err := p.Unmarshal(append([]byte(nil), raw...)); err != nil {
				t.Fatalf("not RTP: %v", err)
			}
			got = append(got, &p)
		}
	}
	// Each phase reads until it has what the checks below need (a
	// loaded machine delivers fewer packets in a fixed window), 5 s at
	// most.
	count := func(pt uint8) (n int) {
		for _, p := range got {
			if p.PayloadType == pt {
				n++
			}
		}
		return n
	}
	readUntil := func(cond func() bool) {
		for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
			read(100 * time.Millisecond)
		}
	}
	read(200 * time.Millisecond) // B's audio flows
	readUntil(func() bool { return len(got) >= 3 })
	played := make(chan error, 1)
	tctx, stopTone := context.WithCancel(ctx)
	go func() { played <- s.A().PlayTone(tctx, tt, TonePlay{Codec: PCMA, PayloadType: 8}) }()
	read(600 * time.Millisecond)
	readUntil(func() bool { return count(8) >= 10 })
	stopTone()
	select {
	case err := <-played:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("PlayTone: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PlayTone did not return when cancelled")
	}
	read(300 * time.Millisecond)
	readUntil(func() bool { // B's audio again, after the tone
		n := 0
		for i := len(got) - 1; i >= 0 && got[i].PayloadType != 8; i-- {
			n++
		}
		return n >= 3
	})
	close(stopB)
	<-bDone

	var before, tone, after []*rtp.Packet
	for _, p := range got {
		switch {
		case p.PayloadType == 8:
			if len(after) > 0 {
				t.Fatalf("a tone packet after B's audio came back")
			}
			tone = append(tone, p)
		case len(tone) == 0:
			before = append(before, p)
		default:
			after = append(after, p)
		}
	}
	t.Logf("%d audio packets, %d tone packets, %d audio packets", len(before), len(tone), len(after))
	if len(before) < 3 || len(tone) < 10 || len(after) < 3 {
		t.Fatalf("packets: %d audio, %d tone, %d audio", len(before), len(tone), len(after))
	}
	if !tone[0].Marker {
		t.Error("the tone's first packet has no marker")
	}
	all := append(append(append([]*rtp.Packet{}, before...), tone...), after...)
	for i := 1; i < len(all); i++ {
		if all[i].SSRC != all[0].SSRC {
			t.Errorf("packet %d SSRC %x, stream's %x", i, all[i].SSRC, all[0].SSRC)
		}
		if all[i].SequenceNumber != all[i-1].SequenceNumber+1 {
			t.Errorf("packet %d sequence number %d after %d", i, all[i].SequenceNumber, all[i-1].SequenceNumber)
		}
	}
	var samples []byte
	for i, p := range tone {
		if len(p.Payload) != 160 {
			t.Errorf("tone packet %d has %d bytes", i, len(p.Payload))
		}
		if i > 0 && (p.Timestamp == tone[i-1].Timestamp || (p.Timestamp-tone[i-1].Timestamp)%160 != 0) { // whole packets (a late player skips)
			t.Errorf("tone packet %d timestamp %d after %d", i, p.Timestamp, tone[i-1].Timestamp)
		}
		samples = append(samples, p.Payload...)
	}
	if d := tone[0].Timestamp - before[len(before)-1].Timestamp; d == 0 || d > 8000 {
		t.Errorf("the tone's timestamps start %d after the audio's", d)
	}
	x := decode(samples[:1600], PCMA)
	if a425, a1k := goertzel(x, 425), goertzel(x, 1000); a425 < 1000 || a1k > a425/50 {
		t.Errorf("the tone's first 200 ms: 425 Hz at %.0f, 1000 Hz at %.0f", a425, a1k)
	}
}

// TestPlayToneSessionClosed: closing the session ends a tone with
// ErrNoEvents.
func TestPlayToneSessionClosed(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	a := newEndpoint(t)
	s.A().SetRemote(Remote{RTP: a.addr()})
	tt, err := NewToneTable(Tone{Freqs: []int{425}})
	if err != nil {
		t.Fatal(err)
	}
	played := make(chan error, 1)
	go func() { played <- s.A().PlayTone(context.Background(), tt, TonePlay{Codec: PCMU}) }()
	if raw, _ := a.recv(5 * time.Second); raw == nil {
		t.Fatal("no tone packet")
	}
	s.Close()
	select {
	case err := <-played:
		if !errors.Is(err, ErrNoEvents) {
			t.Errorf("PlayTone after Close: %v, want ErrNoEvents", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PlayTone did not return when the session closed")
	}
}

// TestPlayToneEndpoint: a side whose far end is in the process (a WebRTC
// leg: SetEndpoint) gets the tone through its endpoint, as the relay's
// own packets; before any audio the tone starts a stream of its own.
func TestPlayToneEndpoint(t *testing.T) {
	t.Parallel()
	r := newTestRelay(t, Config{})
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s.A().SetRemote(Remote{RTP: newEndpoint(t).addr()})
	got := make(chan *rtp.Packet, 256)
	s.A().SetEndpoint(func(raw []byte) {
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), raw...)); err == nil {
			select {
			case got <- &p:
			default:
			}
		}
	})
	tt, err := NewToneTable(Tone{Freqs: []int{440, 480}, Cadence: []time.Duration{2 * time.Second, 4 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	played := make(chan error, 1)
	go func() {
		played <- s.A().PlayTone(ctx, tt, TonePlay{Codec: PCMU, PayloadType: 0, Ptime: 30 * time.Millisecond})
	}()
	var pkts []*rtp.Packet
	for len(pkts) < 10 {
		select {
		case p := <-got:
			pkts = append(pkts, p)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d tone packets at the endpoint", len(pkts))
		}
	}
	cancel()
	<-played
	var samples []byte
	for i, p := range pkts {
		if p.PayloadType != 0 || len(p.Payload) != 240 || p.SSRC != pkts[0].SSRC {
			t.Errorf("packet %d: PT %d, %d bytes, SSRC %x", i, p.PayloadType, len(p.Payload), p.SSRC)
		}
		// a player late on a loaded machine skips whole packets: the
		// timestamps jump, the sequence numbers do not
		if i > 0 && (p.SequenceNumber != pkts[i-1].SequenceNumber+1 || p.Timestamp == pkts[i-1].Timestamp || (p.Timestamp-pkts[i-1].Timestamp)%240 != 0) {
			t.Errorf("packet %d: seq %d ts %d after %d %d", i, p.SequenceNumber, p.Timestamp, pkts[i-1].SequenceNumber, pkts[i-1].Timestamp)
		}
		samples = append(samples, p.Payload...)
	}
	x := decode(samples[:1600], PCMU)
	if a, b, o := goertzel(x, 440), goertzel(x, 480), goertzel(x, 1000); a < 1000 || b < 1000 || o > a/50 {
		t.Errorf("440 Hz at %.0f, 480 Hz at %.0f, 1000 Hz at %.0f", a, b, o)
	}
}
