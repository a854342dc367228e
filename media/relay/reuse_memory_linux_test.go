//go:build linux && !relaygoroutines

package relay

import (
	"runtime"
	"testing"
	"time"
	"weak"
)

// TestRestingPairsDoNotHoldSessions: a session that ended is garbage once
// its caller lets go, although its sockets rest for reuse. The resting pair
// held the side's own sock values, which point at the session and through
// its callbacks at the call that owned it: under a calls benchmark up to
// maxIdlePairs ended calls stayed in memory.
func TestRestingPairsDoNotHoldSessions(t *testing.T) {
	old := reuseAfter
	reuseAfter = time.Hour // no pair is taken again while the loop runs, however slow the machine
	t.Cleanup(func() { reuseAfter = old })
	r := newTestRelay(t, Config{})
	const n = 8
	refs := make([]weak.Pointer[Session], 0, n)
	for range n {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, weak.Make(s))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if r.idleLen() != 2*n {
		t.Fatalf("%d pairs resting, want %d", r.idleLen(), 2*n)
	}
	for range 3 {
		runtime.GC()
	}
	alive := 0
	for _, w := range refs {
		if w.Value() != nil {
			alive++
		}
	}
	if alive != 0 {
		t.Fatalf("%d of %d ended sessions still reachable while their ports rest", alive, n)
	}
}
