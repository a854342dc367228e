package accounts

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Credentials are what an Authorization header carries (RFC 9110 §11.6.2).
type Credentials struct {
	// Scheme is "basic" or "bearer" (lowercase); "" when the header is
	// absent.
	Scheme string
	// User and Password are the Basic credentials (RFC 7617 §2).
	User, Password string
	// Token is the Bearer token (RFC 6750 §2.1).
	Token string
}

// maxAuthorization is the longest Authorization header read.
const maxAuthorization = 4096

// ParseAuthorization reads an Authorization header value. ok is false
// for a malformed header or a scheme other than Basic and Bearer; an
// empty header gives a zero Credentials and ok true.
func ParseAuthorization(h string) (c Credentials, ok bool) {
	if h == "" {
		return c, true
	}
	if len(h) > maxAuthorization {
		return c, false
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		return c, false
	}
	rest = strings.TrimLeft(rest, " ")
	switch strings.ToLower(scheme) { // schemes are case-insensitive (RFC 9110 §11.1)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return c, false
		}
		user, pw, found := strings.Cut(string(raw), ":")
		if !found || user == "" || !utf8.ValidString(user) || strings.ContainsAny(user, "\x00\r\n") {
			return c, false
		}
		return Credentials{Scheme: "basic", User: user, Password: pw}, true
	case "bearer":
		// b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
		if rest == "" || strings.IndexFunc(strings.TrimRight(rest, "="), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/", r))
		}) >= 0 || strings.TrimRight(rest, "=") == "" {
			return c, false
		}
		return Credentials{Scheme: "bearer", Token: rest}, true
	}
	return c, false
}
