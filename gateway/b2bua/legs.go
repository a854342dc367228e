package b2bua

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// byeTimeout bounds a BYE transaction (Timer F, RFC 3261 §17.1.2.2).
const byeTimeout = 32 * time.Second

// shutdownByeTimeout bounds the BYEs sent when the gateway stops.
const shutdownByeTimeout = 2 * time.Second

// newUASDialog is the A leg's dialog from the caller's INVITE
// (RFC 3261 §12.1.1): our tag is new, the route set is the Record-Route
// in order, the remote target is the Contact.
func newUASDialog(req *sip.Request, tag string, contact sip.Uri) *dialog {
	d := &dialog{
		callID:    string(*req.CallID()),
		localTag:  tag,
		local:     req.To().Address,
		remote:    req.From().Address,
		contact:   contact,
		transport: req.Transport(),
		// The caller's NAT binding: in-dialog requests go where its
		// INVITE came from (RFC 3581 §4 symmetric response routing idea).
		dest:   req.Source(),
		routes: routeSet(req.GetHeaders("Record-Route"), false),
	}
	d.remoteTag, _ = req.From().Params.Get("tag")
	if cs := req.CSeq(); cs != nil {
		d.inviteSeq = cs.SeqNo
	}
	if ct := req.Contact(); ct != nil {
		d.remoteTarget = ct.Address
	} else {
		d.remoteTarget = req.From().Address
	}
	if len(d.routes) > 0 {
		d.dest = ""
	}
	if udpTransport(d.transport) && req.Laddr.IP != nil {
		d.laddr = req.Laddr // the listener the caller sent to
	}
	d.addPeer(req.Source())
	return d
}

func udpTransport(transport string) bool { return strings.EqualFold(transport, "udp") }

// newUACDialog is the B leg's dialog from the INVITE we sent; the remote
// tag, target and route set come with the response (setFromResponse).
func newUACDialog(inv *sip.Request) *dialog {
	d := &dialog{
		callID:       string(*inv.CallID()),
		local:        inv.From().Address,
		remote:       inv.To().Address,
		transport:    inv.Transport(),
		localSeq:     inv.CSeq().SeqNo,
		remoteTarget: inv.Recipient,
		dest:         inv.Destination(),
	}
	d.localTag, _ = inv.From().Params.Get("tag")
	if udpTransport(d.transport) && inv.Laddr.IP != nil {
		d.laddr = inv.Laddr
	}
	if ct := inv.Contact(); ct != nil {
		d.contact = ct.Address
	}
	d.addPeer(inv.Destination())
	return d
}

// setFromResponse completes a UAC dialog from a 2xx (RFC 3261 §12.1.2):
// To tag, Contact as remote target, Record-Route reversed as route set.
func (d *dialog) setFromResponse(res *sip.Response) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.remoteTag, _ = res.To().Params.Get("tag")
	if ct := res.Contact(); ct != nil {
		d.remoteTarget = ct.Address
		d.dest = ""
	}
	d.routes = routeSet(res.GetHeaders("Record-Route"), true)
	d.addPeerLocked(res.Source())
}

// newInviteB builds the B leg's INVITE to trunk for num: the number at
// the trunk's domain as To and Request-URI, the caller as the trunk is to
// see it (identity.go). Without a trunk domain, our domain is in To and
// From and dnssrv's Prepare sets the Request-URI's host to the server.
func (c *call) newInviteB(trunk string, num string, extra ...sip.Header) *sip.Request {
	s := c.gw.trunkSettings(trunk)
	domain := c.gw.o.Domain
	if s.Domain != "" {
		domain = s.Domain
	}
	ruri := sip.Uri{Scheme: "sip", User: num, Host: domain}
	req := c.newInvite(ruri, num, "UDP", extra...)
	req.To().Address.Host = domain
	c.applyIdentity(req, s, domain)
	return req
}

