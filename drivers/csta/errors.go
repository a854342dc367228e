package csta

import "errors"

// Errors callers test for with errors.Is. Errors returned by this package wrap
// one of these, adding detail (the offending value, the invoke ID).
var (
	// ErrBadFormat: the frame header's format indicator is not 0x0000
	// (XML without SOAP). The stream can't be resynchronised.
	ErrBadFormat = errors.New("csta: bad frame format indicator")
	// ErrBadLength: the header's length is below the header size. The stream
	// can't be resynchronised.
	ErrBadLength = errors.New("csta: bad frame length")
	// ErrFrameTooLarge: a frame or document is larger than the configured
	// limit. When a Framer returns it on read the oversized body has been
	// skipped, so the stream is still in step and reading may go on.
	ErrFrameTooLarge = errors.New("csta: frame too large")
	// ErrBadInvokeID: the invoke ID is not four ASCII digits, or a value
	// outside 0000-9999 was given to a writer.
	ErrBadInvokeID = errors.New("csta: bad invoke ID")
	// ErrTruncated: the stream ended inside a frame.
	ErrTruncated = errors.New("csta: truncated frame")

	// ErrMalformed: the payload is not a well-formed XML document.
	ErrMalformed = errors.New("csta: malformed XML")
	// ErrInvalidUTF8: the payload is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("csta: invalid UTF-8")
	// ErrTooDeep: elements nest deeper than the decoder's MaxDepth.
	ErrTooDeep = errors.New("csta: XML nesting too deep")
	// ErrDoctype: the document carries a DOCTYPE or other directive. CSTA
	// never needs one, and refusing it closes the door on entity bombs.
	ErrDoctype = errors.New("csta: DOCTYPE and directives are not allowed")
	// ErrNoRoot: the document has no root element.
	ErrNoRoot = errors.New("csta: no root element")

	// ErrClosed: the client is closed or its connection is gone.
	ErrClosed = errors.New("csta: connection closed")
	// ErrTooManyPending: all 9,998 request invoke IDs are in use.
	ErrTooManyPending = errors.New("csta: too many requests in flight")
	// ErrUnexpectedResponse: a response arrived whose root element does not
	// answer the request sent with its invoke ID.
	ErrUnexpectedResponse = errors.New("csta: unexpected response")
	// ErrCSTA: the switch answered with a CSTAErrorCode. Use errors.As with
	// *CSTAErrorCode for the category and value.
	ErrCSTA = errors.New("csta: switch returned an error")
	// ErrSessionRefused: the switch answered an ECMA-354 session request with
	// a NegResponse. Use errors.As with *SessionError for the reason.
	ErrSessionRefused = errors.New("csta: application session request refused")
)
