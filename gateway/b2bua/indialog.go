package b2bua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// What happens on an answered call: re-INVITE and UPDATE (reinvite.go),
// INFO and NOTIFY passed through (info.go), REFER and Replaces (refer.go),
// session timers (timer.go). This file holds the state they share and the
// checks every in-dialog request goes through (RFC 3261 §12.2.2).

// inDialogTimeout bounds a request we send on an established dialog and
// wait for (Timer B/F, RFC 3261 §17.1).
const inDialogTimeout = 32 * time.Second

// established is the in-dialog state of one answered call. Its zero value is
// ready; est.mu guards it. Lock order: B2BUA.mu before est.mu.
type established struct {
	mu   sync.Mutex
	up   bool // the call was answered and startTimers ran
	busy bool // an offer/answer exchange is under way (RFC 3261 §14.1, RFC 3311 §5.2)
	// from is the last SDP each far end sent, as it sent it; sent is the
	// last SDP we sent to it. By dialog, so that a transfer starts afresh.
	from, sent map[*dialog][]byte
	// seq is the highest CSeq number seen from each far end (RFC 3261
	// §12.2.2).
	seq    map[*dialog]uint32
	timers map[*dialog]*legTimer // timer.go
	acks   map[*dialog]*ackWait  // 2xx to a re-INVITE waiting for its ACK
	// referSeq is the CSeq of the REFER being carried out: the id of its
	// subscription (RFC 3515 §2.4.6).
	referSeq uint32
	// noReferSub: the REFER said Refer-Sub: false (RFC 4488), or the
	// transferor answered a NOTIFY with 481 (RFC 5057 §5.6): no NOTIFYs.
	noReferSub bool
	// xfer is the transfer under way, while onRefer runs (transferor.go).
	xfer *transferRun
}

// ackWait is a 2xx we sent to a re-INVITE: its CSeq and where the ACK
// goes (RFC 3261 §13.3.1.4).
type ackWait struct {
	seq  uint32
	got  chan struct{} // closed by the first ACK
	once sync.Once
	req  *sip.Request // that ACK, set before got closes
}

// take records the first ACK for the 2xx.
func (w *ackWait) take(ack *sip.Request) {
	w.once.Do(func() { w.req = ack; close(w.got) })
}

// ack is the ACK taken, nil when none came.
func (w *ackWait) ack() *sip.Request {
	if isClosed(w.got) {
		return w.req
	}
	return nil
}

func (e *established) init() {
	if e.from == nil {
		e.from, e.sent = map[*dialog][]byte{}, map[*dialog][]byte{}
		e.seq = map[*dialog]uint32{}
		e.timers, e.acks = map[*dialog]*legTimer{}, map[*dialog]*ackWait{}
	}
}

// begin marks an offer/answer exchange as under way; false when one
// already is (the caller answers 491, RFC 3261 §14.1).
func (e *established) begin() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.busy || !e.up {
		return false
	}
	e.busy = true
	return true
}

// beginWait is begin, waiting up to d for an exchange under way to end
// (a REFER right after a re-INVITE: no glare, just order).
func (e *established) beginWait(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if e.begin() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// beginAnswered is begin for a request that may cross the call's 2xx:
// the peer can send it as soon as it has our 2xx, a moment before
// startTimers marks the call up. It waits up to d for that, not for an
// exchange under way (that one is 491 at once, RFC 3261 §14.1).
func (e *established) beginAnswered(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		e.mu.Lock()
		up := e.up
		e.mu.Unlock()
		if up || time.Now().After(deadline) {
			return e.begin()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *established) finish() {
	e.mu.Lock()
	e.busy = false
	e.mu.Unlock()
}

// checkSeq records a request's CSeq from d's far end; false when it is
// lower than one already seen (RFC 3261 §12.2.2: 500).
func (e *established) checkSeq(d *dialog, seq uint32, method sip.RequestMethod) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.init()
	last, seen := e.seq[d]
	if seen && (seq < last || seq == last && method != sip.ACK && method != sip.CANCEL) {
		return false
	}
	e.seq[d] = seq
	return true
}

// inDialog finds the leg of an in-dialog request and checks its CSeq. It
// answers 481 for an unknown dialog and 500 for a CSeq out of order
// (RFC 3261 §12.2.2) and returns nil then.
func (b *B2BUA) inDialog(req *sip.Request, tx sip.ServerTransaction) *leg {
	l := b.lookup(req)
	if l == nil {
		b.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return nil
	}
	if cs := req.CSeq(); cs == nil || !l.c.est.checkSeq(l.d, cs.SeqNo, req.Method) {
		b.respond(tx, req, 500, "Server Internal Error", nil,
			sip.NewHeader("Warning", `399 switchboard "CSeq out of order"`))
		return nil
	}
	return l
}

// refreshTarget applies a target refresh request's Contact to d (RFC 3261
// §12.2.2: re-INVITE and UPDATE may change the remote target).
func refreshTarget(d *dialog, m headers) {
	ct, ok := m.GetHeader("Contact").(*sip.ContactHeader)
	if !ok || ct == nil || ct.Address.Host == "" {
		return
	}
	d.mu.Lock()
	d.remoteTarget = ct.Address
	d.mu.Unlock()
}

// send sends an in-dialog request and waits for its final response.
func (c *call) send(req *sip.Request) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(c.gw.ctx, inDialogTimeout)
	defer cancel()
	res, err := c.gw.o.Client.Do(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", req.Method, req.CallID().Value(), err)
	}
	return res, nil
}

