package registrar

import (
	"errors"
	"time"
)

// Expiries are the registration intervals the registrar grants (RFC 3261
// §10.3 step 7): Default when a phone asks none, Min below which it
// answers 423, Max to which longer asks are cut down.
type Expiries struct {
	Default, Min, Max time.Duration
}

// ErrBadExpiries is returned by SetExpiries for intervals out of order.
var ErrBadExpiries = errors.New("registrar: expiries must be positive with min <= default <= max")

// Expiries returns the intervals in force.
func (r *Registrar) Expiries() Expiries { return *r.exp.Load() }

// SetExpiries replaces the intervals for the REGISTERs that follow (a
// configuration reload); bindings already granted keep their expiry.
// Zero fields keep their current value.
func (r *Registrar) SetExpiries(e Expiries) error {
	cur := r.Expiries()
	if e.Default == 0 {
		e.Default = cur.Default
	}
	if e.Min == 0 {
		e.Min = cur.Min
	}
	if e.Max == 0 {
		e.Max = cur.Max
	}
	if e.Default < 0 || e.Min < 0 || e.Max < 0 || e.Min > e.Max {
		return ErrBadExpiries
	}
	r.exp.Store(&e)
	return nil
}
