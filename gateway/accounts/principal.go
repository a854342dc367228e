// Package accounts holds who may use the gateway's HTTPS side: operators,
// supervisors and admins (issue 14), their sessions and API tokens, and the
// admin account created at first start (issue 15).
//
// This file is the contract the HTTP handlers code against: a handler is
// registered through the admin server's require(role, h), and finds the
// caller with PrincipalFrom. The store behind it (hashed passwords,
// sessions with expiry and revocation, tokens) lives beside it.
package accounts

import "context"

// Role is what an account may do. Roles are ordered: an admin may do what
// a supervisor may, a supervisor what an operator may.
type Role string

// The roles, weakest first.
const (
	RoleOperator   Role = "operator"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleOperator:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether an account of role r may do what needs role need.
// An unknown role allows nothing.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// Principal is the authenticated caller of one request.
type Principal struct {
	// Account is the account's login name.
	Account string
	// Role is the account's role.
	Role Role
	// Groups are the operator groups the account belongs to; actions on
	// a group's queue or devices are checked against them.
	Groups []string
	// Via says how the caller proved who it is: "session" (cookie),
	// "token" (API token, Bearer) or "basic" (HTTP Basic).
	Via string
}

// The first start with an empty account store creates an admin account
// with a random password, prints it once and writes it to this file in
// data_dir (mode 0600), so that an operator (and the tests) can log in.
const (
	FirstRunAccount = "admin"
	FirstRunFile    = "admin.password"
)

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of an authenticated request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
