package trunkreg

import (
	"crypto/md5" //nolint:gosec // RFC 7616 MD5 is what many PBXs still ask for.
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// ErrChallenge means a WWW-Authenticate or Proxy-Authenticate value could
// not be used: malformed, not Digest, or only algorithms we do not know.
var ErrChallenge = errors.New("unusable digest challenge")

// Challenge is one Digest challenge (RFC 7616 §3.3, RFC 3261 §22.4).
type Challenge struct {
	Realm     string
	Nonce     string
	Opaque    string
	Algorithm string // as sent; "" means MD5
	QOP       []string
	Stale     bool
}

// ParseChallenge reads a WWW-Authenticate / Proxy-Authenticate value with
// scheme Digest: comma separated name=value pairs, values tokens or quoted
// strings with backslash escapes (RFC 7235 §2.1). Unknown parameters are
// ignored.
func ParseChallenge(v string) (Challenge, error) {
	var c Challenge
	v = strings.TrimLeft(v, " \t")
	const scheme = "digest"
	if len(v) <= len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) || (v[len(scheme)] != ' ' && v[len(scheme)] != '\t') {
		return c, fmt.Errorf("%w: scheme is not Digest", ErrChallenge)
	}
	rest := v[len(scheme):]
	haveNonce := false
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			break
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return c, fmt.Errorf("%w: parameter without value", ErrChallenge)
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return c, fmt.Errorf("%w: unterminated quoted string", ErrChallenge)
			}
			val, rest = b.String(), rest[i+1:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		switch name {
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce, haveNonce = val, true
		case "opaque":
			c.Opaque = val
		case "algorithm":
			c.Algorithm = val
		case "qop":
			for _, q := range strings.Split(val, ",") {
				if q = strings.TrimSpace(q); q != "" {
					c.QOP = append(c.QOP, q)
				}
			}
		case "stale":
			c.Stale = strings.EqualFold(val, "true")
		}
	}
	if !haveNonce || c.Nonce == "" {
		return c, fmt.Errorf("%w: no nonce", ErrChallenge)
	}
	return c, nil
}

// hasher returns the hash of a challenge's algorithm (RFC 8760 §2: MD5
// and SHA-256; the -sess variants and SHA-512-256 are not supported).
func (c Challenge) hasher() (func() hash.Hash, bool) {
	switch strings.ToUpper(c.Algorithm) {
	case "", "MD5":
		return md5.New, true
	case "SHA-256":
		return sha256.New, true
	}
	return nil, false
}

// pickChallenge returns the first usable challenge of values: servers list
// them in order of preference (RFC 8760 §2.4, RFC 7616 §3.7).
func pickChallenge(values []string) (Challenge, error) {
	var firstErr error
	for _, v := range values {
		c, err := ParseChallenge(v)
		if err == nil {
			if _, ok := c.hasher(); ok {
				return c, nil
			}
			err = fmt.Errorf("%w: algorithm %q not supported", ErrChallenge, c.Algorithm)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%w: none given", ErrChallenge)
	}
	return Challenge{}, firstErr
}

// Authorization computes the credentials for method and uri (RFC 7616
// §3.4.1): with qop=auth when offered (a fresh cnonce, nc as given),
// else the RFC 2069 form.
func (c Challenge) Authorization(username, password, method, uri string, nc uint32) (string, error) {
	newHash, ok := c.hasher()
	if !ok {
		return "", fmt.Errorf("%w: algorithm %q not supported", ErrChallenge, c.Algorithm)
	}
	h := func(s string) string {
		x := newHash()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := h(username + ":" + c.Realm + ":" + password)
	ha2 := h(method + ":" + uri)
	auth := false
	for _, q := range c.QOP {
		if strings.EqualFold(q, "auth") {
			auth = true
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%s, realm=%s, nonce=%s, uri=%s`, quote(username), quote(c.Realm), quote(c.Nonce), quote(uri))
	if auth {
		cn := make([]byte, 12)
		_, _ = rand.Read(cn)
		cnonce := hex.EncodeToString(cn)
		ncs := fmt.Sprintf("%08x", nc)
		resp := h(ha1 + ":" + c.Nonce + ":" + ncs + ":" + cnonce + ":auth:" + ha2)
		fmt.Fprintf(&b, `, response="%s", cnonce="%s", qop=auth, nc=%s`, resp, cnonce, ncs)
	} else {
		fmt.Fprintf(&b, `, response="%s"`, h(ha1+":"+c.Nonce+":"+ha2))
	}
	if c.Algorithm != "" {
		b.WriteString(", algorithm=" + c.Algorithm)
	}
	if c.Opaque != "" {
		b.WriteString(", opaque=" + quote(c.Opaque))
	}
	return b.String(), nil
}

// quote writes s as a quoted string, escaping " and \.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// PickChallenge returns the first usable Digest challenge among the
// WWW-Authenticate or Proxy-Authenticate values of a 401/407: servers
// list them in order of preference (RFC 8760 §2.4). The B2BUA answers a
// trunk's challenge to an INVITE with it.
func PickChallenge(values []string) (Challenge, error) { return pickChallenge(values) }
