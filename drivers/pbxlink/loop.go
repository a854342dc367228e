package pbxlink

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff bounds the wait between two connect attempts: it starts at Min,
// doubles after each attempt that failed or link that ended, up to Max,
// and is Min again once a link stayed up StableAfter (default 10s), so a
// flapping link does not reconnect, and re-monitor everything, at Min's
// rate. Each wait is spread by ±20% (jitter), so that drivers that lost
// their PBXs together do not come back in step.
type Backoff struct {
	Min, Max    time.Duration
	StableAfter time.Duration
}

// DefaultStableAfter is Backoff.StableAfter when zero.
const DefaultStableAfter = 10 * time.Second

// jitter spreads d by ±20%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*4/5 + rand.N(d*2/5+1)
}

// Loop keeps a link up. Connect and Down are required; Retry is optional.
type Loop struct {
	Backoff Backoff
	// Connect brings one link up and returns serve, which keeps it until
	// it ends (or ctx ends) and says why. A connect error is a failed
	// attempt.
	Connect func(ctx context.Context) (serve func(ctx context.Context) error, err error)
	// Down is called after every link, or failed attempt, with why it
	// ended (nil when not known). The driver forgets the link here and
	// queues link_down.
	Down func(err error)
	// Retry, if set, is called before each wait for another attempt (a
	// driver counts its reconnects with it).
	Retry func()
}

// Run connects, serves and reconnects until ctx ends. The first attempt's
// result is sent to first, when it is not nil (a buffered channel of one:
// see [WaitFirst]).
func (l Loop) Run(ctx context.Context, first chan<- error) {
	backoff := l.Backoff.Min
	stable := l.Backoff.StableAfter
	if stable <= 0 {
		stable = DefaultStableAfter
	}
	for {
		serve, err := l.Connect(ctx)
		if first != nil {
			first <- err
			first = nil
		}
		if err == nil {
			up := time.Now()
			err = serve(ctx)
			if time.Since(up) >= stable {
				backoff = l.Backoff.Min
			}
		}
		l.Down(err)
		if ctx.Err() != nil {
			return
		}
		if l.Retry != nil {
			l.Retry()
		}
		t := time.NewTimer(jitter(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, l.Backoff.Max)
	}
}

// startMargin is how long before the host's deadline a driver's Start
// answers anyway.
const startMargin = 500 * time.Millisecond

// WaitFirst waits for the first attempt's result on first, at most wait
// and never past half a second before ctx's deadline: a slow PBX is the
// link's problem (it is retried in the background), not a failed start.
// It returns the result, or nil when none came in time.
func WaitFirst(ctx context.Context, first <-chan error, wait time.Duration) error {
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)-startMargin)
	}
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	select {
	case err := <-first:
		return err
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}
