package b2bua

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Errors callers test for with errors.Is.
var (
	// ErrNoRoute means no trunk matches the dialled number (404).
	ErrNoRoute = errors.New("b2bua: no route for number")
	// ErrNoDialog means an in-dialog request matched no dialog (481,
	// RFC 3261 §12.2.2).
	ErrNoDialog = errors.New("b2bua: no such dialog")
	// ErrNotSupported means a request this slice does not handle yet, such
	// as a re-INVITE (488).
	ErrNotSupported = errors.New("b2bua: not supported")
	// ErrRejected means the far end answered with a final error status.
	ErrRejected = errors.New("b2bua: rejected by callee")
	// ErrCancelled means the caller sent CANCEL before the answer (487).
	ErrCancelled = errors.New("b2bua: cancelled by caller")
	// ErrMediaTimeout means no RTP flowed either way for the media timeout.
	ErrMediaTimeout = errors.New("b2bua: media timeout")
	// ErrUnavailable means a local user has no device registered, or none
	// could be reached (480).
	ErrUnavailable = errors.New("b2bua: callee unavailable")
	// ErrNoAnswer means nobody answered within the ringing time (480).
	ErrNoAnswer = errors.New("b2bua: no answer")
	// ErrBadNumber means the numbering plan cannot make a number the trunk
	// takes out of the dialled one (484).
	ErrBadNumber = errors.New("b2bua: number not callable")
	// ErrLoop means the INVITE is one of ours coming back (482, RFC 3261
	// §16.3 step 4).
	ErrLoop = errors.New("b2bua: loop detected")
	// ErrTooManyHops means the INVITE's Max-Forwards is 0 (483, RFC 3261
	// §16.3 step 3).
	ErrTooManyHops = errors.New("b2bua: too many hops")
)

// errNoAck: the caller never acknowledged our 2xx (RFC 3261 §13.3.1.4).
var errNoAck = errors.New("b2bua: no ACK for 2xx")

// Cause is why a call ended, as written to the CDR (a later slice).
type Cause string

// Causes.
const (
	CauseNormal       Cause = "normal"
	CauseNoRoute      Cause = "no_route"
	CauseBusy         Cause = "busy"
	CauseRejected     Cause = "rejected"
	CauseCancelled    Cause = "cancelled"
	CauseUnavailable  Cause = "trunk_unavailable"
	CauseMedia        Cause = "media_error"
	CauseMediaTimeout Cause = "media_timeout"
	CauseInternal     Cause = "internal_error"
	CauseNotReachable Cause = "user_unavailable"
	CauseNoAnswer     Cause = "no_answer"
	CauseLoop         Cause = "loop"
	// CauseSessionExpired: a session timer ran out (RFC 4028 §10, timer.go).
	CauseSessionExpired Cause = "session_expired"
)

// statusError is a far end's final status, kept so the same code goes back
// to the caller.
type statusError struct {
	code   int
	reason string
}

func (e *statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.reason) }
func (e *statusError) Unwrap() error { return ErrRejected }

// outcome is what an error means for the caller: the final status to send
// (RFC 3261 §21), an optional Warning (RFC 3261 §20.43), and the CDR cause.
type outcome struct {
	Status  int
	Reason  string
	Warning string
	Cause   Cause
	// RetryAfter, in seconds, goes with a 503 (RFC 3261 §20.33). Optional.
	RetryAfter string
	// Accept goes with a 415 (RFC 3261 §21.4.13). Optional.
	Accept string
	// Headers are the callee's headers relayed with its final status
	// (relayed.go: Contact of a 3xx, Retry-After, Warning, Min-SE...).
	Headers []sip.Header
}

// portsRetryAfter is the Retry-After of the 503 sent when the relay has no
// port pair left: calls end and give theirs back within minutes, and a
// client that retries at once only adds load (RFC 3261 §21.5.4).
const portsRetryAfter = "30"

// classify maps an error to the caller's final response and the CDR cause.
func classify(err error) outcome {
	if o, ok := policyOutcome(err); ok { // policy.go
		return o
	}
	var se *statusError
	switch {
	case err == nil:
		return outcome{Status: 200, Reason: "OK", Cause: CauseNormal}
	case errors.As(err, &se):
		o := outcome{Status: se.code, Reason: se.reason, Cause: CauseRejected, Headers: relayedHeaders(err)}
		switch {
		case se.code == 486 || se.code == 600:
			o.Cause = CauseBusy
		case se.code == 401 || se.code == 407:
			// The trunk wants credentials we do not have, or refused ours
			// (trunkauth.go): not the caller's to answer (RFC 3261 §16.7
			// step 6 for proxies, same idea), and no use trying elsewhere
			// or later as a 503 would say (§21.5.4): 403 (§21.4.4).
			o.Status, o.Reason = 403, "Forbidden"
			o.Cause, o.Headers = CauseUnavailable, nil
		case se.code == 503 || se.code == 408:
			o.Cause = CauseUnavailable
		}
		return o
	case errors.Is(err, ErrNoRoute):
		return outcome{Status: 404, Reason: "Not Found", Cause: CauseNoRoute}
	case errors.Is(err, ErrNoDialog):
		return outcome{Status: 481, Reason: "Call/Transaction Does Not Exist", Cause: CauseInternal}
	case errors.Is(err, ErrNotSupported):
		return outcome{Status: 488, Reason: "Not Acceptable Here", Cause: CauseInternal}
	case errors.Is(err, ErrUnavailable):
		return outcome{Status: 480, Reason: "Temporarily Unavailable", Cause: CauseNotReachable}
	case errors.Is(err, ErrNoAnswer):
		return outcome{Status: 480, Reason: "Temporarily Unavailable", Cause: CauseNoAnswer}
	case errors.Is(err, ErrBadNumber):
		return outcome{Status: 484, Reason: "Address Incomplete", Cause: CauseNoRoute}
	case errors.Is(err, ErrLoop):
		return outcome{Status: 482, Reason: "Loop Detected", Cause: CauseLoop}
	case errors.Is(err, ErrTooManyHops):
		return outcome{Status: 483, Reason: "Too Many Hops", Cause: CauseLoop}
	case errors.Is(err, ErrCancelled):
		return outcome{Status: 487, Reason: "Request Terminated", Cause: CauseCancelled}
	case errors.Is(err, ErrMediaTimeout):
		return outcome{Status: 408, Reason: "Request Timeout", Cause: CauseMediaTimeout}
	case errors.Is(err, ErrSessionExpired): // timer.go
		return outcome{Status: 408, Reason: "Request Timeout", Cause: CauseSessionExpired}
	case errors.Is(err, dnssrv.ErrAllFailed):
		return outcome{Status: 503, Reason: "Service Unavailable", Cause: CauseUnavailable}
	case errors.Is(err, relay.ErrPortsExhausted):
		// Overload of ours, not a fault: 503 with Retry-After, not 500
		// (RFC 3261 §21.5.4).
		return outcome{Status: 503, Reason: "Service Unavailable", Cause: CauseMedia, RetryAfter: portsRetryAfter}
	case errors.Is(err, ErrUnsupportedBody): // body.go
		return outcome{Status: 415, Reason: "Unsupported Media Type", Cause: CauseMedia, Accept: acceptBodies}
	}
	if code, text, ok := sdp.Warning(err); ok {
		return outcome{Status: 488, Reason: "Not Acceptable Here", Cause: CauseMedia,
			Warning: fmt.Sprintf("%d switchboard %q", code, text)}
	}
	return outcome{Status: 500, Reason: "Server Internal Error", Cause: CauseInternal}
}
