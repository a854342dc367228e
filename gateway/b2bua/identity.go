package b2bua

import (
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Who the callee sees: the B leg's From (and, towards a trunk that is
// configured for it, P-Asserted-Identity and Privacy, RFC 3325) is built
// from what the gateway knows of the caller, never copied from the
// caller's INVITE: a phone's own P-Asserted-Identity is not passed on
// (RFC 3325 §5: only a trusted node asserts an identity), and a phone
// presents the user it authenticated as.

// TrunkSettings are per-trunk choices of what the trunk sees (config
// trunks[]).
type TrunkSettings struct {
	// Domain is the trunk's own domain: the host of the Request-URI, To
	// and From of calls to it. "" keeps the server's address in the
	// Request-URI and our domain in From and To.
	Domain string
	// FromUser is the user part presented for a user's calls: "username"
	// (default) or "extension" (the user's extension when it has one).
	FromUser string
	// NoDisplayName leaves the display name out of From (and
	// P-Asserted-Identity).
	NoDisplayName bool
	// AssertIdentity adds P-Asserted-Identity with the caller's identity
	// (RFC 3325 §9.1): the PBX is a trusted node of ours.
	AssertIdentity bool
	// Privacy is "pass" (default: a caller asking for privacy, RFC 3323,
	// is presented as anonymous and its Privacy header goes to the
	// trunk), "id" (Privacy: id on every call, RFC 3325 §9.3) or "none"
	// (no Privacy header, From never anonymous).
	Privacy string
	// FollowRedirects is how many 3xx of this trunk the gateway follows
	// itself (redirect.go); 0 relays them to the caller.
	FollowRedirects int
}

// FromUser values.
const (
	FromUsername  = "username"
	FromExtension = "extension"
)

// Privacy values.
const (
	PrivacyPass = "pass"
	PrivacyID   = "id"
	PrivacyNone = "none"
)

// UserProfile is what the directory says of a user.
type UserProfile struct {
	DisplayName string
	Extension   string
}

// trunkSettings returns the settings of the trunk named name.
func (b *B2BUA) trunkSettings(name string) TrunkSettings {
	return b.live().TrunkSettings[name]
}

// keepHost reports whether a B-leg Request-URI's host is a trunk's own
// domain, which prepare leaves alone (RFC 3263 §4: the request goes to
// the server found for it, the Request-URI keeps the domain).
func (b *B2BUA) keepHost(host string) bool {
	if host == "" || strings.EqualFold(host, b.o.Domain) {
		return false
	}
	for _, s := range b.live().TrunkSettings {
		if strings.EqualFold(s.Domain, host) {
			return true
		}
	}
	return false
}

// identity is how the caller is presented on one B leg.
type identity struct {
	user, display string
	anonymous     bool   // the caller asked for privacy (RFC 3323)
	privacy       string // the caller's Privacy header value
}

// presented is the caller's identity towards a trunk with settings s (s
// is the zero value towards a phone): the user's extension or username
// and configured display name (else the display name its phone sent);
// the number and display name a trunk calling in presented, so phones
// show the PBX's caller name.
func (c *call) presented(s TrunkSettings) identity {
	id := identity{user: c.callerName(), display: c.from.display, privacy: c.from.privacy}
	if c.from.user != "" && c.gw.o.Profile != nil {
		if p, ok := c.gw.o.Profile(c.from.user); ok {
			if s.FromUser == FromExtension && p.Extension != "" {
				id.user = p.Extension
			}
			if p.DisplayName != "" {
				id.display = p.DisplayName
			}
		}
	}
	if s.NoDisplayName {
		id.display = ""
	}
	id.anonymous = s.Privacy != PrivacyNone && wantsPrivacy(id.privacy)
	return id
}

// wantsPrivacy reports whether a Privacy header value asks to hide the
// caller's identity (RFC 3323 §4.2: user, header, id; RFC 3325 §9.3).
func wantsPrivacy(v string) bool {
	for _, t := range strings.Split(v, ";") {
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "user", "header", "id":
			return true
		}
	}
	return false
}

// validPrivacy keeps the RFC 3323 §4.2 and RFC 3325 §9.3 values of a
// caller's Privacy header; "" when none is left.
func validPrivacy(v string) string {
	var out []string
	for _, t := range strings.Split(v, ";") {
		t = strings.ToLower(strings.TrimSpace(t))
		if slices.Contains([]string{"header", "session", "user", "none", "critical", "id"}, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return strings.Join(out, ";")
}

// anonymousFrom is the From of a caller that asked for privacy
// (RFC 3323 §4.1.1.3).
var anonymousFrom = sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}

// applyIdentity sets req's From user, host and display name for the
// caller, and P-Asserted-Identity and Privacy as s says (RFC 3325 §9).
// domain is the host of the identity.
func (c *call) applyIdentity(req *sip.Request, s TrunkSettings, domain string) {
	id := c.presented(s)
	from := req.From()
	if id.anonymous {
		from.Address = anonymousFrom
		from.DisplayName = "Anonymous"
	} else {
		from.Address.User, from.Address.Host = id.user, domain
		from.DisplayName = id.display
	}
	if s.AssertIdentity {
		pai := &sip.FromHeader{DisplayName: id.display, Address: sip.Uri{Scheme: "sip", User: id.user, Host: domain}}
		req.AppendHeader(sip.NewHeader("P-Asserted-Identity", pai.Value()))
	}
	switch priv := validPrivacy(id.privacy); {
	case s.Privacy == PrivacyNone:
	case s.Privacy == PrivacyID, id.anonymous && s.AssertIdentity:
		// An anonymous caller's asserted identity stays in the trusted
		// network (RFC 3325 §9.3).
		req.AppendHeader(sip.NewHeader("Privacy", withID(priv)))
	case priv != "":
		req.AppendHeader(sip.NewHeader("Privacy", priv))
	}
}

// withID is a Privacy value with id among its values (RFC 3325 §9.3).
func withID(priv string) string {
	switch {
	case priv == "" || priv == "none":
		return "id"
	case slices.Contains(strings.Split(priv, ";"), "id"):
		return priv
	}
	return priv + ";id"
}
