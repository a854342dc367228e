package webrtc

import (
	"errors"
	"fmt"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Errors about the browser's SDP wrap sdp.ErrMalformed, so the B2BUA answers
// them 488 Not Acceptable Here with a Warning (sdp.Warning).
var (
	// ErrNoFingerprint: no a=fingerprint (RFC 8122 §5), so DTLS cannot be
	// authenticated.
	ErrNoFingerprint = fmt.Errorf("%w: webrtc: no a=fingerprint", sdp.ErrMalformed)

	// ErrNoICE: no a=ice-ufrag or a=ice-pwd (RFC 8839 §5.4), or ones of the
	// wrong length.
	ErrNoICE = fmt.Errorf("%w: webrtc: no usable ICE credentials", sdp.ErrMalformed)

	// ErrBadCandidate: an a=candidate line that does not parse (RFC 8839
	// §5.1) or names an address no browser has (unspecified, multicast,
	// port 0).
	ErrBadCandidate = fmt.Errorf("%w: webrtc: bad ICE candidate", sdp.ErrMalformed)

	// ErrNotWebRTC: the SDP has no WebRTC audio stream (UDP/TLS/RTP/SAVPF).
	ErrNotWebRTC = fmt.Errorf("%w: webrtc: no UDP/TLS/RTP/SAVPF audio stream", sdp.ErrUnsupportedTransport)

	// ErrNoCommonCodec: neither leg's codecs fit the other (no
	// transcoding).
	ErrNoCommonCodec = fmt.Errorf("%w: webrtc: no codec both legs have", sdp.ErrNoCommonCodec)

	// ErrClosed: the Engine or the Leg is closed.
	ErrClosed = errors.New("webrtc: closed")

	// ErrConsent: the browser stopped answering ICE consent checks
	// (RFC 7675 §5.1) or never completed ICE and DTLS.
	ErrConsent = errors.New("webrtc: browser gone (ICE consent expired)")

	// errState: a Leg method called out of order (Answer on a leg that
	// offered, twice, ...).
	errState = errors.New("webrtc: leg in the wrong state")
)

// ErrRestart: a browser's subsequent SDP changed its DTLS fingerprint (a
// new DTLS association, RFC 8842 §5.5), or its answer to our re-offer
// changed its ICE credentials. Not supported: answered 488. (A browser's
// re-offer with new ICE credentials and the same fingerprint is an ICE
// restart, RFC 8839 §4.4.1.1.1, which the leg performs.)
var ErrRestart = fmt.Errorf("%w: webrtc: new DTLS association not supported", sdp.ErrMalformed)
