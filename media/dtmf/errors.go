package dtmf

import "errors"

var (
	// ErrNotDTMF: the body's Content-Type is not one of the DTMF INFO
	// types (application/dtmf-relay, application/dtmf).
	ErrNotDTMF = errors.New("dtmf: not a DTMF INFO body")
	// ErrBadSignal: the body names no digit of RFC 4733 §3.2 (0-9, *, #,
	// A-D, flash) or is malformed.
	ErrBadSignal = errors.New("dtmf: no valid signal in the body")
)
