package b2bua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Reliable provisional responses (RFC 3262), which sipgo does not do:
//
//   - B leg: a 1xx carrying Require: 100rel and RSeq is acknowledged with
//     a PRACK in its early dialog (RAck: RSeq, CSeq number, method;
//     RFC 3262 §7.2), once per RSeq; a retransmission is not relayed again.
//     Each early dialog (To tag) has its own RSeq space (§3): a callee
//     that forks downstream sends RSeq 1 from each.
//   - A leg: when the caller's INVITE requires 100rel, the 18x we relay
//     carry Require: 100rel and an RSeq (§3) and are retransmitted, T1
//     doubling, until the caller's PRACK comes (answered 200) or 64*T1
//     passed; one at a time (§3: no new reliable 1xx before the last is
//     acknowledged): a later 18x waits in order for the PRACK of the one
//     before, it is not dropped. A 2xx waits for the PRACK of a 18x that
//     carried SDP (§3, last paragraph of the UAS behaviour); 18x still
//     queued then are dropped (no 1xx after the final response).
//   - A PRACK from the caller carrying an offer (§5: the 18x carried the
//     answer to the INVITE's offer) is relayed to the callee's early
//     dialog as an UPDATE; its answer goes in our 200 to the PRACK
//     (early_update.go).

// prackState is one branch's reliable provisional bookkeeping: the last
// RSeq acknowledged in each of its early dialogs, by To tag.
type prackState struct {
	last map[string]uint32
}

// has100rel reports whether a Require or Supported header list names
// 100rel (RFC 3262 §3).
func has100rel(hs []sip.Header) bool {
	for _, h := range hs {
		for _, opt := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(opt), "100rel") {
				return true
			}
		}
	}
	return false
}

// seen records rseq in the early dialog tag; false unless it is the
// first there or one more than the last taken (RFC 3262 §4: a
// retransmission, or out of order, is neither PRACKed nor processed; the
// UAS retransmits what we missed).
func (p *prackState) seen(tag string, rseq uint32) bool {
	if last, ok := p.last[tag]; ok && rseq != last+1 {
		return false
	}
	if p.last == nil {
		p.last = map[string]uint32{}
	}
	p.last[tag] = rseq
	return true
}

// prackB acknowledges a reliable provisional of br with PRACK (RFC 3262
// §4) in the early dialog it belongs to; it returns false when res
// repeats an RSeq already acknowledged in that early dialog. A reliable
// 18x with SDP of a call still ringing makes br's early dialog the one an
// early UPDATE from the caller goes to (early_update.go).
func (c *call) prackB(br *branch, res *sip.Response) bool {
	if !has100rel(res.GetHeaders("Require")) {
		return true
	}
	h := res.GetHeader("RSeq")
	if h == nil {
		return true // not a valid reliable 1xx: treat as unreliable
	}
	rseq, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil || rseq == 0 {
		return true
	}
	tag, _ := res.To().Params.Get("tag")
	if !br.prack.seen(tag, uint32(rseq)) {
		return false
	}
	if len(res.Body()) > 0 {
		c.earlyAnswered(br.d)
	}
	pr := br.d.newRequest(sip.PRACK)
	pr.AppendHeader(sip.NewHeader("RAck", fmt.Sprintf("%d %d %s", rseq, res.CSeq().SeqNo, res.CSeq().MethodName)))
	gw := c.gw
	gw.calls.Add(1)
	go func() {
		defer gw.calls.Done()
		ctx, cancel := context.WithTimeout(gw.ctx, byeTimeout)
		defer cancel()
		r, err := gw.o.Client.Do(ctx, pr, sipgo.ClientRequestAddVia)
		switch {
		case err != nil:
			gw.log.Debug("PRACK failed", "call_id", br.d.callID, "error", err)
		case r.StatusCode >= 300:
			gw.log.Debug("PRACK rejected", "call_id", br.d.callID, "status", r.StatusCode)
		}
	}()
	return true
}

// prackEarly takes a provisional on br outside the ringing of a call (a
// transfer target, refer.go): the early dialog from a To tag (RFC 3261
// §12.1.2), then the PRACK of a reliable one.
func (c *call) prackEarly(br *branch, res *sip.Response) {
	if tag, _ := res.To().Params.Get("tag"); tag != "" {
		br.d.setFromResponse(res)
	}
	c.prackB(br, res)
}

