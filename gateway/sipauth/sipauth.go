// Package sipauth checks the digest credentials of a SIP request (RFC 3261
// §22) the same way for every part of the gateway that challenges: the
// registrar (401, Authorization) and the B2BUA (407, Proxy-Authorization).
// It tells the input guard of each outcome per source address, so repeated
// failures ban the source, and leaves the response to the caller.
package sipauth

import (
	"errors"
	"log/slog"
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/digest"
)

// Observer is told of digest outcomes per source address, so that
// repeated failures can ban the source. *sipguard.Guard implements it.
type Observer interface {
	AuthFailed(ip netip.Addr)
	AuthSucceeded(ip netip.Addr)
}

// Outcome is what Check concluded about a request's credentials.
type Outcome int

// Outcomes of Check. Missing, Stale and Failed are answered with a
// challenge (Stale with stale=true, RFC 7616 §3.3); Malformed with 400.
// Unknown users and wrong passwords are both Failed, after the same work.
const (
	OK Outcome = iota
	Missing
	Stale
	Malformed
	Failed
)

// Checker checks credentials against a user directory.
type Checker struct {
	Auth     *digest.Authenticator
	HA1      func(username, algorithm string) (string, bool)
	Observer Observer     // optional
	Log      *slog.Logger // failures are logged at info
}

// Check verifies the credentials header h (nil when the request has none)
// of req, and returns the authenticated username with OK.
func (c *Checker) Check(req *sip.Request, h sip.Header) (string, Outcome) {
	if h == nil {
		return "", Missing
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return "", Malformed
	}
	err = c.Auth.Verify(cred, string(req.Method), c.HA1)
	ip := SourceIP(req)
	switch {
	case err == nil:
		if c.Observer != nil && ip.IsValid() {
			c.Observer.AuthSucceeded(ip)
		}
		return cred.Username, OK
	case errors.Is(err, digest.ErrStale):
		return "", Stale
	case errors.Is(err, digest.ErrMalformed):
		return "", Malformed
	}
	if c.Log != nil {
		c.Log.Info("authentication failed", "user", cred.Username, "source", req.Source(), "reason", err)
	}
	if c.Observer != nil && ip.IsValid() {
		c.Observer.AuthFailed(ip)
	}
	return "", Failed
}

// SourceIP is the address a request came from (RFC 3581 "received").
func SourceIP(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
