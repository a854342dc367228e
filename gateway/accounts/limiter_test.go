package accounts

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimiterAttemptsInFlight: attempts racing for one key get exactly
// the limit's places; a forgiven success gives its place back.
func TestLimiterAttemptsInFlight(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	l := NewLimiter(5, time.Minute, c.Now)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, wait := l.Attempt("src 192.0.2.1", "acct olga"); wait == 0 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := ok.Load(); n != 5 {
		t.Fatalf("%d of 50 racing attempts allowed, want 5", n)
	}
	if wait := l.Check("acct olga"); wait != time.Minute {
		t.Fatalf("wait %v, want the window", wait)
	}
	c.Add(time.Minute)
	at, wait := l.Attempt("src 192.0.2.1", "acct olga")
	if wait != 0 {
		t.Fatalf("after the window: wait %v", wait)
	}
	l.Forgive(at, "src 192.0.2.1", "acct olga")
	for range 4 {
		l.Attempt("src 192.0.2.1", "acct olga")
	}
	if _, wait := l.Attempt("src 192.0.2.1", "acct olga"); wait != 0 {
		t.Fatal("a forgiven attempt still holds its place")
	}
	if _, wait := l.Attempt("src 192.0.2.1", "acct other"); wait == 0 {
		t.Fatal("the source's sixth attempt allowed")
	}
}
