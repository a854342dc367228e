package digest

import "errors"

// Errors returned by ParseCredentials and Verify. They may be wrapped with
// context; test for them with errors.Is.
var (
	// ErrMalformed means the header value or credentials cannot be used at
	// all (syntax error, missing or duplicated parameter). The peer gets 400
	// or a fresh challenge.
	ErrMalformed = errors.New("digest: malformed credentials")

	// ErrStale means the nonce cannot be used any more, though the client
	// may well know the password: the response was correct on an expired
	// nonce (RFC 7616 §3.3, stale), the nonce count was replayed (wrapped
	// with ErrReplay), or the nonce was issued to another client address
	// (wrapped with ErrForeignNonce). Re-challenge with stale=true so the
	// client retries without asking its user; it is no evidence of a wrong
	// password.
	ErrStale = errors.New("digest: stale nonce")

	// ErrInvalid means the credentials are not accepted on a nonce issued
	// to this client: wrong password, unknown user, wrong realm or wrong
	// opaque. These cases are deliberately not told apart: a wrong password
	// and an unknown user return the very same value, after the same work.
	// Since the nonce was issued to the request's source address, the
	// source received our challenge: the failure is evidence against it.
	ErrInvalid = errors.New("digest: invalid credentials")

	// ErrNonce means the nonce was not issued by this Authenticator (forged,
	// garbled, from another realm or secret, or too far in the future).
	// Re-challenge; over UDP the source address may be spoofed, so this is
	// no evidence against it.
	ErrNonce = errors.New("digest: nonce not issued by us")

	// ErrForeignNonce, always wrapped together with ErrStale, means the nonce
	// was issued to another client address: a phone whose address changed,
	// or someone replaying what they saw. The response is not checked.
	ErrForeignNonce = errors.New("digest: nonce issued to another address")

	// ErrReplay, always wrapped together with ErrStale, means the nonce
	// count was already used with this nonce, or is too far below the
	// highest one seen to be checked (RFC 7616 §3.4, §5.12).
	ErrReplay = errors.New("digest: replayed nonce count")

	// ErrAlgorithm means the credentials use an algorithm, qop or option
	// this Authenticator did not offer (RFC 8760 §2, RFC 7616 §3.4), or omit
	// qop while Options.AllowNoQOP is not set.
	ErrAlgorithm = errors.New("digest: algorithm not offered")
)
