package digest

import "errors"

// Errors returned by ParseCredentials and Verify. They may be wrapped with
// context; test for them with errors.Is.
var (
	// ErrMalformed means the header value or credentials cannot be used at
	// all (syntax error, missing or duplicated parameter). The peer gets 400
	// or a fresh challenge.
	ErrMalformed = errors.New("digest: malformed credentials")

	// ErrStale means the response was computed correctly but on a nonce that
	// has expired (RFC 7616 §3.3, stale). Re-challenge with
	// Challenges(true) so the client retries without asking its user.
	ErrStale = errors.New("digest: stale nonce")

	// ErrInvalid means the credentials are not accepted: wrong password,
	// unknown user, wrong realm, wrong opaque or a nonce that we did not
	// issue. These cases are deliberately not told apart: a wrong password
	// and an unknown user return the very same value, after the same work.
	ErrInvalid = errors.New("digest: invalid credentials")

	// ErrReplay means the nonce count was already used with this nonce, or
	// is too far below the highest one seen to be checked (RFC 7616 §3.4,
	// §5.12).
	ErrReplay = errors.New("digest: replayed nonce count")

	// ErrAlgorithm means the credentials use an algorithm, qop or option
	// this Authenticator did not offer (RFC 8760 §2, RFC 7616 §3.4), or omit
	// qop while Options.RequireQOP is set.
	ErrAlgorithm = errors.New("digest: algorithm not offered")
)
