package accounts

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers test for with errors.Is.
var (
	// ErrBadCredentials means the name or password (or token) is wrong,
	// the account does not exist or is disabled: deliberately one error.
	ErrBadCredentials = errors.New("wrong account name or password")
	// ErrSessionExpired means a session id names no live session: never
	// issued, logged out, idle or too old, or revoked.
	ErrSessionExpired = errors.New("session expired or revoked")
	// ErrNotFound means the account or token does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means an account of that name exists already.
	ErrExists = errors.New("already exists")
	// ErrInvalid means a field breaks the rules; the message says which.
	ErrInvalid = errors.New("invalid")
	// ErrLastAdmin means the change would leave no enabled admin.
	ErrLastAdmin = errors.New("the last enabled admin cannot be removed, disabled or demoted")
	// ErrRoleTooHigh means a token was asked with more rights than its
	// owner has.
	ErrRoleTooHigh = errors.New("a token's role cannot exceed its owner's")
	// ErrForbidden means the caller may not do this to that account or
	// token.
	ErrForbidden = errors.New("forbidden")
)

// LimitedError is returned when login failures of the source or the
// account name have reached the limit; retry after RetryAfter.
type LimitedError struct{ RetryAfter time.Duration }

func (e *LimitedError) Error() string {
	return fmt.Sprintf("too many failed logins: retry in %v", e.RetryAfter.Round(time.Second))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
