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
	if !r.Claim("201") || r.Claim("201") || !r.Claim("202") {
		t.Fatal("claims")
	}
	r.Release("201")
	if !r.Claim("201") {
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
