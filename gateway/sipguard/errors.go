package sipguard

import "errors"

// Sentinel errors. Callers test for them with errors.Is.
var (
	// ErrMalformed is wrapped by every syntax error Check reports. The
	// wrapping error's Reason gives a short phrase fit for a 400 reason.
	ErrMalformed = errors.New("sipguard: malformed SIP message")
	// ErrTooLarge reports a message larger than the allowed size
	// (RFC 3261 §21.5.14, 513 Message Too Large).
	ErrTooLarge = errors.New("sipguard: message too large")
	// ErrUnsupportedScheme reports a well-formed request whose Request-URI
	// scheme is not sip, sips or tel: it gets 416 (RFC 3261 §8.2.2.1,
	// RFC 4475 §3.3.2, §3.3.3).
	ErrUnsupportedScheme = errors.New("sipguard: unsupported Request-URI scheme")
	// ErrVersionNotSupported reports a request of another SIP version: it
	// gets 505 (RFC 3261 §21.5.6, RFC 4475 §3.1.2.16).
	ErrVersionNotSupported = errors.New("sipguard: SIP version not supported")
	// ErrBanned is returned by listeners' internal filters for a banned source.
	ErrBanned = errors.New("sipguard: source banned")
	// ErrTooManyConns reports a source over Options.MaxConnsPerIP.
	ErrTooManyConns = errors.New("sipguard: too many connections from source")
	// ErrHandshake reports a rejected WebSocket upgrade request.
	ErrHandshake = errors.New("sipguard: websocket handshake rejected")
)

// MalformedError is the error Check returns for a syntax problem. It wraps
// ErrMalformed.
type MalformedError struct {
	// Reason is a short, fixed phrase such as "missing Call-ID"; it never
	// contains text taken from the message.
	Reason string
}

func (e *MalformedError) Error() string { return "sipguard: malformed SIP message: " + e.Reason }

// Unwrap returns ErrMalformed.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

func malformed(reason string) *MalformedError { return &MalformedError{Reason: reason} }

// Preallocated so Check does not allocate on the error path.
var (
	errEmpty         = malformed("empty message")
	errStartLine     = malformed("bad start line")
	errRequestURI    = malformed("bad Request-URI")
	errVersion       = malformed("bad SIP version")
	errStatusLine    = malformed("bad status line")
	errLineEnding    = malformed("bad line ending")
	errHeaderName    = malformed("bad header name")
	errHeaderValue   = malformed("bad header value")
	errUnterminated  = malformed("header section not terminated")
	errContinuation  = malformed("bad header folding")
	errVia           = malformed("bad Via")
	errFrom          = malformed("bad From")
	errTo            = malformed("bad To")
	errCallID        = malformed("bad Call-ID")
	errCSeq          = malformed("bad CSeq")
	errCSeqMethod    = malformed("CSeq method mismatch")
	errMaxForwards   = malformed("bad Max-Forwards")
	errContentLength = malformed("bad Content-Length")
	errContentType   = malformed("bad Content-Type")
	errContact       = malformed("bad Contact")
	errRoute         = malformed("bad Route")
	errRecordRoute   = malformed("bad Record-Route")
	errReferTo       = malformed("bad Refer-To")
	errReferredBy    = malformed("bad Referred-By")
	errMissingVia    = malformed("missing Via")
	errMissingFrom   = malformed("missing From")
	errMissingTo     = malformed("missing To")
	errMissingCallID = malformed("missing Call-ID")
	errMissingCSeq   = malformed("missing CSeq")
	errMissingCL     = malformed("missing Content-Length")
	errDuplicate     = malformed("duplicate header")
	errBodyShort     = malformed("body shorter than Content-Length")
)

// rejection returns the status code and reason phrase with which a request
// that failed Check with err is answered.
func rejection(err error) (int, string) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return statusTooLarge, tooLargePhrase
	case errors.Is(err, ErrUnsupportedScheme):
		return statusUnsupportedScheme, "Unsupported URI Scheme"
	case errors.Is(err, ErrVersionNotSupported):
		return statusVersion, "Version Not Supported"
	}
	return statusBadRequest, badRequestPhrase(err)
}

// reasonOf returns the short reason of a Check error.
func reasonOf(err error) string {
	var me *MalformedError
	if errors.As(err, &me) {
		return me.Reason
	}
	return "malformed message"
}
