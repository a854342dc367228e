package store

import (
	"context"
	"time"
)

// Account is a login of the HTTPS side (issue 14): an operator,
// supervisor or admin. Only a password hash is kept (PHC string, argon2id).
type Account struct {
	Name        string
	DisplayName string
	// Role is "operator", "supervisor" or "admin" (accounts.Role).
	Role string
	// Groups are the operator groups the account belongs to, sorted.
	Groups []string
	// Device is the operator's own phone as a northbound device id,
	// "<source>:<id>" (gateway:u1000, mitel1:1001); "" when none.
	Device       string
	PasswordHash string
	Disabled     bool
	// CreatedAt and UpdatedAt are set by the store (UTC, microseconds).
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Session is a browser login. Only the hash of the session id (the
// cookie value) is stored, so a copy of the database logs nobody in.
type Session struct {
	IDHash    string // lowercase hex SHA-256 of the session id
	Account   string
	Source    string // address the login came from
	CreatedAt time.Time
	LastSeen  time.Time
}

// Token is an API token for a server (Authorization: Bearer). Only the
// hash of its secret is stored; the token is shown once when made.
type Token struct {
	ID        string // public id, names the token in the API
	Hash      string // lowercase hex SHA-256 of the secret part
	Name      string
	Account   string // owner
	Role      string // at most the owner's role
	CreatedAt time.Time
	// Expires is when the token stops working; zero: never.
	Expires time.Time
}

// AccountStore keeps accounts, their sessions and their API tokens.
// Deleting an account deletes its sessions and tokens.
type AccountStore interface {
	// AddAccount inserts an account; an existing name fails with an
	// error wrapping ErrExists.
	AddAccount(ctx context.Context, a Account) error
	// UpdateAccount replaces every field of an existing account but
	// CreatedAt, or fails with an error wrapping ErrNotFound.
	UpdateAccount(ctx context.Context, a Account) error
	// Account returns one account, or an error wrapping ErrNotFound.
	Account(ctx context.Context, name string) (Account, error)
	// Accounts returns every account, sorted by name.
	Accounts(ctx context.Context) ([]Account, error)
	// DeleteAccount removes an account with its sessions and tokens, or
	// fails with an error wrapping ErrNotFound.
	DeleteAccount(ctx context.Context, name string) error

	// PutSession inserts a session.
	PutSession(ctx context.Context, s Session) error
	// Session returns the session with this id hash, or an error
	// wrapping ErrNotFound.
	Session(ctx context.Context, idHash string) (Session, error)
	// TouchSession sets a session's LastSeen.
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	// DeleteSession removes one session, or fails with an error
	// wrapping ErrNotFound.
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteAccountSessions removes every session of an account and
	// returns how many.
	DeleteAccountSessions(ctx context.Context, account string) (int, error)
	// DeleteStaleSessions removes sessions last seen before idleBefore
	// or created before createdBefore, and returns how many.
	DeleteStaleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error)
	// LiveSessions counts, per account, the sessions last seen at or
	// after idleAfter and created at or after createdAfter.
	LiveSessions(ctx context.Context, idleAfter, createdAfter time.Time) (map[string]int, error)

	// AddToken inserts a token; an existing id fails with ErrExists.
	AddToken(ctx context.Context, t Token) error
	// Token returns one token, or an error wrapping ErrNotFound.
	Token(ctx context.Context, id string) (Token, error)
	// Tokens returns the tokens of account, or every token when account
	// is "", sorted by id.
	Tokens(ctx context.Context, account string) ([]Token, error)
	// DeleteToken removes a token, or fails with ErrNotFound.
	DeleteToken(ctx context.Context, id string) error
}
