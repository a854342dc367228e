package sipauth

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// SameURI reports whether the digest-uri of credentials names the
// Request-URI ruri, compared as SIP URIs (RFC 3261 §19.1.4): the same
// scheme, user and password (case-sensitive), host (case-insensitive) and
// port (an absent port differs from 5060); the parameters user, ttl,
// method, maddr and transport present in one only make them differ; other
// parameters are compared where both have them; headers must all match.
// A digest-uri that does not parse as a SIP URI never matches, unless it is
// the Request-URI character for character.
//
// RFC 3261 §22.4 item 4 (and RFC 7616 §3.4.6) asks the server to check it:
// credentials computed for another request, captured and replayed towards
// this one, must not authenticate it.
func SameURI(digestURI string, ruri *sip.Uri) bool {
	if digestURI == ruri.String() {
		return true
	}
	var u sip.Uri
	if err := sip.ParseUri(digestURI, &u); err != nil {
		return false
	}
	if !strings.EqualFold(u.Scheme, ruri.Scheme) || u.Wildcard || ruri.Wildcard ||
		u.User != ruri.User || u.Password != ruri.Password ||
		!strings.EqualFold(strings.Trim(u.Host, "[]"), strings.Trim(ruri.Host, "[]")) || u.Port != ruri.Port ||
		u.Raw() != ruri.Raw() {
		return false
	}
	return sameParams(u.UriParams, ruri.UriParams) && sameHeaders(u.Headers, ruri.Headers)
}

// mustMatch are the URI parameters that make two URIs differ when only
// one has them (RFC 3261 §19.1.4).
var mustMatch = []string{"user", "ttl", "method", "maddr", "transport"}

func param(ps sip.HeaderParams, key string) (string, bool) {
	for _, kv := range ps {
		if strings.EqualFold(kv.K, key) {
			return kv.V, true
		}
	}
	return "", false
}

func sameParams(a, b sip.HeaderParams) bool {
	for _, k := range mustMatch {
		_, inA := param(a, k)
		_, inB := param(b, k)
		if inA != inB {
			return false
		}
	}
	for _, kv := range a {
		if v, ok := param(b, kv.K); ok && !strings.EqualFold(v, kv.V) {
			return false
		}
	}
	return true
}

func sameHeaders(a, b sip.HeaderParams) bool {
	if len(a) != len(b) {
		return false
	}
	for _, kv := range a {
		if v, ok := param(b, kv.K); !ok || v != kv.V {
			return false
		}
	}
	return true
}
