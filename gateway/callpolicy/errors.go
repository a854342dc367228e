package callpolicy

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers test for with errors.Is; every refusal is a *Refusal
// wrapping one of them.
var (
	// ErrCategory means the party's class does not allow the category
	// of the number (403).
	ErrCategory = errors.New("callpolicy: destination not allowed by class of service")
	// ErrDenied means the number is on the deny-list (403).
	ErrDenied = errors.New("callpolicy: destination denied")
	// ErrTooManyCalls means the party or the trunk has as many calls as
	// its cap allows (503 with Retry-After).
	ErrTooManyCalls = errors.New("callpolicy: too many concurrent calls")
	// ErrRate means the party or the trunk placed calls faster than its
	// calls-per-second cap (503 with Retry-After).
	ErrRate = errors.New("callpolicy: call rate exceeded")
	// ErrRinging means the source or the trunk has as many calls in setup
	// as its ringing cap allows (503 with Retry-After).
	ErrRinging = errors.New("callpolicy: too many calls in setup")
)

// Refusal is a call the policy refused, with the SIP answer it maps to.
//
// Class of service and the deny-list are permanent for that number:
// 403 Forbidden, "authorization will not help, and the request SHOULD
// NOT be repeated" (RFC 3261 §21.4.4), with a reason phrase saying which
// rule refused it. The caps are transient: 503 Service Unavailable with
// Retry-After, "temporarily unable to process the request" (RFC 3261
// §21.5.4, §20.33), which is also what a trunk out of channels answers
// (RFC 3398 §7.2.4.1: cause 34, no circuit available, maps to 503).
type Refusal struct {
	// Status is 403 or 503.
	Status int
	// Reason is the reason phrase, as "Forbidden (international)".
	Reason string
	// RetryAfter is set with 503: when to try again (whole seconds).
	RetryAfter time.Duration
	// Category is the number's category.
	Category Category
	err      error
	detail   string
}

func (r *Refusal) Error() string { return fmt.Sprintf("%v: %s", r.err, r.detail) }

// Unwrap returns the sentinel error.
func (r *Refusal) Unwrap() error { return r.err }

func forbidden(err error, cat Category, why, detail string) *Refusal {
	return &Refusal{Status: 403, Reason: "Forbidden (" + why + ")", Category: cat, err: err, detail: detail}
}

func unavailable(err error, cat Category, why string, after time.Duration, detail string) *Refusal {
	if after < time.Second {
		after = time.Second
	}
	return &Refusal{Status: 503, Reason: "Service Unavailable (" + why + ")", RetryAfter: after.Round(time.Second),
		Category: cat, err: err, detail: detail}
}
