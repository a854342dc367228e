// Package digest implements the server side of HTTP Digest authentication as
// used by SIP: RFC 3261 §22.4 (401/WWW-Authenticate and 407/Proxy-Authenticate),
// RFC 7616 (SHA-256, qop=auth, nonce-count) and RFC 8760 (several challenges,
// one per algorithm, in order of preference).
//
// Nonces are stateless: each one carries its issue time and a random part,
// signed with HMAC-SHA256 under Options.Secret, so any gateway node holding the
// same secret can validate it without shared state. The only state kept is the
// nonce-count window of nonces that have been used with qop=auth, which is
// bounded and dropped once the nonce expires.
//
// Typical use by a registrar:
//
//	c, err := digest.ParseCredentials(req.GetHeader("Authorization").Value())
//	if err != nil { /* 400, or re-challenge */ }
//	// the caller checks c.URI against the Request-URI (RFC 3261 §22.4 step 4)
//	switch err := a.Verify(c, req.Method, store.HA1); {
//	case err == nil:
//	case errors.Is(err, digest.ErrStale):
//		// 401 with a.Challenges(true)
//	default:
//		// 401/403 with a.Challenges(false)
//	}
//
// Replay protection relies on qop=auth and the nonce count. Clients that send
// no qop (RFC 2069 style, accepted unless Options.RequireQOP is set) send no
// nonce count either, so a request from them can be replayed for as long as
// its nonce is fresh (Options.NonceTTL).
package digest
