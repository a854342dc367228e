package store

import (
	"fmt"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
)

// Limits of CallQuery.Limit.
const (
	DefaultCallLimit = 50
	MaxCallLimit     = 1000
)

// CallQuery selects a page of call history.
type CallQuery struct {
	// Parties selects records in which any of Caller, Callee, Target and
	// AnsweredBy equals one of these values (a user's name and
	// extension). Empty selects every record.
	Parties []string
	// Before, when set, selects only records older than this position:
	// Setup before Before, or Setup equal to it and ID less than
	// BeforeID (keyset paging; pass the last record of the previous
	// page).
	Before   time.Time
	BeforeID string
	// Limit is the most records returned: 1 to MaxCallLimit; 0 means
	// DefaultCallLimit.
	Limit int
}

// Normalize checks q and fills in the default limit. Errors wrap
// ErrInvalid.
func (q CallQuery) Normalize() (CallQuery, error) {
	switch {
	case q.Limit == 0:
		q.Limit = DefaultCallLimit
	case q.Limit < 0 || q.Limit > MaxCallLimit:
		return q, fmt.Errorf("call query: limit %d out of range 1..%d: %w", q.Limit, MaxCallLimit, ErrInvalid)
	}
	if q.BeforeID != "" && q.Before.IsZero() {
		return q, fmt.Errorf("call query: before id without before time: %w", ErrInvalid)
	}
	return q, nil
}

// ValidateRecord reports, wrapping ErrInvalid, whether r cannot be stored:
// an empty ID.
func ValidateRecord(r cdr.Record) error {
	if r.ID == "" {
		return fmt.Errorf("call record %q: empty id: %w", r.CallID, ErrInvalid)
	}
	return nil
}
