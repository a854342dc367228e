package b2bua

import (
	"context"
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
//   - A leg: when the caller's INVITE requires 100rel, the 18x we relay
//     carry Require: 100rel and an RSeq (§3) and are retransmitted, T1
//     doubling, until the caller's PRACK comes (answered 200) or 64*T1
//     passed; one at a time (§3: no new reliable 1xx before the last is
//     acknowledged). A 2xx waits for the PRACK of a 18x that carried SDP
//     (§3, last paragraph of the UAS behaviour).

// prackState is one branch's reliable provisional bookkeeping.
type prackState struct {
	have     bool
	lastRSeq uint32
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

// prackB acknowledges a reliable provisional of br with PRACK (RFC 3262
// §4); it returns false when res repeats an RSeq already acknowledged
// (a retransmission, or out of order: §4 says discard).
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
	if br.prack.have && uint32(rseq) <= br.prack.lastRSeq {
		return false
	}
	br.prack.have, br.prack.lastRSeq = true, uint32(rseq)
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
	mu     sync.Mutex
	rseq   uint32        // the last RSeq sent (RFC 3262 §3: starts random, +1 each)
	acked  chan struct{} // closed by the PRACK of rseq; nil when none pending
	hasSDP bool          // the pending one carried an answer
}

// init reads the caller's INVITE: reliable provisionals only when it
// requires them (a Supported: 100rel alone does not turn them on: most
// phones answer PRACK late or not at all).
func (r *reliableA) init(req *sip.Request) {
	r.on = has100rel(req.GetHeaders("Require"))
	if cs := req.CSeq(); cs != nil {
		r.cseq = cs.SeqNo
	}
	r.rseq = uint32(time.Now().UnixNano()%(1<<30)) + 1 // §3: 1 to 2**31-1
}

// provisionalA sends a 18x to the caller: reliably when the caller asked
// for it.
func (c *call) provisionalA(tx sip.ServerTransaction, req *sip.Request, code int, reason string, body []byte) {
	r := &c.relA
	if !r.on {
		c.respondA(tx, req, code, reason, body)
		return
	}
	r.mu.Lock()
	if r.acked != nil && !isClosed(r.acked) {
		r.mu.Unlock()
		return // §3: one unacknowledged reliable 1xx at a time; the 2xx follows anyway
	}
	r.rseq++
	r.acked = make(chan struct{})
	r.hasSDP = len(body) > 0
	acked := r.acked
	rseq := r.rseq
	r.mu.Unlock()
	res := c.respondA(tx, req, code, reason, body,
		sip.NewHeader("Require", "100rel"), sip.NewHeader("RSeq", strconv.FormatUint(uint64(rseq), 10)))
	gw := c.gw
	gw.calls.Add(1)
	go func() {
		defer gw.calls.Done()
		wait := sip.T1
		deadline := time.NewTimer(64 * sip.T1)
		defer deadline.Stop()
		for {
			t := time.NewTimer(wait)
			select {
			case <-acked:
			case <-c.done:
			case <-gw.ctx.Done():
			case <-deadline.C:
				gw.log.Info("no PRACK for a reliable provisional", "call_id", c.a.callID, "rseq", rseq)
			case <-t.C:
				if err := tx.Respond(res); err != nil {
					return
				}
				wait = min(2*wait, sip.T2)
				continue
			}
			t.Stop()
			return
		}
	}()
}

// waitBefore2xx holds the 2xx while a reliable 18x with SDP waits for its
// PRACK (RFC 3262 §3), for 64*T1 at most.
func (r *reliableA) waitBefore2xx(done <-chan struct{}) {
	r.mu.Lock()
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
	}
	return true
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
	if !ok || !c.relA.prack(rseq, cseq) {
		b.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
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
	b.mu.Lock()
	c := b.early[dialogKey(string(*cid), tag)]
	b.mu.Unlock()
	if c == nil {
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
	b.mu.Lock()
	delete(b.early, c.a.key())
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
