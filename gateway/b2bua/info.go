package b2bua

import (
	"github.com/emiago/sipgo/sip"
)

// passHeaders are the headers of an in-dialog request that travel with it
// to the other leg: the body's description, INFO packages (RFC 6086 §7),
// event state (RFC 6665 §8.2).
var passHeaders = []string{
	"Content-Type", "Content-Disposition", "Content-Language", "Content-Encoding",
	"Info-Package", "Recv-Info", "Event", "Subscription-State",
}

// onInfo handles INFO (RFC 6086): DTMF (application/dtmf-relay or
// application/dtmf) towards a leg that negotiated telephone-event becomes
// RFC 4733 events in its RTP (dtmf.go); everything else passes through to
// the other leg with its body and Content-Type, and the other leg's final
// response comes back.
func (b *B2BUA) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	l := b.inDialog(req, tx)
	if l == nil || l.c.infoAsEvents(l, req, tx) {
		return
	}
	b.passOn(l, req, tx)
}

// onNotify passes NOTIFY inside a dialog through to the other leg (RFC
// 6665 §4.1.3): subscriptions made end to end inside the call.
func (b *B2BUA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to == nil || !to.Params.Has("tag") {
		b.respond(tx, req, 481, "Subscription Does Not Exist", nil)
		return
	}
	b.passThrough(req, tx)
}

// passThrough sends an in-dialog request on to the other leg of its call
// and answers with that leg's final response.
func (b *B2BUA) passThrough(req *sip.Request, tx sip.ServerTransaction) {
	if l := b.inDialog(req, tx); l != nil {
		b.passOn(l, req, tx)
	}
}

// passOn is passThrough for the leg l the request came on.
func (b *B2BUA) passOn(l *leg, req *sip.Request, tx sip.ServerTransaction) {
	c := l.c
	xl, yl := c.legs(l.isA)
	x, y := xl.d, yl.d
	out := y.newRequest(req.Method)
	for _, name := range passHeaders {
		for _, h := range req.GetHeaders(name) {
			out.AppendHeader(sip.NewHeader(name, h.Value()))
		}
	}
	out.SetBody(req.Body())
	res, err := c.send(out)
	if err != nil || res.StatusCode >= 300 {
		if err != nil {
			b.log.Debug("in-dialog request not passed", "method", req.Method, "call_id", x.callID, "error", err)
		}
		c.relayError(tx, req, x, res, err)
		// A NOTIFY's failure ends its subscription usage, not the
		// dialog's INVITE usage: the call goes on (RFC 5057 §5.6, §6).
		if req.Method != sip.NOTIFY && c.goneLeg(res, err) {
			c.end(true, true, err)
		}
		return
	}
	var ctype string
	if h := res.GetHeader("Content-Type"); h != nil {
		ctype = h.Value()
	}
	c.respondIn(tx, req, x, res.StatusCode, res.Reason, ctype, res.Body())
}