// newInvite builds a B-leg INVITE: a new Call-ID and From tag (ours, for
// loop detection), the caller as From user, toUser at our domain as To,
// our Via branch, Max-Forwards one less than the caller's (RFC 3261
// §16.6 step 3), the rewritten offer.
func (c *call) newInvite(ruri sip.Uri, toUser, transport string, extra ...sip.Header) *sip.Request {
	gw := c.gw
	req := sip.NewRequest(sip.INVITE, ruri)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport, Params: sip.NewParams()}
	via.Params.Add("branch", gw.newBranch())
	via.Params.Add("rport", "")
	// The caller as a phone sees it; towards a trunk, newInviteB applies
	// the trunk's settings (identity.go).
	id := c.presented(TrunkSettings{})
	from := &sip.FromHeader{DisplayName: id.display, Address: sip.Uri{Scheme: "sip", User: id.user, Host: gw.o.Domain}, Params: sip.NewParams()}
	if id.anonymous {
		from.DisplayName, from.Address = "Anonymous", anonymousFrom
	}
	from.Params.Add("tag", randomTag())
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: toUser, Host: gw.o.Domain}, Params: sip.NewParams()}
	cid := sip.CallIDHeader(gw.newCallID())
	c.observeLeg(string(cid)) // observe.go: the ladder joins the legs
	mf := sip.MaxForwardsHeader(uint32(c.mf))
	req.AppendHeader(via)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&mf)
	req.AppendHeader(&sip.ContactHeader{Address: gw.o.Contact(transport)})
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER, NOTIFY")) // in-dialog methods: indialog.go
	req.AppendHeader(sip.NewHeader("Supported", "100rel"))
	for _, h := range extra {
		req.AppendHeader(h)
	}
	for _, h := range c.timerOfferB() { // timer hook (timer.go)
		req.AppendHeader(h)
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetTransport(transport)
	req.SetBody(c.bodyB)
	return req
}

// respondA sends a response relayed from the B leg to the caller, with
// our To tag (RFC 3261 §8.2.6.2), our Contact and the rewritten SDP.
func (c *call) respondA(tx sip.ServerTransaction, req *sip.Request, code int, reason string, body []byte, hs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	res.To().Params.Add("tag", c.a.localTag) // replaces sipgo's random tag
	res.AppendHeader(&sip.ContactHeader{Address: c.a.contact})
	for _, h := range hs {
		res.AppendHeader(h)
	}
	if len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	if code >= 200 && code < 300 {
		for _, h := range c.timerA(req) { // timer hook (timer.go)
			res.AppendHeader(h)
		}
		// What the dialog takes (RFC 3261 §13.3.1.4): phones use UPDATE
		// and INFO only when Allow lists them (indialog.go).
		res.AppendHeader(sip.NewHeader("Allow", allowInDialog))
	}
	if c.gw.o.ServerName != "" {
		res.AppendHeader(sip.NewHeader("Server", c.gw.o.ServerName))
	}
	if err := tx.Respond(res); err != nil {
		c.gw.log.Debug("sending response", "code", code, "error", err)
	}
	return res
}

// answerNew sends our 2xx with SDP body to an INVITE that forms dialog n
// on an answered call (with Replaces, RFC 3891 §3; a pickup): our tag and
// Contact (RFC 3261 §12.1.1), what the dialog takes (Allow), the session
// timer lt agreed with the far end (RFC 4028 §9: Session-Expires tells it
// who refreshes; nil: no timer, Supported: timer alone) and Server. The
// ACK is awaited by the caller (awaitAck).
func (b *B2BUA) answerNew(tx sip.ServerTransaction, req *sip.Request, n *dialog, lt *legTimer, body []byte) *sip.Response {
	out := sip.NewResponseFromRequest(req, 200, "OK", body)
	out.To().Params.Add("tag", n.localTag)
	out.AppendHeader(&sip.ContactHeader{Address: n.contact})
	out.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	out.AppendHeader(sip.NewHeader("Allow", allowInDialog))
	hs := []sip.Header{sip.NewHeader("Supported", "timer")}
	if lt != nil {
		hs = lt.respHeaders()
	}
	for _, h := range hs {
		out.AppendHeader(h)
	}
	if b.o.ServerName != "" {
		out.AppendHeader(sip.NewHeader("Server", b.o.ServerName))
	}
	if err := tx.Respond(out); err != nil {
		b.log.Debug("sending 2xx to a new dialog", "call_id", n.callID, "error", err)
	}
	return out
}

