package digest

import (
	"crypto/subtle"
	"fmt"
	"net/netip"
	"strings"
)

// Verify is VerifyFrom for nonces bound to no address (Challenges).
func (a *Authenticator) Verify(c Credentials, method string, ha1 func(username, algorithm string) (string, bool)) error {
	return a.VerifyFrom(c, method, netip.Addr{}, ha1)
}

// VerifyFrom checks credentials c, parsed from a request with the given
// method that came from address client, against the user's HA1 for the
// credentials' algorithm (RFC 7616 §3.4.1, RFC 3261 §22.4). ha1 is called
// with the username and the canonical algorithm name ("MD5", "SHA-256",
// "SHA-512-256") and returns the stored H(username:realm:password) in hex,
// or ok=false when the user does not exist.
//
// It returns nil when the credentials are good, or:
//   - ErrAlgorithm: algorithm, qop or userhash not offered, or no qop
//     without Options.AllowNoQOP;
//   - ErrMalformed: qop without a usable nc or cnonce;
//   - ErrNonce: a nonce we did not issue;
//   - ErrStale with ErrForeignNonce: a nonce we issued to another address
//     (ChallengesFor); the response is not checked, so this is no
//     password oracle;
//   - ErrInvalid: on a nonce issued to client, wrong realm or opaque, a
//     wrong response or an unknown user (the last two identical, same
//     work);
//   - ErrStale: a correct response on an expired nonce; re-challenge with
//     stale=true;
//   - ErrStale with ErrReplay: a nonce count already used with this nonce.
//
// VerifyFrom does not compare c.URI with the Request-URI; the caller must
// (RFC 3261 §22.4 step 4). Only credentials with qop are protected from
// replay; see the package documentation. Any other error comes from a
// malformed HA1 returned by ha1.
func (a *Authenticator) VerifyFrom(c Credentials, method string, client netip.Addr, ha1 func(username, algorithm string) (string, bool)) error {
	// RFC 8760 §2.4 / RFC 7616 §3.3: only what we offered; absent means MD5.
	al, ok := parseAlgo(c.Algorithm)
	if !ok || !a.offers(al) {
		return fmt.Errorf("%w: %q", ErrAlgorithm, c.Algorithm)
	}
	if c.UserHash {
		return fmt.Errorf("%w: userhash", ErrAlgorithm)
	}
	var nc uint32
	switch {
	case c.QOP == "":
		if !a.allowNoQOP {
			return fmt.Errorf("%w: qop required", ErrAlgorithm)
		}
		if c.NC != "" || c.CNonce != "" {
			return fmt.Errorf("%w: cnonce or nc without qop", ErrMalformed)
		}
	case strings.EqualFold(c.QOP, "auth"):
		// RFC 7616 §3.4: nc and cnonce MUST accompany qop.
		if nc, ok = parseNC(c.NC); !ok || c.CNonce == "" {
			return fmt.Errorf("%w: qop without valid nc or cnonce", ErrMalformed)
		}
	default:
		// auth-int (RFC 7616 §3.4.3) is not offered.
		return fmt.Errorf("%w: qop %q", ErrAlgorithm, c.QOP)
	}

	s := a.getScratch()
	defer a.putScratch(s)
	issued, nc0 := a.checkNonce(s, c.Nonce, client)
	now := a.now().UnixNano()
	switch {
	case nc0 == nonceForged:
		return ErrNonce
	case issued-now > int64(maxClockSkew):
		return fmt.Errorf("%w: from the future", ErrNonce)
	case nc0 == nonceForeign:
		return fmt.Errorf("%w: %w", ErrStale, ErrForeignNonce)
	}
	// RFC 3261 §22.1: the realm must be ours. Realm and opaque are public,
	// so answering early leaks nothing about users.
	if c.Realm != a.realm {
		return fmt.Errorf("%w: realm", ErrInvalid)
	}
	// RFC 7616 §3.4: opaque MUST be returned unchanged. Some phones omit it;
	// tolerated, since the nonce carries all state.
	if c.Opaque != "" && c.Opaque != a.opaque {
		return fmt.Errorf("%w: opaque", ErrInvalid)
	}

	// From here on, unknown users and wrong passwords take the same path.
	h, known := ha1(c.Username, al.String())
	if !known {
		h = a.dummyHA1[al]
	} else if len(h) != al.hexLen() {
		return fmt.Errorf("digest: stored %s HA1 for user has length %d, want %d", al, len(h), al.hexLen())
	}
	good := a.response(s, al, h, c, method)
	// Compare in constant time; the response may arrive in upper case.
	s.got = append(s.got[:0], c.Response...)
	lowerHex(s.got)
	if subtle.ConstantTimeCompare(good, s.got)&boolToInt(known) != 1 {
		return ErrInvalid
	}

	// RFC 7616 §3.3 stale: only a correct response earns stale=true.
	if now-issued > a.ttl {
		return ErrStale
	}
	if c.QOP != "" {
		switch a.replays.check(s.raw[nonceTSLen+nonceRandLen:], issued, nc, now) {
		case replaySeen:
			return fmt.Errorf("%w: %w: nc=%s", ErrStale, ErrReplay, c.NC)
		case replayEvicted:
			return fmt.Errorf("%w: nonce-count state evicted", ErrStale)
		}
	}
	return nil
}

// offers reports whether al was offered.
func (a *Authenticator) offers(al algo) bool {
	for _, o := range a.offered {
		if o == al {
			return true
		}
	}
	return false
}

// response computes the expected request-digest into s.exp (RFC 7616
// §3.4.1; RFC 2069 form without qop, RFC 2617 §3.2.2.1):
//
//	HA2 = H(method ":" uri)                                 (§3.4.3, qop=auth)
//	qop:    KD(HA1, nonce ":" nc ":" cnonce ":" qop ":" HA2)
//	no qop: H(HA1 ":" nonce ":" HA2)
//
// where KD(secret, data) = H(secret ":" data). HA1 is lowercased as the
// client computes it.
func (a *Authenticator) response(s *scratch, al algo, ha1 string, c Credentials, method string) []byte {
	b := append(s.buf[:0], method...)
	b = append(b, ':')
	b = append(b, c.URI...)
	s.ha2 = al.sumHex(s.ha2[:0], b)
	a.count(al)

	b = append(b[:0], ha1...)
	lowerHex(b)
	b = append(b, ':')
	b = append(b, c.Nonce...)
	b = append(b, ':')
	if c.QOP != "" {
		b = append(b, c.NC...)
		b = append(b, ':')
		b = append(b, c.CNonce...)
		b = append(b, ':')
		b = append(b, c.QOP...)
		b = append(b, ':')
	}
	b = append(b, s.ha2...)
	s.buf = b
	s.exp = al.sumHex(s.exp[:0], b)
	a.count(al)
	return s.exp
}

// count tells the test hook of one hash computed.
func (a *Authenticator) count(al algo) {
	if a.hashed != nil {
		a.hashed(al)
	}
}

// lowerHex lowercases ASCII letters in place.
func lowerHex(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