// respondIn answers an in-dialog request on the leg's dialog: our tag is
// already in To; our Contact for target refresh requests (RFC 3261
// §12.1.1), the body with its type.
func (c *call) respondIn(tx sip.ServerTransaction, req *sip.Request, d *dialog, code int, reason string,
	ctype string, body []byte, hs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	if code >= 200 && code < 300 && (req.Method == sip.INVITE || req.Method == sip.UPDATE) {
		res.AppendHeader(&sip.ContactHeader{Address: d.contact})
	}
	if len(body) > 0 && ctype != "" {
		res.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	for _, h := range hs {
		res.AppendHeader(h)
	}
	if c.gw.o.ServerName != "" {
		res.AppendHeader(sip.NewHeader("Server", c.gw.o.ServerName))
	}
	if err := tx.Respond(res); err != nil {
		c.gw.log.Debug("sending in-dialog response", "code", code, "error", err)
	}
	return res
}

// goneLeg reports whether the other leg's answer to a request we relayed
// says its dialog is over: 481, 408 or no answer at all (RFC 3261
// §12.2.1.2: the UAC should end the dialog). The call then ends.
func (c *call) goneLeg(res *sip.Response, err error) bool {
	if res != nil {
		return res.StatusCode == 481 || res.StatusCode == 408
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout)
}

// relayError answers req with the final status of a request that failed on
// the other leg: its status when it answered, else 500 or 408.
func (c *call) relayError(tx sip.ServerTransaction, req *sip.Request, d *dialog, res *sip.Response, err error) {
	switch {
	case res != nil:
		var hs []sip.Header
		if h := res.GetHeader("Retry-After"); h != nil {
			hs = append(hs, sip.NewHeader("Retry-After", h.Value()))
		}
		if h := res.GetHeader("Warning"); h != nil {
			hs = append(hs, sip.NewHeader("Warning", h.Value()))
		}
		c.respondIn(tx, req, d, res.StatusCode, res.Reason, "", nil, hs...)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, sip.ErrTransactionTimeout):
		c.respondIn(tx, req, d, 408, "Request Timeout", "", nil)
	default:
		if code, text, ok := sdp.Warning(err); ok {
			c.respondIn(tx, req, d, 488, "Not Acceptable Here", "", nil,
				sip.NewHeader("Warning", fmt.Sprintf("%d switchboard %q", code, text)))
			return
		}
		c.respondIn(tx, req, d, 500, "Server Internal Error", "", nil)
	}
}

// onOptions answers OPTIONS inside a dialog with 200 (RFC 3261 §11.2),
// 481 for a dialog we do not have; outside a dialog next answers.
func (b *B2BUA) onOptions(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if to := req.To(); to == nil || !to.Params.Has("tag") {
			next(req, tx)
			return
		}
		l := b.inDialog(req, tx)
		if l == nil {
			return
		}
		b.respond(tx, req, 200, "OK", nil,
			sip.NewHeader("Allow", allowInDialog),
			sip.NewHeader("Accept", "application/sdp"),
			sip.NewHeader("Supported", "timer, replaces"))
	}
}

// InDialogOptions wraps the OPTIONS handler of the SIP server: OPTIONS
// with a To tag (inside a dialog) are answered by the B2BUA, 200 for its
// dialogs and 481 for others; the rest go to next.
func (b *B2BUA) InDialogOptions(next sipgo.RequestHandler) sipgo.RequestHandler {
	return b.onOptions(next)
}

// allowInDialog lists the methods a dialog of ours takes (RFC 3261 §20.5).
const allowInDialog = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER, NOTIFY"

// headers is what requests and responses share for reading headers.
type headers interface {
	GetHeader(name string) sip.Header
	GetHeaders(name string) []sip.Header
}

// hasOption reports whether a Supported or Require header of m lists tag.
func hasOption(m headers, header, tag string) bool {
	for _, h := range m.GetHeaders(header) {
		for _, v := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(v), tag) {
				return true
			}
		}
	}
	return false
}

// allows reports whether m's Allow header lists method; unknown (no Allow)
// is false.
func allows(m headers, method sip.RequestMethod) bool {
	return hasOption(m, "Allow", string(method))
}