// retransmit2xx sends the 2xx to the caller again (retransmit: T1
// doubling up to T2, RFC 3261 §13.3.1.4; the server transaction does not,
// RFC 6026 §7.1) until its ACK comes. Without an ACK for 64*T1 the call
// ends (same section).
func (c *call) retransmit2xx(tx sip.ServerTransaction, res *sip.Response) {
	stop := make(chan struct{})
	defer close(stop)
	go c.gw.passAcks(tx, c.ackc, stop)
	err := retransmit(func() error { return tx.Respond(res) }, c.ackc, c.done)
	if errors.Is(err, errRetransmitTimeout) {
		c.gw.log.Info("no ACK for 2xx", "call_id", c.a.callID)
		c.end(true, true, errNoAck)
	}
	// Another error: the transaction is gone (Timer L).
}

// wait holds the INVITE handler until the call ends: BYE on either leg,
// media timeout or shutdown.
func (c *call) wait() {
	select {
	case <-c.done:
	case <-c.media.Timeout():
		c.end(true, true, ErrMediaTimeout)
	case <-c.browserGone(): // webrtc.go
		c.end(true, true, errBrowserGone)
	case <-c.gw.ctx.Done():
		c.end(true, true, nil)
	}
	<-c.done
}

// hangup ends the call after a BYE from one leg: BYE to the other one
// (toA: the caller), with the Reason headers of the BYE (RFC 3326,
// reason.go).
func (c *call) hangup(toA bool, cause error, reasons ...sip.Header) {
	if toA {
		c.setEndedBy(endedByCallee)
	} else {
		c.setEndedBy(endedByCaller)
	}
	c.endWith(toA, !toA, cause, reasons)
}

// end ends the call once: BYE to the legs named, close the media, forget
// the dialogs. Every answered call ends here. The BYEs say why when the
// gateway ends the call itself (reason.go).
func (c *call) end(byeA, byeB bool, cause error) {
	c.endWith(byeA, byeB, cause, nil)
}

// endReason is end with reason as the Reason header (RFC 3326) of the
// BYEs sent.
func (c *call) endReason(byeA, byeB bool, cause error, reason string) {
	c.endWith(byeA, byeB, cause, []sip.Header{sip.NewHeader("Reason", reason)})
}

// endWith is end with the Reason headers of the BYEs; nil: the
// gateway's own for cause.
func (c *call) endWith(byeA, byeB bool, cause error, reasons []sip.Header) {
	c.endOnce.Do(func() {
		if reasons == nil {
			reasons = c.reasonFor(cause)
		}
		c.setEndedBy(endedByGateway) // unless hangup said who
		c.gw.removeDialogs(c)
		c.observe(CallEnded, CallEvent{Status: 200, Cause: classify(cause).Cause}) // observe.go
		go func() {
			var wg sync.WaitGroup
			for _, l := range []struct {
				bye bool
				d   *dialog
			}{{byeA, c.a}, {byeB, c.b}} {
				if l.bye {
					wg.Add(1)
					go func() { defer wg.Done(); c.sendBye(l.d, reasons...) }()
				}
			}
			wg.Wait()
			_ = c.media.Close()
			a, b := c.media.Stats()
			o := classify(cause)
			c.gw.log.Info("call ended", "caller", c.callerName(), "number", c.num, "cause", o.Cause,
				"duration", time.Since(c.answered), "rtp_a", a.Packets, "rtp_b", b.Packets)
			c.writeCDR(200, o.Cause)
			close(c.done)
		}()
	})
}

