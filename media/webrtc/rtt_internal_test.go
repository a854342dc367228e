package webrtc

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestRTTOf: A − LSR − DLSR (RFC 3550 §6.4.1) for blocks naming one of
// our recent SRs; nothing for a block naming none (stale, forged, or the
// 0 of a browser that has no SR of ours yet), one whose DLSR is longer
// than the time since our SR, or one past maxRTT.
func TestRTTOf(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)
	var r rttState
	for i := range srKept + 1 { // the oldest falls out of the ring
		r.sentSRAt(ntpTime(t0.Add(time.Duration(i-srKept) * 5 * time.Second)))
	}
	ms := func(d time.Duration) uint32 { return uint32(uint64(d) * 65536 / uint64(time.Second)) }
	lsr := ntpMiddle(t0)
	for _, tc := range []struct {
		name string
		rb   rtcp.ReceptionReport
		at   time.Time
		want time.Duration // -1: no figure
	}{
		{"held 100 ms, back 350 ms after", rtcp.ReceptionReport{LastSenderReport: lsr, Delay: ms(100 * time.Millisecond)}, t0.Add(350 * time.Millisecond), 250 * time.Millisecond},
		{"an older SR of ours", rtcp.ReceptionReport{LastSenderReport: ntpMiddle(t0.Add(-10 * time.Second)), Delay: ms(9 * time.Second)}, t0.Add(20 * time.Millisecond), time.Second + 20*time.Millisecond},
		{"no delay", rtcp.ReceptionReport{LastSenderReport: lsr}, t0.Add(40 * time.Millisecond), 40 * time.Millisecond},
		{"no SR yet (LSR 0)", rtcp.ReceptionReport{}, t0.Add(time.Second), -1},
		{"an LSR we never sent", rtcp.ReceptionReport{LastSenderReport: lsr + 1}, t0.Add(time.Second), -1},
		{"an SR out of the ring", rtcp.ReceptionReport{LastSenderReport: ntpMiddle(t0.Add(-srKept * 5 * time.Second))}, t0.Add(time.Second), -1},
		{"DLSR past the time since", rtcp.ReceptionReport{LastSenderReport: lsr, Delay: ms(2 * time.Second)}, t0.Add(time.Second), -1},
		{"DLSR past 2^31 units (wraps to 1.8 s)", rtcp.ReceptionReport{LastSenderReport: lsr, Delay: 0xffff3030}, t0.Add(time.Second), -1},
		{"past maxRTT", rtcp.ReceptionReport{LastSenderReport: lsr}, t0.Add(maxRTT + time.Second), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := r.rttOf(tc.rb, tc.at)
			if tc.want < 0 {
				if ok {
					t.Errorf("got %v, want no figure", got)
				}
				return
			}
			// LSR, DLSR and A are in 1/65536 s: ±2 units
			if !ok || got < tc.want-31*time.Microsecond || got > tc.want+31*time.Microsecond {
				t.Errorf("got %v %v, want %v", got, ok, tc.want)
			}
		})
	}
}

// TestLastSR: our block's LSR/DLSR name the browser's last SR from the
// SSRC the block is about, and the time since; 0, 0 before one or for
// another SSRC (RFC 3550 §6.4.1).
func TestLastSR(t *testing.T) {
	var r rttState
	now := time.Now()
	if lsr, dlsr := r.lastSR(7, now); lsr != 0 || dlsr != 0 {
		t.Errorf("before an SR: %#x %d", lsr, dlsr)
	}
	r.peerSSR, r.peerLSR, r.peerAt = 7, 0x12345678, now
	if lsr, dlsr := r.lastSR(7, now.Add(1500*time.Millisecond)); lsr != 0x12345678 || dlsr != 3*65536/2 {
		t.Errorf("1.5 s after the SR: %#x %d", lsr, dlsr)
	}
	if lsr, dlsr := r.lastSR(8, now.Add(time.Second)); lsr != 0 || dlsr != 0 {
		t.Errorf("another SSRC: %#x %d", lsr, dlsr)
	}
}

