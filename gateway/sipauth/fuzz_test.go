package sipauth

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzSameURI checks properties of the digest-uri comparison on any pair
// of strings that parse as URIs: it is reflexive (a Request-URI written
// back as a string matches itself), symmetric, and blind to the case of
// the host; and a digest-uri naming another user never matches.
func FuzzSameURI(f *testing.F) {
	for _, s := range [][2]string{
		{"sip:example.com", "sip:EXAMPLE.com"},
		{"sip:1000@example.com;transport=tcp", "sip:1000@example.com"},
		{"sips:alice@[2001:db8::1]:5061;maddr=x", "sips:alice@[2001:DB8::1]:5061"},
		{"sip:a@b?subject=x", "sip:a@b"},
		{"tel:+4930123", "sip:+4930123@example.com"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var ua, ub sip.Uri
		if sip.ParseUri(a, &ua) != nil || sip.ParseUri(b, &ub) != nil || !stable(ua) || !stable(ub) {
			return
		}
		if !SameURI(ua.String(), &ua) {
			t.Fatalf("%q (written %q) does not match itself", a, ua.String())
		}
		if SameURI(ua.String(), &ub) != SameURI(ub.String(), &ua) {
			t.Fatalf("not symmetric: %q, %q", ua.String(), ub.String())
		}
		upper := ua
		upper.Host = asciiUpper(ua.Host) // host names are ASCII (RFC 3261 §25.1)
		// Only for hosts whose upper case still parses as the same URI
		// (sipgo reads "sip:@a@" as host "a@" but "sip:A@" as user "A").
		if stable(upper) && !SameURI(upper.String(), &ua) && ua.Raw() == "" {
			t.Fatalf("host case matters: %q vs %q", upper.String(), ua.String())
		}
		if other := ua; ua.Raw() == "" {
			other.User = ua.User + "x"
			if SameURI(other.String(), &ua) {
				t.Fatalf("another user matched: %q vs %q", other.String(), ua.String())
			}
		}
	})
}

// stable reports whether u has a host and survives being written and
// parsed again unchanged, user, host, port, parameters and headers in their places (sipgo does not round-trip every odd input; what
// a phone sends as digest-uri is compared in written form; sipgo reads
// "sip:h:-1" as port -1 and writes it back without a port).
func stable(u sip.Uri) bool {
	var again sip.Uri
	return u.Host != "" && sip.ParseUri(u.String(), &again) == nil && again.String() == u.String() &&
		again.User == u.User && again.Host == u.Host && again.Port == u.Port &&
		sameHeaders(again.Headers, u.Headers) && sameParams(again.UriParams, u.UriParams)
}

// asciiUpper upper-cases the ASCII letters of s only: case-insensitive
// host comparison is about ASCII names, not Unicode folding ("ı" is not
// "i" in a host name).
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}
