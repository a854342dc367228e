package b2bua

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// ErrUnsupportedBody means an INVITE's body is neither SDP nor a multipart
// body with an SDP part (415 with Accept, RFC 3261 §21.4.13).
var ErrUnsupportedBody = errors.New("b2bua: unsupported message body")

// acceptBodies is the Accept header of a 415: the bodies an INVITE may
// carry to us (RFC 3261 §20.1, RFC 5621).
const acceptBodies = "application/sdp, multipart/mixed"

// maxParts bounds the parts of a multipart body read (SDP + ISUP is two).
const maxParts = 8

// sdpBody returns the SDP of m's body: the body itself when it is
// application/sdp (or has no Content-Type, as some phones send), the first
// application/sdp part of a multipart/mixed or multipart/alternative body
// (RFC 5621 §3: SDP beside ISUP from a SIP-T gateway, RFC 3204). An empty
// body gives nil (a late offer, RFC 3261 §13.2.1). Any other type, or a
// multipart body without SDP, gives ErrUnsupportedBody.
func sdpBody(m *sip.Request) ([]byte, error) {
	body := m.Body()
	if len(body) == 0 {
		return nil, nil
	}
	ct := m.GetHeader("Content-Type")
	if ct == nil {
		return body, nil
	}
	return sdpOf(ct.Value(), body, 0)
}

func sdpOf(ctype string, body []byte, depth int) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return nil, fmt.Errorf("%w: Content-Type %q: %w", ErrUnsupportedBody, ctype, err)
	}
	switch {
	case mt == "application/sdp":
		return body, nil
	case strings.HasPrefix(mt, "multipart/") && depth == 0:
		b := params["boundary"]
		if b == "" {
			return nil, fmt.Errorf("%w: %s without boundary", ErrUnsupportedBody, mt)
		}
		r := multipart.NewReader(bytes.NewReader(body), b)
		for range maxParts {
			p, err := r.NextRawPart()
			if err != nil {
				break
			}
			pt := p.Header.Get("Content-Type")
			if pt == "" {
				pt = "text/plain" // RFC 2046 §5.1 default
			}
			data, err := io.ReadAll(io.LimitReader(p, 64<<10))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrUnsupportedBody, mt, err)
			}
			if sdp, err := sdpOf(pt, data, depth+1); err == nil {
				return sdp, nil
			}
		}
		return nil, fmt.Errorf("%w: %s without an application/sdp part", ErrUnsupportedBody, mt)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedBody, mt)
}
