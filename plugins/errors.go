package plugins

import "errors"

// Errors a driver returns (wrapped, with its own text) and callers test for
// with errors.Is. They cross the process boundary as gRPC status codes:
// the shim maps each to one code and back.
var (
	// ErrNotSupported: the driver does not declare the service
	// (codes.Unimplemented).
	ErrNotSupported = errors.New("not supported")
	// ErrNotFound: no such device, call or connection (codes.NotFound).
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: a malformed request (codes.InvalidArgument).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the call or device is not in a state that
	// allows the service (codes.FailedPrecondition).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: the driver process is down or restarting, or the
	// driver's PBX link is down (codes.Unavailable).
	ErrUnavailable = errors.New("unavailable")
	// ErrIncompatible: the driver's peer (its PBX) answers otherwise than
	// the driver expects, so restarting the driver cannot help: a Start
	// that fails with it is not retried (codes.Aborted). Its text names
	// what the driver expected.
	ErrIncompatible = errors.New("incompatible peer")
)

// ErrChecksum is returned when a driver executable does not match the
// SHA-256 named in the config; the supervisor does not start it.
var ErrChecksum = errors.New("driver executable checksum mismatch")
