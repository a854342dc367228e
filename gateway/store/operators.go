package store

import (
	"context"
	"time"
)

// OperatorState is an operator's availability as the gateway last set it
// (issue 14): kept so that a restart does not make every paused operator
// available.
type OperatorState struct {
	Account string
	State   string // available or paused
	Reason  string
	Since   time.Time
}

// UserPresence is the presence a user set on a device (PUT
// /api/v1/presence/{id}): kept across restarts.
type UserPresence struct {
	Device    string // "<source>:<id>"
	Presence  string
	UpdatedAt time.Time
}

// Operators keeps operators' states and users' own presence.
type Operators interface {
	// OperatorStates returns every stored operator state.
	OperatorStates(ctx context.Context) ([]OperatorState, error)
	// PutOperatorState stores (replaces) the state of s.Account.
	PutOperatorState(ctx context.Context, s OperatorState) error
	// DeleteOperatorState forgets an account's state (no error when
	// there is none).
	DeleteOperatorState(ctx context.Context, account string) error
	// UserPresences returns every stored user presence.
	UserPresences(ctx context.Context) ([]UserPresence, error)
	// PutUserPresence stores p; an empty p.Presence deletes the device's.
	PutUserPresence(ctx context.Context, p UserPresence) error
}
