package sdp

import (
	"errors"
)

var (
	// ErrMalformed: the body is not valid SDP, or lacks what RFC 4566
	// requires of a stream (an IP connection address, a port, formats).
	ErrMalformed = errors.New("sdp: malformed")

	// ErrNoAudio: no audio stream with a non-zero port.
	ErrNoAudio = errors.New("sdp: no audio stream")

	// ErrUnsupportedTransport: the audio stream is not plain RTP (RTP/AVP,
	// RTP/AVPF, or RTP/SAVP(F) with SDES keys passed through).
	ErrUnsupportedTransport = errors.New("sdp: unsupported transport")

	// ErrNoCommonCodec: no offered codec (other than telephone-event and
	// comfort noise) is supported.
	ErrNoCommonCodec = errors.New("sdp: no common codec")

	// ErrAnswerMismatch: an answer that does not fit its offer (stream count,
	// or a codec the offer did not list), RFC 3264 §6.
	ErrAnswerMismatch = errors.New("sdp: answer does not match offer")
)

// Warning returns the SIP Warning code (RFC 3261 §20.43) and text to send
// with a 488 for an error of this package; ok is false for other errors.
func Warning(err error) (code int, text string, ok bool) {
	switch {
	case errors.Is(err, ErrNoCommonCodec):
		code = 305 // Incompatible media format
	case errors.Is(err, ErrNoAudio):
		code = 304 // Media type not available
	case errors.Is(err, ErrUnsupportedTransport):
		code = 302 // Incompatible transport protocol
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrAnswerMismatch):
		code = 399 // Miscellaneous warning
	default:
		return 0, "", false
	}
	return code, err.Error(), true
}
