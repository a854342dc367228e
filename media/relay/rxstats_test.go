package relay

import "testing"

// feed gives rx a G.711 stream: packet i has sequence seq0+i, timestamp
// 160*i and arrives at arrival(i) (in timestamp units).
func feed(rx *rxStats, ssrc uint32, seq0 uint16, idx []int, arrival func(i int) int64) {
	for _, i := range idx {
		rx.add(ssrc, seq0+uint16(i), uint32(160*i), 0, arrival(i), false)
	}
}

func span(n int, skip func(int) bool) []int {
	var out []int
	for i := range n {
		if skip == nil || !skip(i) {
			out = append(out, i)
		}
	}
	return out
}

func TestRxStatsLoss(t *testing.T) {
	tests := []struct {
		name           string
		seq0           uint16
		idx            []int
		expected, lost int64
	}{
		{"no loss", 10, span(100, nil), 100, 0},
		{"every 10th lost", 10, span(100, func(i int) bool { return i%10 == 5 }), 100, 10},
		{"wrap-around", 65500, span(100, func(i int) bool { return i == 50 || i == 51 }), 100, 2},
		{"reordered", 1, []int{0, 1, 3, 2, 4, 5}, 6, 0},
		{"duplicate", 1, []int{0, 1, 2, 2, 3}, 4, -1},
		{"tail lost is not seen", 1, []int{0, 1, 2}, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rx rxStats
			feed(&rx, 1, tt.seq0, tt.idx, func(i int) int64 { return int64(160 * i) })
			if int64(rx.expected()) != tt.expected || rx.lost() != tt.lost {
				t.Fatalf("expected %d lost %d; want %d %d", rx.expected(), rx.lost(), tt.expected, tt.lost)
			}
		})
	}
}

// A new SSRC (transfer, restart) starts a new count: its jump in sequence
// numbers is not loss.
func TestRxStatsNewSSRC(t *testing.T) {
	var rx rxStats
	feed(&rx, 1, 100, span(50, nil), func(i int) int64 { return int64(160 * i) })
	feed(&rx, 2, 40000, span(50, func(i int) bool { return i == 7 }), func(i int) int64 { return int64(160 * i) })
	if rx.expected() != 100 || rx.lost() != 1 {
		t.Fatalf("expected %d lost %d", rx.expected(), rx.lost())
	}
}

// The same SSRC jumping far (a restart without a new SSRC): after two
// sequential packets the count re-syncs (RFC 3550 A.1).
func TestRxStatsResync(t *testing.T) {
	var rx rxStats
	feed(&rx, 1, 100, span(10, nil), func(i int) int64 { return 0 })
	feed(&rx, 1, 30000, span(10, nil), func(i int) int64 { return 0 })
	// one packet of the new run is spent detecting the jump
	if rx.expected() != 19 || rx.lost() != 0 {
		t.Fatalf("expected %d lost %d", rx.expected(), rx.lost())
	}
}

// RFC 3550 A.8 with exact arrival times.
func TestRxStatsJitter(t *testing.T) {
	// perfectly paced: zero jitter
	var rx rxStats
	feed(&rx, 1, 0, span(500, nil), func(i int) int64 { return int64(160*i) + 999 })
	if j := rx.jitterUnits(); j != 0 {
		t.Fatalf("paced stream jitter %d", j)
	}
	// every other packet 80 units (10 ms at 8 kHz) late: |D| = 80 for every
	// packet after the first, so J tends to 80
	rx = rxStats{}
	feed(&rx, 1, 0, span(500, nil), func(i int) int64 { return int64(160*i + 80*(i%2)) })
	if j := rx.jitterUnits(); j < 78 || j > 80 {
		t.Fatalf("jitter %d, want about 80", j)
	}
	// after 16 packets J = 80·(1-(15/16)^15) ≈ 50
	rx = rxStats{}
	feed(&rx, 1, 0, span(16, nil), func(i int) int64 { return int64(160*i + 80*(i%2)) })
	if j := rx.jitterUnits(); j < 48 || j > 52 {
		t.Fatalf("jitter after 16 packets %d, want about 50", j)
	}
	// RFC 4733 events are left out
	rx = rxStats{}
	for i := range 100 {
		rx.add(1, uint16(i), 1234, 101, int64(160*i), true)
	}
	if j := rx.jitterUnits(); j != 0 {
		t.Fatalf("events changed the jitter: %d", j)
	}
}
