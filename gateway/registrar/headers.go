package registrar

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// regHeaders are the headers a REGISTER is judged by, gathered in one pass
// over the message (sipgo's GetHeader lower-cases every name on each call,
// which showed in profiles at thousands of REGISTERs a second).
type regHeaders struct {
	authorization sip.Header
	expires       sip.Header
	userAgent     sip.Header
	contacts      []sip.Header
	path          []sip.Header
	require       []sip.Header
	supported     []sip.Header
}

// scanHeaders gathers h from req. Compact forms (RFC 3261 §7.3.3) count:
// m is Contact, k is Supported.
func scanHeaders(req *sip.Request) regHeaders {
	var h regHeaders
	for _, hd := range req.Headers() {
		name := hd.Name()
		switch len(name) {
		case 1:
			switch name[0] {
			case 'm', 'M':
				h.contacts = append(h.contacts, hd)
			case 'k', 'K':
				h.supported = append(h.supported, hd)
			}
		case 4:
			if strings.EqualFold(name, "Path") {
				h.path = append(h.path, hd)
			}
		case 7:
			switch {
			case strings.EqualFold(name, "Contact"):
				h.contacts = append(h.contacts, hd)
			case strings.EqualFold(name, "Expires"):
				h.expires = hd
			case strings.EqualFold(name, "Require"):
				h.require = append(h.require, hd)
			}
		case 9:
			if strings.EqualFold(name, "Supported") {
				h.supported = append(h.supported, hd)
			}
		case 10:
			if strings.EqualFold(name, "User-Agent") {
				h.userAgent = hd
			}
		case 13:
			// The first Digest credentials; credentials of another scheme
			// only when there are none (RFC 3261 §22.4).
			if strings.EqualFold(name, "Authorization") &&
				(h.authorization == nil || !isDigest(h.authorization) && isDigest(hd)) {
				h.authorization = hd
			}
		}
	}
	return h
}

// tags returns the lower-cased option tags listed in hs.
func tags(hs []sip.Header) map[string]bool {
	if len(hs) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, h := range hs {
		for _, t := range splitList(h.Value()) {
			out[strings.ToLower(t)] = true
		}
	}
	return out
}

func value(h sip.Header) string {
	if h == nil {
		return ""
	}
	return h.Value()
}

// isDigest reports whether the credentials in h use the Digest scheme
// (RFC 3261 §22.4, auth-scheme is case-insensitive).
func isDigest(h sip.Header) bool {
	v := strings.TrimLeft(h.Value(), " \t")
	return len(v) >= 7 && strings.EqualFold(v[:6], "Digest") && (v[6] == ' ' || v[6] == '\t')
}