// sendBye sends BYE on d with the dialog's next CSeq number and hs
// (Reason, RFC 3326), and waits for its response (RFC 3261 §15.1.1):
// bye.
func (c *call) sendBye(d *dialog, hs ...sip.Header) { c.gw.bye(d, 0, hs...) }

// bye is the one BYE sender: BYE on d with CSeq number seq (0: the
// dialog's next, RFC 3261 §12.2.1.1; a stray 2xx's dialog has no
// sequence of ours, stray.go) and hs, waiting for its response within
// Timer F (§17.1.2.2), at most 2 s once the gateway shuts down: a peer
// that never answers must not hold up Close, and a BYE still goes out.
func (b *B2BUA) bye(d *dialog, seq uint32, hs ...sip.Header) {
	timeout := byeTimeout
	if b.ctx.Err() != nil {
		timeout = shutdownByeTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stop := context.AfterFunc(b.ctx, func() {
		t := time.NewTimer(shutdownByeTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	})
	defer stop()
	if seq == 0 {
		seq = d.nextSeq()
	}
	req := d.requestWithSeq(sip.BYE, seq)
	for _, h := range hs {
		req.AppendHeader(h)
	}
	res, err := b.o.Client.Do(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		b.log.Debug("BYE failed", "call_id", d.callID, "error", err)
		return
	}
	if res.StatusCode >= 300 {
		b.log.Debug("BYE rejected", "call_id", d.callID, "status", res.StatusCode)
	}
}

// ack2xx acknowledges a 2xx to an INVITE we sent on d: the one ACK
// builder (RFC 3261 §13.2.2.4), for the B leg's answer, its
// retransmissions, a re-INVITE's or refresh's 2xx, a transfer target's
// and a stray's. The ACK is a request outside any transaction with the
// INVITE's CSeq number; the dialog's own sequence is left alone, so that
// the next request on d is numbered one more than the INVITE (§12.2.1.1:
// contiguous), whatever other goroutine builds it.
func (b *B2BUA) ack2xx(d *dialog, res *sip.Response) {
	b.sendAck(d, res.CSeq().SeqNo)
}

// sendAck is ack2xx with the INVITE's CSeq number given (a stray 2xx).
func (b *B2BUA) sendAck(d *dialog, seq uint32) {
	ack := d.requestWithSeq(sip.ACK, seq)
	ack.RemoveHeader("Contact")
	if err := b.o.Client.WriteRequest(ack, sipgo.ClientRequestAddVia); err != nil {
		b.log.Debug("sending ACK", "call_id", d.callID, "error", err)
	}
}

// cancelBranch sends CANCEL for a B-leg INVITE (RFC 3261 §9.1): same
// Request-URI, Call-ID, To, From, CSeq number and top Via as the INVITE,
// with reason as a Reason header (RFC 3326) when set.
func (c *call) cancelBranch(inv *sip.Request, reason string) {
	cr := sip.NewRequest(sip.CANCEL, inv.Recipient)
	cr.AppendHeader(sip.HeaderClone(inv.Via()))
	for _, h := range inv.GetHeaders("Route") {
		cr.AppendHeader(sip.HeaderClone(h))
	}
	cr.AppendHeader(sip.HeaderClone(inv.From()))
	cr.AppendHeader(sip.HeaderClone(inv.To()))
	cr.AppendHeader(sip.HeaderClone(inv.CallID()))
	cr.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	cr.AppendHeader(&mf)
	if reason != "" {
		cr.AppendHeader(sip.NewHeader("Reason", reason))
	}
	cr.SetTransport(inv.Transport())
	cr.SetDestination(inv.Destination())
	cr.Laddr = inv.Laddr
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		defer cancel()
		noop := func(*sipgo.Client, *sip.Request) error { return nil }
		if _, err := c.gw.o.Client.Do(ctx, cr, noop); err != nil {
			c.gw.log.Debug("CANCEL failed", "error", err)
		}
	}()
}
