package pbxlink

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

func TestQueueOrder(t *testing.T) {
	q := NewQueue[int](Bound[int]{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Process(ctx, func(i int) {
			got = append(got, i)
			if i == 999 {
				cancel()
			}
		})
	}()
	for i := range 1000 {
		q.Push(i)
	}
	<-done
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d is %d", i, v)
		}
	}
	if len(got) != 1000 {
		t.Fatalf("%d items applied, want 1000", len(got))
	}
}

func TestStateOneLinkDownPerOutage(t *testing.T) {
	var s State
	ev, ok := s.GoDown("dial: refused")
	if !ok || ev.Type != plugins.EventLinkDown || ev.Cause != plugins.CauseLinkFailure || ev.RawCause != "dial: refused" {
		t.Fatalf("first down: %+v %v", ev, ok)
	}
	if _, ok := s.GoDown("again"); ok {
		t.Fatal("second link_down in one outage")
	}
	if ev := s.GoUp(); ev.Type != plugins.EventLinkUp || s != Up {
		t.Fatalf("up: %+v %v", ev, s)
	}
	if _, ok := s.GoDown("lost"); !ok {
		t.Fatal("no link_down after link_up")
	}
}

// TestLoop: a failing connect is retried with growing waits until one
// succeeds; after a served link ends, Down is told why and the loop
// connects again; Run returns when ctx ends.
func TestLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errDial := errors.New("dial refused")
	errLost := errors.New("link lost")
	var mu sync.Mutex
	var downs []error
	var attempts, retries atomic.Int32
	l := Loop{
		Backoff: Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond},
		Connect: func(context.Context) (func(context.Context) error, error) {
			n := attempts.Add(1)
			switch {
			case n <= 3:
				return nil, errDial
			case n == 4:
				return func(context.Context) error { return errLost }, nil
			}
			return func(ctx context.Context) error { cancel(); <-ctx.Done(); return ctx.Err() }, nil
		},
		Down:  func(err error) { mu.Lock(); downs = append(downs, err); mu.Unlock() },
		Retry: func() { retries.Add(1) },
	}
	first := make(chan error, 1)
	l.Run(ctx, first)
	if err := <-first; !errors.Is(err, errDial) {
		t.Fatalf("first = %v", err)
	}
	want := []error{errDial, errDial, errDial, errLost, context.Canceled}
	if len(downs) != len(want) {
		t.Fatalf("downs %v, want %v", downs, want)
	}
	for i := range want {
		if !errors.Is(downs[i], want[i]) {
			t.Fatalf("down %d = %v, want %v", i, downs[i], want[i])
		}
	}
	if retries.Load() != 4 {
		t.Fatalf("retries %d, want 4", retries.Load())
	}
}

func TestWaitFirst(t *testing.T) {
	first := make(chan error, 1)
	first <- errors.New("refused")
	if err := WaitFirst(context.Background(), first, time.Minute); err == nil {
		t.Fatal("result lost")
	}
	// No result: a deadline close by ends the wait with nil.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := WaitFirst(ctx, make(chan error), time.Hour); err != nil {
		t.Fatal(err)
	}
}

func TestParallel(t *testing.T) {
	var running, most atomic.Int32
	boom := errors.New("boom")
	var jobs []func() error
	for i := range 20 {
		jobs = append(jobs, func() error {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			if i == 7 {
				return boom
			}
			return nil
		})
	}
	if err := Parallel(3, jobs); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if most.Load() > 3 {
		t.Fatalf("%d jobs at once, want at most 3", most.Load())
	}
	if err := Parallel(3, nil); err != nil {
		t.Fatal(err)
	}
}

// TestLoopFlappingBacksOff: a link that comes up and drops at once does
// not reconnect at Min's rate: the wait keeps growing until a link stays
// up StableAfter. Before, every successful connect reset the backoff, so a
// flapping PBX was reconnected (and every device re-monitored) each Min.
func TestLoopFlappingBacksOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	var connects atomic.Int32
	Loop{
		Backoff: Backoff{Min: time.Millisecond, Max: 200 * time.Millisecond, StableAfter: time.Second},
		Connect: func(context.Context) (func(context.Context) error, error) {
			connects.Add(1)
			return func(context.Context) error { return errors.New("dropped at once") }, nil
		},
		Down: func(error) {},
	}.Run(ctx, nil)
	// 1+2+4+...+128 ms ≈ 255 ms, then 200 ms waits: about 10 in 600 ms,
	// where a reset to 1 ms would allow hundreds.
	if n := connects.Load(); n > 20 {
		t.Fatalf("%d connects in 600ms of flapping", n)
	}
	t.Logf("%d connects in 600ms of flapping", connects.Load())
}

// TestRefresh: every device is snapshotted, at most n at a time, and
// after runs once all are done.
func TestRefresh(t *testing.T) {
	for _, n := range []int{1, 3, 16} {
		var mu sync.Mutex
		running, most, done := 0, 0, map[string]bool{}
		afterSaw := -1
		devs := []string{"201", "202", "203", "204", "205", "206", "207"}
		Refresh(n, devs, func(dev string) {
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			done[dev] = true
			mu.Unlock()
		}, func() {
			mu.Lock()
			afterSaw = len(done)
			mu.Unlock()
		})
		if afterSaw != len(devs) || most > n {
			t.Errorf("n=%d: after saw %d of %d snapshots done, at most %d at once", n, afterSaw, len(devs), most)
		}
	}
}
