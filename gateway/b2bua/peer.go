package b2bua

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// In-dialog requests are bound to their dialog's peer (RFC 3261 §12.2.2:
// a request is matched by Call-ID, local tag and remote tag). Our tag in
// To finds the dialog; the From tag must be the peer's tag, and the
// request must come from where the peer is: the source address the
// dialog was formed with (for a caller behind NAT, the public address its
// INVITE came from), where we sent the dialog's INVITE and where its
// answers came from, or, for a trunk, any of the trunk's resolved
// addresses. Anything else gets 481 and is counted
// (B2BUA.ForeignRequests): a stranger who learnt or guessed a tag can
// neither hang up nor re-INVITE a call.
//
// Addresses are compared without the port: a phone's requests may leave
// from another port than the one it sent its INVITE from (TCP, TLS, WS
// reconnections; some phones use one socket per transaction), and the
// IP is what a stranger elsewhere cannot be. A phone that changes its
// address in mid-call (Wi-Fi to mobile) loses the call's in-dialog
// requests: it must call again.

// Errors of peer checks; for logs and tests.
var (
	errForeignTag    = errors.New("b2bua: From tag is not the dialog's peer's")
	errForeignSource = errors.New("b2bua: request does not come from the dialog's peer")
)

// addPeer adds the IP of addr (host:port) to the addresses d's peer sends
// from.
func (d *dialog) addPeer(addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addPeerLocked(addr)
}

func (d *dialog) addPeerLocked(addr string) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return // a host name (a route's): not a source we can compare
	}
	ip := ap.Addr().Unmap()
	for _, p := range d.peers {
		if p == ip {
			return
		}
	}
	d.peers = append(d.peers, ip)
}

// checkPeer reports why req cannot be from d's peer; nil when it can.
func (b *B2BUA) checkPeer(d *dialog, req *sip.Request) error {
	var ftag string
	if f := req.From(); f != nil {
		ftag, _ = f.Params.Get("tag")
	}
	d.mu.Lock()
	rtag := d.remoteTag
	peers := d.peers
	d.mu.Unlock()
	if ftag != rtag {
		return fmt.Errorf("%w: %q", errForeignTag, ftag)
	}
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return fmt.Errorf("%w: source %q", errForeignSource, req.Source())
	}
	ip := ap.Addr().Unmap()
	for _, p := range peers {
		if p == ip {
			return nil
		}
	}
	if d.trunk != nil && b.trunkHas(d, ip) {
		return nil
	}
	return fmt.Errorf("%w: %s", errForeignSource, ip)
}

// trunkHas reports whether ip is one of the current targets of d's trunk
// (a PBX cluster may send a BYE from another node than the one we called).
func (b *B2BUA) trunkHas(d *dialog, ip netip.Addr) bool {
	ctx, cancel := context.WithTimeout(b.ctx, inboundResolveTimeout)
	defer cancel()
	ts, err := d.trunk.Targets(ctx)
	if err != nil {
		return false
	}
	for _, t := range ts {
		if t.Addr.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}

// foreign counts and logs an in-dialog request that named a dialog of
// ours but is not from its peer.
func (b *B2BUA) foreign(req *sip.Request, err error) {
	b.foreignReqs.Add(1)
	b.log.Debug("in-dialog request from a stranger", "method", req.Method, "from", req.Source(), "error", err)
}

// ForeignRequests is the number of in-dialog requests that named one of
// our dialogs by Call-ID and tag but came from another party than the
// dialog's peer (another From tag or source) and got 481.
func (b *B2BUA) ForeignRequests() uint64 { return b.foreignReqs.Load() }
