package b2bua

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// dialog is one leg's dialog state as seen from Switchboard (RFC 3261
// §12): the A leg is a UAS dialog towards the caller, the B leg a UAC
// dialog towards the trunk. Each leg has its own Call-ID and tags.
type dialog struct {
	callID    string
	localTag  string // our tag: To on the A leg, From on the B leg
	remoteTag string
	local     sip.Uri // our URI (From of our requests)
	remote    sip.Uri // the peer's URI (To of our requests)
	contact   sip.Uri // our Contact
	transport string  // udp, tcp...
	// dest is where requests go when the route set is empty and the
	// target cannot be reached directly (the caller's source address, for
	// phones behind NAT, RFC 3581).
	dest string
	// flow, when set, is where every request goes when the route set is
	// empty, whatever the remote target says: the address a registered
	// device's REGISTER came from (RFC 5626 §5.3 idea; NATed and
	// TCP/TLS/WS phones are reachable only there).
	flow string
	// laddr, when set, is our UDP listener requests leave from: a NATed
	// phone's binding lets in only what comes from the address it sent to.
	laddr sip.Addr
	// trunk, when set, is the trunk at the far end: its in-dialog
	// requests may come from any of the trunk's resolved addresses
	// (peer.go).
	trunk *dnssrv.Trunk
	// user is the user at the far end when it proved who it is: the
	// caller that passed digest, or the registered user whose device we
	// called (on the flow it registered from). "" for trunks and
	// security.trusted_callers hosts. Transfers and Replaces are allowed by it
	// (refer.go).
	user string

	// inviteSeq is the CSeq number of the INVITE that formed a UAS
	// dialog (0: unknown): the ACK of its 2xx carries it (RFC 3261
	// §13.2.2.4), the late ACK of an earlier 407 on the same tags does not.
	inviteSeq uint32

	mu           sync.Mutex
	localSeq     uint32
	remoteTarget sip.Uri   // the peer's Contact (§12.1.1, §12.1.2)
	routes       []sip.Uri // the route set (§12.1.1: Record-Route as is; §12.1.2: reversed)
	// peers are the addresses the far end's requests may come from: the
	// source of the INVITE that formed a UAS dialog, where we sent the
	// INVITE of a UAC dialog and where its answer came from (peer.go).
	peers []netip.Addr
}

// key is the dialog's lookup key for requests that reach us: Call-ID and
// our tag (the To tag of an in-dialog request, RFC 3261 §12.2.2).
func (d *dialog) key() string { return dialogKey(d.callID, d.localTag) }

func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }

// newRequest builds an in-dialog request (RFC 3261 §12.2.1.1): Request-URI
// is the remote target, the route set becomes Route headers (loose routing,
// RFC 3261 §16.12), CSeq grows by one.
func (d *dialog) newRequest(method sip.RequestMethod) *sip.Request {
	d.mu.Lock()
	d.localSeq++
	seq := d.localSeq
	d.mu.Unlock()
	return d.requestWithSeq(method, seq)
}

// requestWithSeq builds an in-dialog request with the CSeq number given,
// leaving the dialog's sequence alone: an ACK for a 2xx carries the
// INVITE's number (RFC 3261 §13.2.2.4).
func (d *dialog) requestWithSeq(method sip.RequestMethod, seq uint32) *sip.Request {
	d.mu.Lock()
	target := d.remoteTarget
	routes := append([]sip.Uri(nil), d.routes...)
	d.mu.Unlock()

	req := sip.NewRequest(method, target)
	for _, r := range routes {
		req.AppendHeader(&sip.RouteHeader{Address: r})
	}
	from := &sip.FromHeader{Address: d.local}
	from.Params = sip.NewParams()
	from.Params.Add("tag", d.localTag)
	to := &sip.ToHeader{Address: d.remote}
	to.Params = sip.NewParams()
	to.Params.Add("tag", d.remoteTag)
	cid := sip.CallIDHeader(d.callID)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&mf)
	req.AppendHeader(&sip.ContactHeader{Address: d.contact})
	req.SetTransport(d.transport)
	req.SetDestination(d.destination(target, routes))
	if d.laddr.IP != nil {
		req.Laddr = d.laddr
	}
	return req
}

// destination is the next hop: the first route, else the remote target,
// else (for a target we cannot use) dest.
func (d *dialog) destination(target sip.Uri, routes []sip.Uri) string {
	if len(routes) > 0 {
		return hostPort(routes[0])
	}
	if d.flow != "" {
		return d.flow
	}
	if d.dest != "" {
		return d.dest
	}
	return hostPort(target)
}

func hostPort(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port))
}

// routeSet reads Record-Route headers of msg; reversed for a UAC dialog
// (RFC 3261 §12.1.2), in order for a UAS dialog (§12.1.1).
func routeSet(hs []sip.Header, reverse bool) []sip.Uri {
	var out []sip.Uri
	for _, h := range hs {
		rr, ok := h.(*sip.RecordRouteHeader)
		if !ok {
			var u sip.Uri
			if err := sip.ParseUri(trimAngle(h.Value()), &u); err != nil {
				continue
			}
			out = append(out, u)
			continue
		}
		out = append(out, rr.Address)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

func trimAngle(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}
