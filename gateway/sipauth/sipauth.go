// Package sipauth checks the digest credentials of a SIP request (RFC 3261
// §22) the same way for every part of the gateway that challenges: the
// registrar (401, Authorization) and the B2BUA (407, Proxy-Authorization).
// It tells the input guard of each outcome that is evidence against the
// source, so repeated failures ban it, and leaves the response to the
// caller.
//
// A failure is evidence only when the source cannot have spoofed its
// address: the nonce was issued to that address (digest.ChallengesFor
// binds it), or the request came over a TCP, TLS or WebSocket flow. A
// spoofed UDP datagram can carry any source address but never receives our
// challenge, so it can neither present a nonce bound to its claimed address
// nor get that address banned.
package sipauth

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/digest"
)

// Observer is told of digest outcomes per source address and username, so
// that repeated failures can ban the source. *sipguard.Guard implements
// it. AuthFailed is called only for failures that are evidence (see the
// package documentation); user is the username the credentials named.
type Observer interface {
	AuthFailed(ip netip.Addr, user string)
	AuthSucceeded(ip netip.Addr, user string)
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

// Challenges returns the challenge header values for req: a fresh nonce
// bound to req's source address (digest.ChallengesFor).
func (c *Checker) Challenges(req *sip.Request, stale bool) []string {
	return c.Auth.ChallengesFor(stale, SourceIP(req))
}

// Check verifies the credentials header h (nil when the request has none)
// of req, and returns the authenticated username with OK.
//
// The credentials' uri must name the Request-URI (RFC 3261 §22.4 item 4,
// RFC 7616 §3.4.6): credentials made for another request are Malformed,
// unless the Authenticator was made with AnyURI. A
// replayed nonce count and a nonce issued to another address are Stale, not
// Failed.
func (c *Checker) Check(req *sip.Request, h sip.Header) (string, Outcome) {
	if h == nil {
		return "", Missing
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return "", Malformed
	}
	if c.Auth.URIChecked() && !SameURI(cred.URI, &req.Recipient) {
		if c.Log != nil {
			c.Log.Info("digest uri is not the request-uri", "user", cred.Username, "source", req.Source(),
				"uri", cred.URI, "request_uri", req.Recipient.String())
		}
		return "", Malformed
	}
	ip := SourceIP(req)
	err = c.Auth.VerifyFrom(cred, string(req.Method), ip, c.HA1)
	switch {
	case err == nil:
		if c.Observer != nil && ip.IsValid() {
			c.Observer.AuthSucceeded(ip, cred.Username)
		}
		return cred.Username, OK
	case errors.Is(err, digest.ErrStale):
		return "", Stale
	case errors.Is(err, digest.ErrMalformed):
		return "", Malformed
	}
	evidence := errors.Is(err, digest.ErrInvalid) ||
		errors.Is(err, digest.ErrNonce) && Stream(req)
	if c.Log != nil {
		c.Log.Info("authentication failed", "user", cred.Username, "source", req.Source(), "reason", err, "counted", evidence)
	}
	if evidence && c.Observer != nil && ip.IsValid() {
		c.Observer.AuthFailed(ip, cred.Username)
	}
	return "", Failed
}

// Prober is an Observer that also counts requests for unknown usernames
// (scanners enumerating extensions). *sipguard.Guard implements it.
type Prober interface {
	Probe(ip netip.Addr, name string)
}

// Unknown tells the Observer, if it is a Prober, that req asked for
// username name without credentials, when name is no user and req came
// over a stream (a UDP source may be forged). The answer to req does not
// change: unknown users are challenged like known ones.
func (c *Checker) Unknown(req *sip.Request, name string) {
	p, ok := c.Observer.(Prober)
	if !ok || !Stream(req) {
		return
	}
	// Both lookups always: the same work for known and unknown names.
	_, md5 := c.HA1(name, digest.MD5)
	_, sha := c.HA1(name, digest.SHA256)
	if md5 || sha {
		return
	}
	if ip := SourceIP(req); ip.IsValid() {
		p.Probe(ip, name)
	}
}

// SourceIP is the address a request came from (RFC 3581 "received").
func SourceIP(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Stream reports whether req arrived over a connection (TCP, TLS, WS,
// WSS), whose source address cannot be spoofed. Only the transport the
// message was received on counts, never its Via.
func Stream(req *sip.Request) bool {
	switch strings.ToUpper(req.MessageData.Transport()) {
	case "TCP", "TLS", "WS", "WSS":
		return true
	}
	return false
}
