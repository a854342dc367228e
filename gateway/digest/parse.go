package digest

import (
	"fmt"
	"strings"
)

// Credentials are the parameters of an Authorization or Proxy-Authorization
// header value (RFC 3261 §25.1 credentials, RFC 7616 §3.4). Values are
// unquoted and unescaped; names of algorithm and qop are kept as sent
// because they enter the hash as sent.
type Credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string // digest-uri; the caller compares it with the Request-URI
	Response  string
	Algorithm string // empty means MD5
	CNonce    string
	QOP       string // empty for RFC 2069 style clients
	NC        string // nonce count as sent, 8 hex digits
	Opaque    string
	UserHash  bool // RFC 7616 §3.4.4; not offered, so Verify rejects it

	// NonceCount is NC parsed. Informational: Verify parses NC itself.
	NonceCount uint32
}

// ParseCredentials parses an Authorization or Proxy-Authorization header
// value with scheme Digest (RFC 3261 §25.1, RFC 7616 §3.4, RFC 7235 §2.1):
// parameter names are case-insensitive, values are tokens or quoted strings
// with backslash escapes, commas inside quotes are data. Unknown parameters
// are ignored; duplicated known ones are an error. It returns ErrMalformed,
// wrapped with the reason, for anything unusable.
func ParseCredentials(v string) (Credentials, error) {
	var c Credentials
	const scheme = "Digest"
	i := skipWS(v, 0)
	if len(v)-i <= len(scheme) || !strings.EqualFold(v[i:i+len(scheme)], scheme) || !isWS(v[i+len(scheme)]) {
		return c, fmt.Errorf("%w: scheme is not Digest", ErrMalformed)
	}
	i += len(scheme)
	var seen uint16
	var haveUser, haveUserStar bool
	for {
		i = skipWS(v, i)
		if i >= len(v) {
			break
		}
		if v[i] == ',' { // empty list elements are allowed (RFC 7230 §7)
			i++
			continue
		}
		start := i
		for i < len(v) && isTokenChar(v[i]) {
			i++
		}
		name := v[start:i]
		if name == "" {
			return c, fmt.Errorf("%w: bad character %q at %d", ErrMalformed, v[i], i)
		}
		i = skipWS(v, i)
		if i >= len(v) || v[i] != '=' {
			return c, fmt.Errorf("%w: parameter %q has no value", ErrMalformed, name)
		}
		i = skipWS(v, i+1)
		var val string
		var err error
		if i < len(v) && v[i] == '"' {
			val, i, err = parseQuoted(v, i)
			if err != nil {
				return c, err
			}
		} else {
			// Lenient token: clients send unquoted values such as an uri
			// that are not RFC 3261 tokens; only controls are refused.
			start := i
			for i < len(v) && !isWS(v[i]) && v[i] != ',' && v[i] != '"' {
				if isCTL(v[i]) {
					return c, fmt.Errorf("%w: control character in value", ErrMalformed)
				}
				i++
			}
			val = v[start:i]
			if val == "" {
				return c, fmt.Errorf("%w: parameter %q has an empty value", ErrMalformed, name)
			}
		}
		i = skipWS(v, i)
		if i < len(v) && v[i] != ',' {
			return c, fmt.Errorf("%w: expected a comma at %d", ErrMalformed, i)
		}

		p := lookupParam(name)
		if p == pUnknown {
			continue // auth-param extensions (RFC 7616 §3.4)
		}
		if seen&(1<<p) != 0 {
			return c, fmt.Errorf("%w: parameter %q given twice", ErrMalformed, name)
		}
		seen |= 1 << p
		switch p {
		case pUsername:
			c.Username, haveUser = val, true
		case pUsernameStar:
			// RFC 7616 §3.4: username* in RFC 5987 extended notation.
			if c.Username, err = decodeExtValue(val); err != nil {
				return c, err
			}
			haveUserStar = true
		case pRealm:
			c.Realm = val
		case pNonce:
			c.Nonce = val
		case pURI:
			c.URI = val
		case pResponse:
			c.Response = val
		case pAlgorithm:
			c.Algorithm = val
		case pCNonce:
			c.CNonce = val
		case pQOP:
			c.QOP = val
		case pNC:
			c.NC = val
		case pOpaque:
			c.Opaque = val
		case pUserHash:
			switch {
			case strings.EqualFold(val, "true"):
				c.UserHash = true
			case strings.EqualFold(val, "false"):
			default:
				return c, fmt.Errorf("%w: userhash=%q", ErrMalformed, val)
			}
		}
	}

	switch {
	case haveUser && haveUserStar:
		// RFC 7616 §3.4: "MUST NOT" send both.
		return c, fmt.Errorf("%w: both username and username*", ErrMalformed)
	case c.Username == "":
		return c, fmt.Errorf("%w: missing username", ErrMalformed)
	case seen&(1<<pRealm) == 0:
		return c, fmt.Errorf("%w: missing realm", ErrMalformed)
	case c.Nonce == "":
		return c, fmt.Errorf("%w: missing nonce", ErrMalformed)
	case seen&(1<<pURI) == 0:
		return c, fmt.Errorf("%w: missing uri", ErrMalformed)
	case c.Response == "":
		return c, fmt.Errorf("%w: missing response", ErrMalformed)
	}
	if c.QOP != "" {
		// RFC 7616 §3.4: cnonce and nc MUST be sent with qop.
		if c.CNonce == "" || c.NC == "" {
			return c, fmt.Errorf("%w: qop without cnonce or nc", ErrMalformed)
		}
	} else if c.CNonce != "" || c.NC != "" {
		return c, fmt.Errorf("%w: cnonce or nc without qop", ErrMalformed)
	}
	if c.NC != "" {
		n, ok := parseNC(c.NC)
		if !ok {
			return c, fmt.Errorf("%w: nc=%q is not 8 hex digits", ErrMalformed, c.NC)
		}
		c.NonceCount = n
	}
	return c, nil
}

