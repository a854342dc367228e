package relay

import (
	"runtime"
	"testing"
	"time"
	"weak"
)

// TestClosedSessionIsReleased: a session that was armed for the media
// timeout and closed is garbage at once, though the gateway has other
// timers pending that are due before the media timeout would have been
// (transactions' 32 s timers against 60 s; here 1 min against 10 min, set
// after each ArmTimeout as a call's transactions are). The runtime keeps a
// stopped timer in its heap until it cleans it up, so the timer must not
// hold the session: it did, for seconds in TestEndedCallsAreReleased
// (b2bua).
func TestClosedSessionIsReleased(t *testing.T) {
	r, err := New(Config{PortMin: 46000, PortMax: 46999, MediaTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var others []*time.Timer
	defer func() {
		for _, o := range others {
			o.Stop()
		}
	}()
	const n = 5
	var ws []weak.Pointer[Session]
	for range n {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		s.ArmTimeout()
		for range 20 {
			others = append(others, time.AfterFunc(time.Minute, func() {}))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, weak.Make(s))
	}
	held := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		runtime.GC()
		held = 0
		for _, w := range ws {
			if w.Value() != nil {
				held++
			}
		}
		if held == 0 || time.Now().After(deadline) {
			break
		}
	}
	if held > 0 {
		t.Fatalf("%d of %d closed sessions still reachable 10 s after Close", held, n)
	}
}
