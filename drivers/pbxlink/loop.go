package pbxlink

import (
	"context"
	"time"
)

// Backoff bounds the wait between two connect attempts: it starts at Min,
// doubles after each attempt that failed, up to Max, and is Min again
// once a link came up.
type Backoff struct {
	Min, Max time.Duration
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
	for {
		serve, err := l.Connect(ctx)
		if first != nil {
			first <- err
			first = nil
		}
		if err == nil {
			backoff = l.Backoff.Min
			err = serve(ctx)
		}
		l.Down(err)
		if ctx.Err() != nil {
			return
		}
		if l.Retry != nil {
			l.Retry()
		}
		t := time.NewTimer(backoff)
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
