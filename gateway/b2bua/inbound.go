package b2bua

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// inboundResolveTimeout bounds the resolution of a trunk's targets while
// an INVITE waits (they come from the DNS cache nearly always).
const inboundResolveTimeout = 500 * time.Millisecond

// caller is who placed a call: an authenticated user, or a trunk (or a
// trusted network) calling in.
type caller struct {
	user  string        // authenticated username; "" when inbound
	trunk *dnssrv.Trunk // the trunk the INVITE came from, if known
	// number is the calling number an inbound call presents (the From
	// user part).
	number string
	// display is the display name of the caller's From: the PBX's name
	// for its caller, kept on inbound calls (identity.go).
	display string
	// privacy is the caller's Privacy header (RFC 3323), if any.
	privacy string
}

// withPresentation adds the display name and Privacy of req to who.
func (c caller) withPresentation(req *sip.Request) caller {
	if from := req.From(); from != nil {
		c.display = from.DisplayName
	}
	if h := req.GetHeader("Privacy"); h != nil {
		c.privacy = h.Value()
	}
	return c
}

func (c caller) inbound() bool { return c.user == "" }

// inbound tells whether req comes from a trunk or a trusted network and
// may call local users without proxy authentication. A request whose
// From names one of our users in one of our domains is never inbound: our
// users prove who they are with digest (RFC 3261 §22.3), wherever they
// call from, so a trusted LAN is no way to impersonate them.
func (b *B2BUA) inbound(req *sip.Request) (caller, bool) {
	from := req.From()
	if from == nil {
		return caller{}, false
	}
	if b.ourDomain(from.Address.Host) && b.isUser(from.Address.User) {
		return caller{}, false
	}
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return caller{}, false
	}
	ip := src.Addr().Unmap()
	c := caller{number: from.Address.User}
	if tr := b.trunkAt(ip); tr != nil {
		c.trunk = tr
	} else if b.o.TrustedCallers == nil || !b.o.TrustedCallers(ip) {
		return caller{}, false
	}
	if n := b.o.Numbering; n != nil {
		name := ""
		if c.trunk != nil {
			name = c.trunk.Name()
		}
		c.number = n.Inbound(name, c.number)
	}
	return c, true
}

// trunkAt returns the trunk one of whose current targets has address ip
// (RFC 3263 targets, as dnssrv resolved them: a PBX sends from the
// address we send to; over TCP from another port, so the port is not
// compared).
func (b *B2BUA) trunkAt(ip netip.Addr) *dnssrv.Trunk {
	trunks := b.live().Trunks
	if len(trunks) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(b.ctx, inboundResolveTimeout)
	defer cancel()
	for _, tr := range trunks {
		ts, err := tr.Targets(ctx)
		if err != nil {
			continue
		}
		for _, t := range ts {
			if t.Addr.Addr().Unmap() == ip {
				return tr
			}
		}
	}
	return nil
}

func (b *B2BUA) ourDomain(host string) bool {
	for _, d := range b.domains() {
		if strings.EqualFold(d, host) {
			return true
		}
	}
	return false
}

// isUser reports whether name is one of our users.
func (b *B2BUA) isUser(name string) bool {
	for _, alg := range []string{"MD5", "SHA-256"} {
		if _, ok := b.o.Users.HA1(name, alg); ok {
			return true
		}
	}
	return false
}
