package pbxlink

import (
	"testing"
	"time"
)

// TestResnapDelay: 50 ms doubling, capped at 2 s, never zero.
func TestResnapDelay(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, 50 * time.Millisecond}, {1, 50 * time.Millisecond}, {2, 100 * time.Millisecond}, {3, 200 * time.Millisecond},
		{6, 1600 * time.Millisecond}, {7, 2 * time.Second}, {1000, 2 * time.Second}} {
		if got := ResnapDelay(c.n); got != c.want {
			t.Errorf("ResnapDelay(%d) = %s, want %s", c.n, got, c.want)
		}
	}
}

// TestResnapsClaimAndSlots: one loop per device; at most ResnapLimit
// slots; a released device can be claimed again.
func TestResnapsClaimAndSlots(t *testing.T) {
	r := NewResnaps()
	if !r.Claim("201", 1) || r.Claim("201", 1) || !r.Claim("202", 1) {
		t.Fatal("claims")
	}
	r.Release("201", 1)
	if !r.Claim("201", 1) {
		t.Fatal("released device not claimable")
	}
	var frees []func()
	for range ResnapLimit {
		free, ok := r.Slot(nil)
		if !ok {
			t.Fatal("slot")
		}
		frees = append(frees, free)
	}
	done := make(chan struct{})
	close(done)
	if _, ok := r.Slot(done); ok {
		t.Fatal("more than ResnapLimit slots")
	}
	frees[0]()
	if _, ok := r.Slot(nil); !ok {
		t.Fatal("freed slot not given")
	}
}

// TestResnapLoop: the loop tries again after a failed attempt, stops when
// told, releases the device's claim before the taken snapshot is queued
// (so an overtaken one can start a new loop), and returns when done closes.
func TestResnapLoop(t *testing.T) {
	r := NewResnaps()
	done := make(chan struct{})

	if !r.Claim("201", 1) {
		t.Fatal("first claim refused")
	}
	var tries []int
	claimedAtTake := true
	r.Loop(done, "201", 1, 1, func(n int) (func(), bool) {
		tries = append(tries, n)
		if n < 3 {
			return nil, false // unanswered: again
		}
		return func() { claimedAtTake = !r.Claim("201", 1) }, false
	})
	if len(tries) != 3 || tries[0] != 1 || tries[2] != 3 {
		t.Errorf("attempts %v, want 1 2 3", tries)
	}
	if claimedAtTake {
		t.Error("the claim was still held when the snapshot was queued")
	}
	r.Release("201", 1)

	r.Claim("202", 1)
	calls := 0
	r.Loop(done, "202", 1, 1, func(int) (func(), bool) { calls++; return nil, true })
	if calls != 1 {
		t.Errorf("stop: %d attempts, want 1", calls)
	}
	if !r.Claim("202", 1) {
		t.Error("claim kept after stop")
	}
	r.Release("202", 1)

	r.Claim("203", 1)
	close(done)
	r.Loop(done, "203", 1, 1, func(int) (func(), bool) { t.Error("attempt after done"); return nil, true })
	if !r.Claim("203", 1) {
		t.Error("claim kept after done")
	}
}

// TestResnapsNewerLinkTakesOver: a device's loop on an earlier link does
// not keep a later link's loop from starting (the earlier one stops at its
// next attempt), and its release does not end the later one's claim.
// Before, the earlier loop held the claim: the later link's snapshot of
// the device, failed, was never asked again.
func TestResnapsNewerLinkTakesOver(t *testing.T) {
	tests := []struct {
		name string
		do   func(r *Resnaps) bool
		want bool
	}{
		{"same link: one loop", func(r *Resnaps) bool { r.Claim("201", 1); return r.Claim("201", 1) }, false},
		{"later link takes over", func(r *Resnaps) bool { r.Claim("201", 1); return r.Claim("201", 2) }, true},
		{"earlier link does not", func(r *Resnaps) bool { r.Claim("201", 2); return r.Claim("201", 1) }, false},
		{"earlier loop's release keeps the later claim", func(r *Resnaps) bool {
			r.Claim("201", 1)
			r.Claim("201", 2)
			r.Release("201", 1)
			return r.Claim("201", 2)
		}, false},
		{"later loop's release frees it", func(r *Resnaps) bool {
			r.Claim("201", 1)
			r.Claim("201", 2)
			r.Release("201", 2)
			return r.Claim("201", 2)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.do(NewResnaps()); got != tt.want {
				t.Errorf("last claim %v, want %v", got, tt.want)
			}
		})
	}
}
