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
