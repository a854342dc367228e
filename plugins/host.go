package plugins

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrHostStopped is returned by [Host.Start] once [Host.Run] has returned.
var ErrHostStopped = errors.New("plugins: host stopped")

// ErrUnknownDriver is returned for a driver name the host does not run.
var ErrUnknownDriver = errors.New("plugins: unknown driver")

// Host runs one [Supervisor] per configured driver. Drivers can be added
// and removed while it runs (a configuration reload): [Host.Add] then
// [Host.Start], [Host.Remove]; the others are untouched.
type Host struct {
	mu     sync.Mutex
	sups   map[string]*Supervisor
	order  []string
	ctx    context.Context // Run's; nil before Run
	runs   map[string]*hostRun
	active int           // supervisors whose Run has not returned
	idle   chan struct{} // signalled when active drops to 0
	errs   []error
	done   bool // Run returned
	// gaveUp holds the drivers whose Run returned on its own (not
	// removed, Run's context alive). Run gives up only when every driver
	// has: a driver added and not yet started (Restart, a reload between
	// Add and Start) has not, so the host waits for its Start.
	gaveUp map[string]bool
}

// hostRun is one running supervisor.
type hostRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when its Run returned
}

// NewHost checks every config (names must be unique) and returns a host;
// [Host.Run] starts the drivers.
func NewHost(cfgs ...Config) (*Host, error) {
	h := &Host{sups: map[string]*Supervisor{}, runs: map[string]*hostRun{}, idle: make(chan struct{}, 1), gaveUp: map[string]bool{}}
	var errs []error
	for _, c := range cfgs {
		if _, err := h.Add(c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return h, nil
}

// Driver returns the supervisor of the named driver.
func (h *Host) Driver(name string) (*Supervisor, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sups[name]
	return s, ok
}

// Names returns the drivers in the order they were added.
func (h *Host) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.order)
}

// Add checks cfg and adds its driver, not started: a driver added before
// Run starts with Run, one added while Run runs with [Host.Start] (so that
// the caller can put monitors on its list first).
func (h *Host) Add(cfg Config) (*Supervisor, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.sups[cfg.Name]; dup {
		return nil, fmt.Errorf("driver %s: configured twice", cfg.Name)
	}
	s, err := NewSupervisor(cfg)
	if err != nil {
		return nil, err
	}
	h.sups[cfg.Name] = s
	h.order = append(h.order, cfg.Name)
	delete(h.gaveUp, cfg.Name)
	return s, nil
}

// Start starts the named driver added while Run runs; before Run it does
// nothing (Run starts it), after Run it fails with [ErrHostStopped].
func (h *Host) Start(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sups[name]; !ok {
		return fmt.Errorf("%w: %s", ErrUnknownDriver, name)
	}
	switch {
	case h.done:
		return ErrHostStopped
	case h.ctx == nil, h.runs[name] != nil:
		return nil
	}
	h.startLocked(name)
	return nil
}

// Remove stops the named driver (its process ends, its event channel is
// closed) and forgets it; it returns once the process is gone. The other
// drivers are untouched.
func (h *Host) Remove(name string) error {
	h.mu.Lock()
	if _, ok := h.sups[name]; !ok {
		h.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownDriver, name)
	}
	delete(h.sups, name)
	delete(h.gaveUp, name)
	h.order = slices.DeleteFunc(h.order, func(n string) bool { return n == name })
	r := h.runs[name]
	h.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
	return nil
}

// startLocked runs the named supervisor under Run's context. h.mu is held.
func (h *Host) startLocked(name string) {
	s := h.sups[name]
	ctx, cancel := context.WithCancel(h.ctx)
	r := &hostRun{cancel: cancel, done: make(chan struct{})}
	h.runs[name] = r
	h.active++
	go func() {
		err := s.Run(ctx)
		cancel()
		h.mu.Lock()
		if err != nil {
			h.errs = append(h.errs, err)
		}
		if h.runs[name] == r {
			delete(h.runs, name)
			if h.sups[name] == s && h.ctx.Err() == nil {
				h.gaveUp[name] = true // not removed, not stopped: it gave up
			}
		}
		h.active--
		if h.active == 0 {
			select {
			case h.idle <- struct{}{}:
			default:
			}
		}
		h.mu.Unlock()
		close(r.done)
	}()
}

// Run runs every driver until ctx ends and returns when all have stopped,
// with the errors of those that could not run. It also returns, before
// ctx ends, when every driver it runs has given up (a checksum refused);
// drivers added later then cannot start. Run may be called once.
func (h *Host) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.ctx != nil {
		h.mu.Unlock()
		return errors.New("plugins: host already ran")
	}
	h.ctx = ctx
	for _, name := range h.order {
		h.startLocked(name)
	}
	h.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
		case <-h.idle:
		}
		h.mu.Lock()
		if h.active == 0 && (ctx.Err() != nil || (len(h.sups) > 0 && len(h.gaveUp) == len(h.sups))) {
			h.done = true
			err := errors.Join(h.errs...)
			h.mu.Unlock()
			return err
		}
		h.mu.Unlock()
		if ctx.Err() != nil {
			<-h.idle // the last supervisor signals when it returns
		}
	}
}
