package webphone

import "errors"

var (
	// ErrNoAccounts: Options.Accounts is required.
	ErrNoAccounts = errors.New("webphone: no account lookup")

	// ErrBadCredentials: unknown user or wrong password (the two are not
	// told apart).
	ErrBadCredentials = errors.New("webphone: wrong username or password")

	// ErrLimited: the source failed too often lately.
	ErrLimited = errors.New("webphone: too many failed logins from this source")

	// ErrBanned: the source is banned (security.ban), here as for SIP.
	ErrBanned = errors.New("webphone: source banned")

	// ErrMalformed: a login body or Authorization header that cannot be read.
	ErrMalformed = errors.New("webphone: malformed credentials")
)
