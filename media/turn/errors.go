package turn

import "errors"

// Errors callers may test for.
var (
	// ErrNoListeners is returned by New when Options names no listener.
	ErrNoListeners = errors.New("turn: no listeners")
	// ErrNoSecret is returned by New when neither a shared secret nor a
	// static user is configured: nobody could authenticate.
	ErrNoSecret = errors.New("turn: no shared secret and no static users")
	// ErrNoRelayAddress is returned by New without a relay address.
	ErrNoRelayAddress = errors.New("turn: no relay address")
	// ErrBadListener is returned for a listener that does not parse.
	ErrBadListener = errors.New("turn: bad listener")
	// ErrNoTLS is returned for a tls:// or dtls:// listener without a
	// certificate.
	ErrNoTLS = errors.New("turn: tls or dtls listener without a certificate")
	// ErrBadUsername is returned by ParseRESTUsername for a username that
	// is not "expiry:user".
	ErrBadUsername = errors.New("turn: username is not expiry:user")
	// ErrExpired is returned by ParseRESTUsername's callers for REST
	// credentials whose expiry has passed.
	ErrExpired = errors.New("turn: credentials expired")
	// ErrStarted is returned by Start when called twice.
	ErrStarted = errors.New("turn: already started")
)