// reliableA is the caller side's reliable provisional state.
type reliableA struct {
	on     bool   // the caller's INVITE requires 100rel
	cseq   uint32 // the INVITE's CSeq number, for RAck
	offer  bool   // the INVITE carried an offer: our 18x SDP is the answer, a PRACK's SDP a new offer
	update bool   // the caller allows UPDATE (its Allow lists it)
	mu     sync.Mutex
	rseq   uint32        // the last RSeq sent (RFC 3262 §3: starts random, +1 each)
	acked  chan struct{} // closed by the PRACK of rseq; nil when none pending
	hasSDP bool          // the pending one carried an answer
	// answered: a reliable 18x with SDP was acknowledged: the initial
	// offer/answer is complete, the caller's early dialog takes an
	// UPDATE with an offer (RFC 3311 §5.1).
	answered bool
	// tail is closed when the last reliable 18x handed to provisionalA
	// was acknowledged or given up: the next one waits for it (§3).
	tail chan struct{}
	// final is set once the final response is due: 18x still queued are
	// not sent.
	final bool
	stop  chan struct{} // closed when the call's setup ends (removeEarly)
	once  sync.Once
}

// init reads the caller's INVITE: reliable provisionals only when it
// requires them (a Supported: 100rel alone does not turn them on: most
// phones answer PRACK late or not at all).
func (r *reliableA) init(req *sip.Request) {
	r.on = has100rel(req.GetHeaders("Require"))
	r.offer = len(req.Body()) > 0
	r.update = allows(req, sip.UPDATE)
	if cs := req.CSeq(); cs != nil {
		r.cseq = cs.SeqNo
	}
	r.rseq = uint32(time.Now().UnixNano()%(1<<30)) + 1 // §3: 1 to 2**31-1
	r.stop = make(chan struct{})
}

// end stops what waits to be sent: the call's setup is over.
func (r *reliableA) end() {
	r.mu.Lock()
	r.final = true
	r.mu.Unlock()
	r.once.Do(func() {
		if r.stop != nil {
			close(r.stop)
		}
	})
}

// allowEarly is the Allow of our 18x to the caller: what its early
// dialog takes (RFC 3261 §20.5; RFC 3311 §5.1 UPDATE, RFC 3262 PRACK).
var allowEarly = allowInDialog + ", PRACK"

// provisionalA sends a 18x to the caller: reliably when the caller asked
// for it, in order, one unacknowledged at a time (RFC 3262 §3): a 18x
// that comes while one waits for its PRACK is sent after that PRACK.
func (c *call) provisionalA(tx sip.ServerTransaction, req *sip.Request, code int, reason string, body []byte) {
	c.observeSetup(false) // observe.go: INVITE to first 18x
	r := &c.relA
	if !r.on {
		c.respondA(tx, req, code, reason, body, sip.NewHeader("Allow", allowEarly))
		return
	}
	r.mu.Lock()
	if r.final {
		r.mu.Unlock()
		return
	}
	prev := r.tail
	done := make(chan struct{})
	r.tail = done
	r.mu.Unlock()
	gw := c.gw
	gw.calls.Add(1)
	go func() {
		defer gw.calls.Done()
		defer close(done)
		if prev != nil {
			select {
			case <-prev:
			case <-r.stop:
				return
			case <-c.done:
				return
			case <-gw.ctx.Done():
				return
			}
		}
		c.sendReliable(tx, req, code, reason, body)
	}()
}

// sendReliable sends one reliable 18x and retransmits it (retransmit: T1
// doubling up to T2) until its PRACK, the final response or 64*T1
// (RFC 3262 §3).
func (c *call) sendReliable(tx sip.ServerTransaction, req *sip.Request, code int, reason string, body []byte) {
	r, gw := &c.relA, c.gw
	// Under r.mu from the check to the send: the final response cannot
	// overtake it (waitBefore2xx takes r.mu first).
	r.mu.Lock()
	if r.final {
		r.mu.Unlock()
		return
	}
	r.rseq++
	r.acked = make(chan struct{})
	r.hasSDP = len(body) > 0
	acked, rseq := r.acked, r.rseq
	res := c.respondA(tx, req, code, reason, body, sip.NewHeader("Allow", allowEarly),
		sip.NewHeader("Require", "100rel"), sip.NewHeader("RSeq", strconv.FormatUint(uint64(rseq), 10)))
	r.mu.Unlock()
	err := retransmit(func() error {
		r.mu.Lock()
		final := r.final && !r.hasSDP
		r.mu.Unlock()
		if final {
			return errStopRetransmit // the 2xx went without waiting for this one
		}
		return tx.Respond(res)
	}, acked, c.done, r.stop, gw.ctx.Done())
	if errors.Is(err, errRetransmitTimeout) {
		gw.log.Info("no PRACK for a reliable provisional", "call_id", c.a.callID, "rseq", rseq)
	}
}

// waitBefore2xx holds the 2xx while a reliable 18x with SDP waits for its
// PRACK (RFC 3262 §3), for 64*T1 at most. From here no 18x is sent: those
// still queued are dropped.
func (r *reliableA) waitBefore2xx(done <-chan struct{}) {
	r.mu.Lock()
	r.final = true
	acked, sdp := r.acked, r.hasSDP
	r.mu.Unlock()
	if acked == nil || !sdp {
		return
	}
	t := time.NewTimer(64 * sip.T1)
	defer t.Stop()
	select {
	case <-acked:
	case <-done:
	case <-t.C:
	}
}

