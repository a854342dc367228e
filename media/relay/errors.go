package relay

import "errors"

var (
	// ErrPortsExhausted is returned by Relay.NewSession when no even/odd
	// port pair of the configured range can be bound.
	ErrPortsExhausted = errors.New("relay: RTP port range exhausted")

	// ErrClosed is returned when the Relay has been closed.
	ErrClosed = errors.New("relay: closed")

	// ErrInvalidConfig is wrapped by the errors of Config validation.
	ErrInvalidConfig = errors.New("relay: invalid config")
)
