package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Host runs one [Supervisor] per configured driver.
type Host struct {
	sups  map[string]*Supervisor
	order []string
}

// NewHost checks every config (names must be unique) and returns a host;
// [Host.Run] starts the drivers.
func NewHost(cfgs ...Config) (*Host, error) {
	h := &Host{sups: map[string]*Supervisor{}}
	var errs []error
	for _, c := range cfgs {
		if _, dup := h.sups[c.Name]; dup {
			errs = append(errs, fmt.Errorf("driver %s: configured twice", c.Name))
			continue
		}
		s, err := NewSupervisor(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		h.sups[c.Name] = s
		h.order = append(h.order, c.Name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return h, nil
}

// Driver returns the supervisor of the named driver.
func (h *Host) Driver(name string) (*Supervisor, bool) {
	s, ok := h.sups[name]
	return s, ok
}

// Names returns the configured drivers in config order.
func (h *Host) Names() []string { return append([]string(nil), h.order...) }

// Run runs every driver until ctx ends and returns when all have stopped,
// with the errors of those that could not run.
func (h *Host) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(h.order))
	for i, name := range h.order {
		wg.Go(func() { errs[i] = h.sups[name].Run(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