// prack takes the caller's PRACK for rseq/cseq; false when it matches no
// reliable provisional we sent (RFC 3262 §3: 481).
func (r *reliableA) prack(rseq, cseq uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on || r.acked == nil || rseq != r.rseq || cseq != r.cseq {
		return false
	}
	if !isClosed(r.acked) {
		close(r.acked)
		if r.hasSDP && r.offer {
			r.answered = true
		}
	}
	return true
}

// matches reports whether rseq and cseq (an RAck) name the reliable 18x
// we sent last (RFC 3262 §7.2).
func (r *reliableA) matches(rseq, cseq uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on && r.acked != nil && rseq == r.rseq && cseq == r.cseq
}

// markAnswered records that the initial offer/answer completed in the
// early dialog: our offer in a reliable 18x answered in the PRACK (late
// offer, RFC 3262 §5).
func (r *reliableA) markAnswered() {
	r.mu.Lock()
	r.answered = true
	r.mu.Unlock()
}

// earlyUpdatable reports whether the caller's early dialog takes an
// UPDATE with an offer from us: it allows UPDATE and the answer to its
// offer reached it reliably (RFC 3311 §5.1).
func (r *reliableA) earlyUpdatable() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on && r.update && r.answered
}

// onPrack answers a caller's PRACK (RFC 3262 §3): 200 when it acknowledges
// our pending reliable 18x (or repeats one acknowledged), 481 otherwise.
func (b *B2BUA) onPrack(req *sip.Request, tx sip.ServerTransaction) {
	c := b.earlyCall(req)
	if c == nil {
		if l := b.lookup(req); l != nil {
			// A PRACK crossing our 2xx: the early dialog is confirmed now.
			b.respond(tx, req, 200, "OK", nil)
			return
		}
		b.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	var rseq, cseq uint32
	ok := false
	if h := req.GetHeader("RAck"); h != nil {
		var method string
		rseq, cseq, method, ok = parseRAck(h.Value())
		ok = ok && method == string(sip.INVITE)
	}
	if ok && len(req.Body()) > 0 && !c.relA.offer && c.late.earlyAnswered() == nil && c.relA.matches(rseq, cseq) {
		// RFC 3262 §5: our reliable 18x carried the offer of a late-offer
		// call; this is its answer (lateoffer.go), taken before the PRACK
		// lets the 2xx go (waitBefore2xx).
		if err := c.prackAnswer(req); err != nil {
			b.log.Info("late offer: PRACK without a usable answer", "call_id", c.a.callID, "error", err)
			b.respond(tx, req, 488, "Not Acceptable Here", nil)
			return
		}
		c.relA.prack(rseq, cseq)
		c.relA.markAnswered()
		b.respond(tx, req, 200, "OK", nil)
		return
	}
	if !ok || !c.relA.prack(rseq, cseq) {
		b.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	if len(req.Body()) > 0 && (c.relA.offer || c.late.earlyAnswered() != nil) {
		// RFC 3262 §5: the 18x carried the answer, so this is a new
		// offer; the 2xx to the PRACK carries its answer.
		c.earlyOffer(req, tx, c.a, true)
		return
	}
	b.respond(tx, req, 200, "OK", nil)
}

// earlyCall finds the call whose caller-side early dialog req belongs to.
func (b *B2BUA) earlyCall(req *sip.Request) *call {
	to, cid := req.To(), req.CallID()
	if to == nil || cid == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	key := dialogKey(string(*cid), tag)
	b.mu.Lock()
	c := b.early[key]
	b.mu.Unlock()
	if c == nil || c.a.key() != key {
		return nil
	}
	if err := b.checkPeer(c.a, req); err != nil { // the caller only (peer.go)
		b.foreign(req, err)
		return nil
	}
	return c
}

// addEarly and removeEarly keep the calls whose caller may PRACK.
func (b *B2BUA) addEarly(c *call) {
	b.mu.Lock()
	if b.early == nil {
		b.early = map[string]*call{}
	}
	b.early[c.a.key()] = c
	b.mu.Unlock()
}

func (b *B2BUA) removeEarly(c *call) {
	c.relA.end()
	b.mu.Lock()
	delete(b.early, c.a.key())
	if d := c.early.calleeDialog(); d != nil && b.early[d.key()] == c {
		delete(b.early, d.key())
	}
	b.mu.Unlock()
}

// parseRAck reads an RAck value: response-num CSeq-num Method
// (RFC 3262 §7.2); ok is false when it is not that.
func parseRAck(v string) (rseq, cseq uint32, method string, ok bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return 0, 0, "", false
	}
	r, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0, 0, "", false
	}
	c, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return 0, 0, "", false
	}
	return uint32(r), uint32(c), f[2], true
}
