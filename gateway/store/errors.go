package store

import "errors"

// Errors callers test for with errors.Is. Stores wrap them with context, for
// example "add user \"alice\": already exists".
var (
	// ErrNotFound means the user, ban or setting asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means an insert-only call met a record that already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid means a value given to the store breaks its rules (an empty
	// username, a BindingChange with both or neither side set, ...).
	ErrInvalid = errors.New("invalid value")
	// ErrClosed means the Writer was closed before the call was made.
	ErrClosed = errors.New("closed")
)