// FuzzRTCPReports: any compound packet from the browser (it authenticated,
// but its contents are the browser's) never panics, and a round trip is
// counted only from a block about our stream naming one of our SRs,
// within [0, maxRTT].
func FuzzRTCPReports(f *testing.F) {
	at := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)
	lsr := ntpMiddle(at.Add(-time.Second))
	good, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{{SSRC: 42, LastSenderReport: lsr, Delay: 65536 / 2}}}})
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 9, NTPTime: ntpTime(at), Reports: []rtcp.ReceptionReport{{SSRC: 42, LastSenderReport: lsr}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 9, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}}})
	f.Add(good)
	f.Add(sr)
	f.Add([]byte{0x81, 0xc9, 0, 7})
	f.Add([]byte{0x80, 0xc8, 0xff, 0xff, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var r rttState
		r.sentSRAt(ntpTime(at.Add(-time.Second)))
		r.take(pkt, 42, at)
		n := r.samples.Load()
		rtt := time.Duration(r.last.Load())
		if n == 0 {
			if rtt != 0 {
				t.Fatalf("round trip %v without a sample", rtt)
			}
			return
		}
		if rtt < 0 || rtt > time.Second+time.Millisecond {
			t.Fatalf("round trip %v from %x: our only SR was 1 s before", rtt, pkt)
		}
		pkts, err := rtcp.Unmarshal(pkt)
		if err != nil {
			t.Fatalf("a sample from a packet that does not parse: %x", pkt)
		}
		named := false
		for _, p := range pkts {
			var blocks []rtcp.ReceptionReport
			switch x := p.(type) {
			case *rtcp.SenderReport:
				blocks = x.Reports
			case *rtcp.ReceiverReport:
				blocks = x.Reports
			}
			for _, rb := range blocks {
				named = named || (rb.SSRC == 42 && rb.LastSenderReport == lsr)
			}
		}
		if !named {
			t.Fatalf("a sample from blocks naming no SR of ours about our stream: %x", pkt)
		}
	})
}

// TestRTTHistogram: each round trip measured from a browser's report on
// any of the engine's legs counts once in its histogram, in the first
// bucket whose bound it does not pass (cumulative, as Prometheus' le);
// a report that gives no figure (a stale LSR, another stream) counts
// nothing.
func TestRTTHistogram(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	e := &Engine{}
	leg := func() *Leg {
		l := &Leg{e: e, track: &rtpTrack{}}
		l.track.cur.Store(&binding{ssrc: 42})
		l.rtt.sentSRAt(ntpTime(t0))
		return l
	}
	a, b := leg(), leg()
	report := func(ssrc, lsr uint32) []byte {
		p, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{{SSRC: ssrc, LastSenderReport: lsr}}}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	lsr := ntpMiddle(t0)
	for _, tc := range []struct {
		l   *Leg
		pkt []byte
		at  time.Duration
	}{
		{a, report(42, lsr), 3 * time.Millisecond},      // ≤ 5 ms
		{b, report(42, lsr), 30 * time.Millisecond},     // ≤ 50 ms
		{a, report(42, lsr), 150 * time.Millisecond},    // ≤ 200 ms
		{b, report(42, lsr), 10 * time.Second},          // past every bound: +Inf only
		{a, report(42, lsr+7), 20 * time.Millisecond},   // an LSR we never sent: no figure
		{b, report(43, lsr), 20 * time.Millisecond},     // about another stream: no figure
		{a, []byte{0x80, 0xc9, 0, 1}, time.Millisecond}, // does not parse
	} {
		tc.l.fromBrowserRTCP(tc.pkt, t0.Add(tc.at))
	}
	n, sum, buckets := e.RTTHistogram()
	if n != 4 {
		t.Errorf("count %d, want 4", n)
	}
	if want := 10.183; sum < want-0.001 || sum > want+0.001 {
		t.Errorf("sum %.4f s, want %.3f", sum, want)
	}
	for ub, want := range map[float64]uint64{0.005: 1, 0.01: 1, 0.025: 1, 0.05: 2, 0.1: 2, 0.2: 3, 1.6: 3, 3.2: 3} {
		if buckets[ub] != want {
			t.Errorf("le %g: %d, want %d", ub, buckets[ub], want)
		}
	}
	if len(buckets) != len(RTTBuckets) {
		t.Errorf("%d buckets, want %d", len(buckets), len(RTTBuckets))
	}
}
