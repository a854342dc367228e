package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

// fakeStore records ApplyBindings batches. When gate is set, each commit
// first waits for a value from it. A change to an AOR in fail makes the
// commit fail.
type fakeStore struct {
	store.Store // nil: only ApplyBindings is called

	gate  chan struct{}
	fail  string
	delay time.Duration // each commit takes this long

	mu      sync.Mutex
	batches [][]string // AORs (or "-AOR" for deletes) per commit
}

var errBoom = errors.New("boom")

func (f *fakeStore) ApplyBindings(ctx context.Context, changes []store.BindingChange) error {
	if f.gate != nil {
		<-f.gate
	}
	time.Sleep(f.delay)
	var aors []string
	for _, c := range changes {
		if c.Put != nil {
			if c.Put.AOR == f.fail {
				return fmt.Errorf("apply: %w", errBoom)
			}
			aors = append(aors, c.Put.AOR)
		} else {
			aors = append(aors, "-"+c.Delete.AOR)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, aors)
	return nil
}

func (f *fakeStore) committed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Concat(f.batches...)
}

func put(aor string) store.BindingChange {
	return store.PutBinding(store.Binding{AOR: aor, ContactURI: "sip:" + aor})
}

// applyAsync runs Apply in a goroutine and returns where its result arrives.
func applyAsync(ctx context.Context, w *store.Writer, changes ...store.BindingChange) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- w.Apply(ctx, changes...) }()
	return ch
}

func TestWriterIdleCommitsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{}
		w := store.NewWriter(f, store.WriterOptions{MaxDelay: time.Second})
		defer w.Close()
		start := time.Now()
		if err := w.Apply(t.Context(), put("a")); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("idle Apply took %v of (fake) time; want no hold", d)
		}
		if got := f.committed(); !slices.Equal(got, []string{"a"}) {
			t.Errorf("committed %v", got)
		}
	})
}

func TestWriterGroupsWhileCommitInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{gate: make(chan struct{})}
		w := store.NewWriter(f, store.WriterOptions{MaxBatch: 4, MaxDelay: -1})
		first := applyAsync(t.Context(), w, put("a"))
		synctest.Wait() // "a" is being committed
		var rest []<-chan error
		for _, aor := range []string{"b", "c", "d", "e", "f", "g"} {
			rest = append(rest, applyAsync(t.Context(), w, put(aor)))
			synctest.Wait() // queue in a known order
		}
		big := applyAsync(t.Context(), w, put("h1"), put("h2"), put("h3"), put("h4"), put("h5"))
		synctest.Wait()
		go func() {
			for range 4 {
				f.gate <- struct{}{}
			}
		}()
		for _, ch := range append([]<-chan error{first, big}, rest...) {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		want := [][]string{{"a"}, {"b", "c", "d", "e"}, {"f", "g"}, {"h1", "h2", "h3", "h4", "h5"}}
		if !slices.EqualFunc(f.batches, want, slices.Equal) {
			t.Errorf("batches = %v, want %v", f.batches, want)
		}
	})
}

// TestWriterHold checks that a batch formed during a commit is held while it
// grows, and that no Apply waits much longer than MaxDelay plus commits.
func TestWriterHold(t *testing.T) {
	const (
		maxDelay = 16 * time.Millisecond // hold step 1ms
		commit   = 3 * time.Millisecond
	)
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{delay: commit}
		w := store.NewWriter(f, store.WriterOptions{MaxDelay: maxDelay})
		defer w.Close()

		// A steady stream, one change per 500µs for 40ms.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var worst time.Duration
		for i := range 80 {
			wg.Go(func() {
				t0 := time.Now()
				if err := w.Apply(t.Context(), put(fmt.Sprint(i))); err != nil {
					t.Error(err)
				}
				mu.Lock()
				worst = max(worst, time.Since(t0))
				mu.Unlock()
			})
			time.Sleep(500 * time.Microsecond)
		}
		wg.Wait()
		if len(f.batches) > 6 {
			t.Errorf("%d commits for a steady stream of 80, want few: %v", len(f.batches), f.batches)
		}
		if limit := maxDelay + commit; worst > limit {
			t.Errorf("slowest Apply took %v, want at most MaxDelay+commit = %v", worst, limit)
		}

		// A quiet spell, then one Apply: committed at once.
		time.Sleep(time.Second)
		t0 := time.Now()
		if err := w.Apply(t.Context(), put("lone")); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d != commit {
			t.Errorf("lone Apply took %v, want just the commit (%v)", d, commit)
		}

		// Five callers queue during a commit and then nothing more comes:
		// their batch goes one hold step after the commit, not after
		// MaxDelay.
		time.Sleep(time.Second)
		n := len(f.batches)
		first := applyAsync(t.Context(), w, put("first"))
		time.Sleep(time.Millisecond)
		t0 = time.Now()
		var group []<-chan error
		for i := range 5 {
			group = append(group, applyAsync(t.Context(), w, put(fmt.Sprint("g", i))))
		}
		for _, ch := range append(group, first) {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		if d, limit := time.Since(t0), 2*commit+time.Millisecond; d > limit {
			t.Errorf("a batch that stopped growing waited %v, want at most %v", d, limit)
		}
		if got := len(f.batches) - n; got != 2 {
			t.Errorf("%d commits, want 2: %v", got, f.batches[n:])
		}
	})
}

func TestWriterCommitErrorIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{gate: make(chan struct{}), fail: "bad"}
		w := store.NewWriter(f, store.WriterOptions{MaxDelay: -1})
		defer w.Close()
		first := applyAsync(t.Context(), w, put("a"))
		synctest.Wait()
		good := applyAsync(t.Context(), w, put("b"))
		bad := applyAsync(t.Context(), w, put("c"), put("bad"))
		good2 := applyAsync(t.Context(), w, put("d"))
		synctest.Wait()
		close(f.gate)
		for _, ch := range []<-chan error{first, good, good2} {
			if err := <-ch; err != nil {
				t.Errorf("Apply: %v", err)
			}
		}
		if err := <-bad; !errors.Is(err, errBoom) {
			t.Errorf("bad Apply error = %v, want errBoom", err)
		}
		got := f.committed()
		slices.Sort(got)
		if !slices.Equal(got, []string{"a", "b", "d"}) {
			t.Errorf("committed %v, want [a b d]: nothing of the failed Apply", got)
		}
	})
}

func TestWriterInvalid(t *testing.T) {
	f := &fakeStore{}
	w := store.NewWriter(f, store.WriterOptions{})
	defer w.Close()
	for _, c := range []store.BindingChange{{}, store.PutBinding(store.Binding{}), store.DeleteBinding("", "")} {
		if err := w.Apply(t.Context(), put("ok"), c); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Apply(%+v) error = %v, want ErrInvalid", c, err)
		}
	}
	if err := w.Apply(t.Context()); err != nil {
		t.Errorf("Apply() with no changes = %v", err)
	}
	if got := f.committed(); len(got) != 0 {
		t.Errorf("invalid Apply committed %v", got)
	}
}

func TestWriterCanceledWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{gate: make(chan struct{})}
		w := store.NewWriter(f, store.WriterOptions{MaxDelay: -1})
		first := applyAsync(t.Context(), w, put("a"))
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		queued := applyAsync(ctx, w, put("withdrawn"))
		synctest.Wait()
		cancel()
		if err := <-queued; !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled Apply error = %v, want context.Canceled", err)
		}
		close(f.gate)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		w.Close()
		if got := f.committed(); !slices.Equal(got, []string{"a"}) {
			t.Errorf("committed %v, want [a]: a withdrawn change must not commit", got)
		}
	})
}

func TestWriterCanceledInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{gate: make(chan struct{})}
		w := store.NewWriter(f, store.WriterOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		res := applyAsync(ctx, w, put("a"))
		synctest.Wait() // taken, commit blocked
		cancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply error = %v, want context.Canceled", err)
		}
		close(f.gate)
		w.Close()
		if got := f.committed(); !slices.Equal(got, []string{"a"}) {
			t.Errorf("committed %v", got)
		}
	})
}

// TestWriterCloseFlushes checks Close commits what is queued, refuses what
// comes after and leaves no goroutine behind (synctest fails the test if a
// goroutine of the bubble is still blocked at the end).
func TestWriterCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeStore{gate: make(chan struct{})}
		w := store.NewWriter(f, store.WriterOptions{MaxDelay: time.Hour})
		var pending []<-chan error
		for _, aor := range []string{"a", "b", "c", "d"} {
			pending = append(pending, applyAsync(t.Context(), w, put(aor)))
			synctest.Wait()
		}
		closed := make(chan error)
		go func() { closed <- w.Close() }()
		synctest.Wait()
		if err := w.Apply(t.Context(), put("late")); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Apply during Close: error = %v, want ErrClosed", err)
		}
		close(f.gate)
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, ch := range pending {
			if err := <-ch; err != nil {
				t.Errorf("queued Apply: %v", err)
			}
		}
		if got := f.committed(); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
			t.Errorf("committed %v, want [a b c d]", got)
		}
		if err := w.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := w.Apply(t.Context(), put("later")); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Apply after Close: error = %v, want ErrClosed", err)
		}
	})
}

// TestWriterOrderPerGoroutine checks that each goroutine's changes commit in
// the order it applied them.
func TestWriterOrderPerGoroutine(t *testing.T) {
	f := &fakeStore{}
	w := store.NewWriter(f, store.WriterOptions{MaxBatch: 7})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if err := w.Apply(context.Background(), put(fmt.Sprintf("%d/%03d", g, i))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	last := map[string]string{}
	for _, aor := range f.committed() {
		g := aor[:1]
		if aor <= last[g] {
			t.Fatalf("%s committed after %s", aor, last[g])
		}
		last[g] = aor
	}
	if n := len(f.committed()); n != 800 {
		t.Fatalf("committed %d, want 800", n)
	}
}

func TestWriterMutationAfterApply(t *testing.T) {
	f := &fakeStore{}
	w := store.NewWriter(f, store.WriterOptions{})
	defer w.Close()
	b := store.Binding{AOR: "a", ContactURI: "sip:a", Path: []string{"p1"}}
	c := store.PutBinding(b)
	if err := w.Apply(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	c.Put.Path[0] = "changed" // the caller's copy; must not race with anything
}
