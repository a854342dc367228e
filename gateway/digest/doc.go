// Package digest implements the server side of HTTP Digest authentication as
// used by SIP: RFC 3261 §22.4 (401/WWW-Authenticate and 407/Proxy-Authenticate),
// RFC 7616 (SHA-256, qop=auth, nonce-count) and RFC 8760 (several challenges,
// one per algorithm, in order of preference).
//
// Nonces are stateless: each one carries its issue time and a random part,
// signed with HMAC-SHA256 under Options.Secret, so any gateway node holding the
// same secret can validate it without shared state. Each is also bound to the
// address of the client it was issued to (ChallengesFor, VerifyFrom): a
// failure on such a nonce proves the client received our challenge at that
// address, which a spoofed UDP source cannot, so only those failures are
// evidence for a ban. The only state kept is the
// nonce-count window of nonces that have been used with qop=auth, which is
// bounded and dropped once the nonce expires.
//
// Typical use by a registrar:
//
//	c, err := digest.ParseCredentials(req.GetHeader("Authorization").Value())
//	if err != nil { /* 400, or re-challenge */ }
//	// the caller checks c.URI against the Request-URI (RFC 3261 §22.4 step 4)
//	switch err := a.VerifyFrom(c, req.Method, sourceIP, store.HA1); {
//	case err == nil:
//	case errors.Is(err, digest.ErrStale):
//		// 401 with a.ChallengesFor(true, sourceIP)
//	case errors.Is(err, digest.ErrInvalid):
//		// 401 with a.ChallengesFor(false, sourceIP); count a failure
//	default:
//		// 401 with a.ChallengesFor(false, sourceIP)
//	}
//
// Replay protection relies on qop=auth and the nonce count. Clients that send
// no qop (RFC 2069 style, refused unless Options.AllowNoQOP is set) send no
// nonce count either, so a request from them can be replayed for as long as
// its nonce is fresh (Options.NonceTTL).
package digest
