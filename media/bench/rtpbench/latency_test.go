//go:build linux

package main

import (
	"encoding/binary"
	"testing"
	"time"
)

func pkt(ssrc uint32, seq uint16, sent int64) []byte {
	b := make([]byte, 172)
	b[0] = 0x80
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	binary.BigEndian.PutUint64(b[stampOffset:], uint64(sent))
	return b
}

// Per-stream loss counts what was sent and never arrived, across a
// sequence wrap, and the transit percentiles come from the stamps.
func TestLatencyReport(t *testing.T) {
	l := newLatency(4)
	const base = int64(1_000_000_000)
	// stream 1: 100 packets from seq 65500 (wraps), 1 in 10 delayed 5 ms, all arrive
	for i := range 100 {
		d := int64(100 * time.Microsecond)
		if i%10 == 9 {
			d = int64(5 * time.Millisecond)
		}
		sent := base + int64(i)*int64(20*time.Millisecond)
		l.add(pkt(1, uint16(65500+i), sent), sent+d)
	}
	// stream 2: 50 sent, 3 lost in the middle, 2 at the end (never arrived)
	for i := range 50 {
		if i == 10 || i == 11 || i == 12 || i >= 48 {
			continue
		}
		sent := base + int64(i)*int64(20*time.Millisecond)
		l.add(pkt(2, uint16(i), sent), sent+int64(200*time.Microsecond))
	}
	l.streams[1].sent, l.streams[2].sent, l.streams[3].sent = 100, 50, 7 // stream 3: nothing arrived
	r := l.report()
	if r.streams != 3 || r.lossy != 2 || r.silent != 1 || r.gapped != 1 {
		t.Errorf("streams %d, lossy %d, silent %d, gapped %d; want 3, 2, 1, 1", r.streams, r.lossy, r.silent, r.gapped)
	}
	if r.worstSSRC != 3 || r.worstLost != 7 || r.worstLoss != 1 {
		t.Errorf("worst SSRC %d lost %d (%.2f), want SSRC 3 lost 7 (1.00)", r.worstSSRC, r.worstLost, r.worstLoss)
	}
	if r.transit50 != 201*time.Microsecond && r.transit50 != 101*time.Microsecond {
		t.Errorf("transit p50 %v", r.transit50)
	}
	if r.transit99 != 5001*time.Microsecond || r.transitMax != 5001*time.Microsecond {
		t.Errorf("transit p99 %v, max %v: want 5.001ms", r.transit99, r.transitMax)
	}
}

// Transit beyond the fine bins lands in 100 µs bins, and beyond 10 s in
// the last one.
func TestLatencyBins(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want time.Duration
	}{
		{0, time.Microsecond},
		{9999 * time.Microsecond, 10 * time.Millisecond},
		{250 * time.Millisecond, 250*time.Millisecond + 100*time.Microsecond},
		{time.Minute, 10 * time.Second},
	} {
		if got := binTop(bin(int64(tc.d))); got != tc.want {
			t.Errorf("%v: bin top %v, want %v", tc.d, got, tc.want)
		}
	}
}

// FuzzLatencyAdd: whatever datagram arrives, add never panics, counts a
// packet only for a stream the generator has (SSRC 1 to 4 here), and the
// report's figures stay within what was added.
func FuzzLatencyAdd(f *testing.F) {
	f.Add(pkt(1, 65535, 1), pkt(1, 0, 2), int64(3))
	f.Add(pkt(4, 7, -5), []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9}, int64(0))
	f.Add([]byte{}, make([]byte, 20), int64(-1))
	f.Fuzz(func(t *testing.T, a, b []byte, arrival int64) {
		l := newLatency(4)
		want := 0
		for _, p := range [][]byte{a, b, a} {
			if len(p) >= stampOffset+8 {
				if ssrc := binary.BigEndian.Uint32(p[8:12]); ssrc < 5 {
					want++
				}
			}
			l.add(p, arrival)
		}
		got := 0
		for i := range l.streams {
			l.streams[i].sent = 3
			got += int(l.streams[i].received)
		}
		if got != want {
			t.Fatalf("counted %d packets, want %d", got, want)
		}
		r := l.report()
		if r.lossy > r.streams || r.silent > r.streams || r.worstLoss < 0 || r.worstLoss > 1 {
			t.Fatalf("report out of bounds: %+v", r)
		}
		if r.transit50 > r.transit99 || r.transit99 > r.transitMax {
			t.Fatalf("percentiles out of order: %+v", r)
		}
	})
}
