package b2bua

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// Who may transfer what (issue 10). The gateway carries transfers out
// itself (refer.go), so a REFER makes it place a call: that call gets the
// policy of a new call from the transferor, the party at the far end of
// the leg the REFER came on.
//
//   - A transferor that proved who it is (dialog.user: a caller that passed
//     digest, a registered user's device we called) transfers where that
//     user may dial: local users and trunks, through the numbering plan
//     and its class of service (the admission in routeTransfer).
//   - A transferor that did not (a trunk, a security.trusted_callers host: it calls
//     in without credentials) transfers only where it could call in
//     without credentials: to local users. Anything else, a number on a
//     trunk above all (0900...), gets 403 to the REFER, before it is
//     accepted: the gateway never dials out on a trunk for it. A PBX that
//     wants such a transfer carries it out itself.
//   - An attended transfer (Replaces in Refer-To) and an INVITE with
//     Replaces (RFC 3891 §7) join calls the requester is a party of only:
//     the replaced dialog's leg or its peer leg must be the requester's
//     (same authenticated user, or the same address as that leg's peer).

// errTransferForbidden: the transferor may not transfer there (403).
var errTransferForbidden = errors.New("b2bua: transfer not allowed")

// transferRoute is where a blind transfer goes, as policy allowed it.
type transferRoute struct {
	num string // the target as dialled (the Refer-To user)
	out string // the number sent to a trunk (numbering plan)
	tgt target
}

// routeTransfer routes a blind transfer's target num for the transferor
// at x's far end, with the policy of a new call from it.
func (c *call) routeTransfer(x *dialog, num string) (transferRoute, error) {
	gw := c.gw
	authenticated := x.user != ""
	tgt, err := gw.resolve(num, !authenticated)
	if err != nil {
		if !authenticated {
			return transferRoute{}, fmt.Errorf("%w: %s did not authenticate and may transfer to local users only: %w",
				errTransferForbidden, partyName(x), err)
		}
		return transferRoute{}, err
	}
	tr := transferRoute{num: num, out: num, tgt: tgt}
	if tgt.trunk != nil {
		if n := gw.o.Numbering; n != nil {
			out, err := n.Outbound(tgt.trunk.Name(), num)
			if err != nil {
				return transferRoute{}, fmt.Errorf("%w: %w", ErrBadNumber, err)
			}
			tr.out = out
		}
	}
	// Class of service (policy.go): the transfer target is admitted as a
	// new call from the transferor (x's far end), against its class and
	// caps; the ticket is held until c ends. A refusal is the final
	// NOTIFY's status (transferRefusal classifies it), after the 202.
	if err := c.admitTo(c.party(caller{user: x.user, trunk: x.trunk}), num, tgt, false); err != nil {
		return transferRoute{}, err
	}
	return tr, nil
}

// transferRefusal is the final response to a REFER whose transfer policy
// refused.
func transferRefusal(err error) (int, string) {
	if errors.Is(err, errTransferForbidden) {
		return 403, "Forbidden"
	}
	o := classify(err)
	return o.Status, o.Reason
}

// partyName names the far end of d for logs: its user, its trunk, or its
// address.
func partyName(d *dialog) string {
	switch {
	case d.user != "":
		return d.user
	case d.trunk != nil:
		return "trunk " + d.trunk.Name()
	}
	return d.remote.User
}

// mayJoin reports whether the transferor at x's far end may join the
// dialog rep names to its call (attended transfer): rep must name a leg
// of ours whose call the transferor is a party of.
func (b *B2BUA) mayJoin(x *dialog, rep replaces) error {
	r := b.lookupReplaces(rep)
	if r == nil {
		return nil // attended answers 481 through the NOTIFY, as before
	}
	if !b.partyOf(r, x.user, x.peerAddrs()) {
		return fmt.Errorf("%w: %s is not a party of call %s", errTransferForbidden, partyName(x), rep.callID)
	}
	return nil
}

// partyOf reports whether a requester is a party of r's call: user (when
// authenticated) is the user of r's dialog or of its peer leg, or one of
// addrs is where one of those legs' far end is.
func (b *B2BUA) partyOf(r *leg, user string, addrs []netip.Addr) bool {
	b.mu.Lock()
	legs := []*dialog{r.d, r.peer}
	b.mu.Unlock()
	for _, d := range legs {
		if d == nil {
			continue
		}
		if user != "" && d.user == user {
			return true
		}
		for _, p := range d.peerAddrs() {
			for _, a := range addrs {
				if a == p {
					return true
				}
			}
		}
	}
	return false
}

// peerAddrs is a copy of the addresses d's far end sends from.
func (d *dialog) peerAddrs() []netip.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]netip.Addr(nil), d.peers...)
}

// sourceOf is the IP req came from, as a list for partyOf.
func sourceOf(req *sip.Request) []netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return nil
	}
	return []netip.Addr{ap.Addr().Unmap()}
}