// Known parameter names, as bit positions.
const (
	pUnknown = iota
	pUsername
	pUsernameStar
	pRealm
	pNonce
	pURI
	pResponse
	pAlgorithm
	pCNonce
	pQOP
	pNC
	pOpaque
	pUserHash
)

// lookupParam matches a parameter name case-insensitively without
// allocating.
func lookupParam(name string) int {
	var b [16]byte
	if len(name) > len(b) {
		return pUnknown
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(name)]) {
	case "username":
		return pUsername
	case "username*":
		return pUsernameStar
	case "realm":
		return pRealm
	case "nonce":
		return pNonce
	case "uri":
		return pURI
	case "response":
		return pResponse
	case "algorithm":
		return pAlgorithm
	case "cnonce":
		return pCNonce
	case "qop":
		return pQOP
	case "nc":
		return pNC
	case "opaque":
		return pOpaque
	case "userhash":
		return pUserHash
	}
	return pUnknown
}

// parseQuoted parses the quoted-string starting at v[i] == '"' (RFC 3261
// §25.1: quoted-string, quoted-pair). It returns the unescaped value and the
// index after the closing quote. Without escapes the value is a substring of
// v and nothing is allocated.
func parseQuoted(v string, i int) (string, int, error) {
	start := i + 1
	for j := start; j < len(v); j++ {
		switch c := v[j]; {
		case c == '"':
			return v[start:j], j + 1, nil
		case c == '\\':
			return unescapeQuoted(v, start, j)
		case isCTL(c):
			return "", 0, fmt.Errorf("%w: control character in quoted string", ErrMalformed)
		}
	}
	return "", 0, fmt.Errorf("%w: unterminated quoted string", ErrMalformed)
}

// unescapeQuoted continues parseQuoted from the first backslash at v[j].
func unescapeQuoted(v string, start, j int) (string, int, error) {
	var b strings.Builder
	b.Grow(len(v) - start)
	b.WriteString(v[start:j])
	for ; j < len(v); j++ {
		c := v[j]
		switch {
		case c == '"':
			return b.String(), j + 1, nil
		case c == '\\':
			j++
			// quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F); escaped
			// controls other than HTAB are refused as well.
			if j >= len(v) || isCTL(v[j]) || v[j] > 0x7f {
				return "", 0, fmt.Errorf("%w: bad escape in quoted string", ErrMalformed)
			}
			c = v[j]
		case isCTL(c):
			return "", 0, fmt.Errorf("%w: control character in quoted string", ErrMalformed)
		}
		b.WriteByte(c)
	}
	return "", 0, fmt.Errorf("%w: unterminated quoted string", ErrMalformed)
}

// decodeExtValue decodes an RFC 5987 §3.2 ext-value restricted to UTF-8:
// UTF-8'[language]'percent-encoded.
func decodeExtValue(s string) (string, error) {
	const charset = "utf-8'"
	if len(s) < len(charset) || !strings.EqualFold(s[:len(charset)], charset) {
		return "", fmt.Errorf("%w: username* is not UTF-8 ext-value", ErrMalformed)
	}
	s = s[len(charset):]
	q := strings.IndexByte(s, '\'')
	if q < 0 {
		return "", fmt.Errorf("%w: username* lacks language part", ErrMalformed)
	}
	s = s[q+1:]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return "", fmt.Errorf("%w: bad percent-encoding in username*", ErrMalformed)
			}
			c = byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		}
		if isCTL(c) { // no CR LF smuggled into a username
			return "", fmt.Errorf("%w: control character in username*", ErrMalformed)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// parseNC parses an nc-value: exactly 8 hex digits (RFC 7616 §3.4), not zero.
func parseNC(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(s); i++ {
		d := unhex(s[i])
		if d < 0 {
			return 0, false
		}
		n = n<<4 | uint32(d)
	}
	return n, n != 0
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isWS reports linear white space; a SIP parser normally unfolds CRLF before
// we see the value, but tolerate it (RFC 3261 §25.1 LWS).
func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isCTL reports control characters other than HTAB.
func isCTL(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

func skipWS(v string, i int) int {
	for i < len(v) && isWS(v[i]) {
		i++
	}
	return i
}

// isTokenChar reports RFC 3261 §25.1 token characters (which include the
// "*" of username*).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", c) >= 0
}
