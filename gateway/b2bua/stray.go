package b2bua

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// strayMemory is how long a stray 2xx we answered with ACK + BYE is
// remembered, so its retransmissions get the ACK again but no new BYE:
// the callee retransmits a 2xx for 64*T1 at most (RFC 3261 §13.3.1.4).
var strayMemory = 64 * sip.T1

// strayMax bounds the memory of stray 2xx (a flood of forged 2xx must not
// grow it without limit).
const strayMax = 4096

// strays remembers the stray 2xx dialogs already hung up.
type strays struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// StrayForeign is the number of stray 2xx ignored because their Call-ID
// was not one we made.
func (b *B2BUA) StrayForeign() uint64 { return b.strayForeign.Load() }

// first reports whether key is new, and remembers it.
func (s *strays) first(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]time.Time{}
	}
	if t, ok := s.seen[key]; ok && now.Sub(t) < strayMemory {
		return false
	}
	if len(s.seen) >= strayMax {
		for k, t := range s.seen {
			if now.Sub(t) >= strayMemory {
				delete(s.seen, k)
			}
		}
		if len(s.seen) >= strayMax {
			clear(s.seen)
		}
	}
	s.seen[key] = now
	return true
}

// OnStrayResponse takes the responses no client transaction matched
// (sipserver.Server.OnStrayResponse). Only a 2xx to an INVITE matters:
//
//   - on a B leg we hold, it is a retransmission because our ACK was lost:
//     ACK it again (RFC 3261 §13.2.2.4);
//   - otherwise, when its Call-ID is one we made (newCallID), it is an
//     answer for an INVITE we gave up on (failover moved to the next
//     target, CANCEL crossed it, the caller hung up): ACK it and BYE it,
//     so the callee does not ring on with a call nobody hears (RFC 3261
//     §13.2.2.4, §15). Both go back to where the 2xx came from, never to
//     its Contact or Record-Route: a forged 2xx must not make us send
//     requests to a third party;
//   - any other 2xx is ignored (and counted): we made no such INVITE.
//
// It runs on the transport's read path: the BYE goes out on its own
// goroutine.
func (b *B2BUA) OnStrayResponse(res *sip.Response) {
	cseq := res.CSeq()
	if res.StatusCode < 200 || res.StatusCode >= 300 || cseq == nil || cseq.MethodName != sip.INVITE {
		return
	}
	from, to, cid := res.From(), res.To(), res.CallID()
	if from == nil || to == nil || cid == nil {
		return
	}
	ourTag, _ := from.Params.Get("tag")
	theirTag, _ := to.Params.Get("tag")
	if ourTag == "" || theirTag == "" {
		return // not a dialog-forming 2xx (RFC 3261 §12.1.2)
	}
	b.mu.Lock()
	l := b.dialogs[dialogKey(string(*cid), ourTag)]
	b.mu.Unlock()
	if l != nil {
		// Our From tag on a dialog we hold: on the B leg, or a re-INVITE
		// we sent on the A leg (reinvite.go, timer.go) or a transferred
		// leg (refer.go). The caller's own 2xx carry its From tag, never
		// ours, so they do not get here.
		b.sendAck(l.d, cseq.SeqNo)
		return
	}
	if !b.ourCallID(string(*cid)) {
		// Not an INVITE of ours (loop.go marks our Call-IDs): a forged or
		// misrouted 2xx, which must not make us send anything anywhere.
		b.strayForeign.Add(1)
		b.log.Debug("stray 2xx for a Call-ID we did not make: ignored", "call_id", string(*cid), "from", res.Source())
		return
	}
	d := strayDialog(res, b.o.Contact(res.Transport()))
	b.sendAck(d, cseq.SeqNo)
	if !b.strays.first(string(*cid)+"\x00"+theirTag, time.Now()) {
		return
	}
	if b.ctx.Err() != nil {
		return
	}
	b.log.Info("late 2xx for an abandoned INVITE: hanging it up", "call_id", string(*cid), "from", res.Source())
	b.calls.Add(1)
	go func() {
		defer b.calls.Done()
		ctx, cancel := context.WithTimeout(b.ctx, byeTimeout)
		defer cancel()
		bye := d.requestWithSeq(sip.BYE, cseq.SeqNo+1)
		bye.AppendHeader(sip.NewHeader("Reason", `SIP;cause=487;text="Request abandoned"`))
		r, err := b.o.Client.Do(ctx, bye, sipgo.ClientRequestAddVia)
		if err != nil {
			b.log.Debug("BYE for a stray 2xx failed", "call_id", d.callID, "error", err)
			return
		}
		if r.StatusCode >= 300 {
			b.log.Debug("BYE for a stray 2xx rejected", "call_id", d.callID, "status", r.StatusCode)
		}
	}()
}

// sendAck acknowledges a 2xx on d with the INVITE's CSeq number
// (RFC 3261 §13.2.2.4): a request outside any transaction.
func (b *B2BUA) sendAck(d *dialog, seq uint32) {
	ack := d.requestWithSeq(sip.ACK, seq)
	ack.RemoveHeader("Contact")
	if err := b.o.Client.WriteRequest(ack, sipgo.ClientRequestAddVia); err != nil {
		b.log.Debug("sending ACK", "call_id", d.callID, "error", err)
	}
}

// strayDialog is the dialog a 2xx would have formed (RFC 3261 §12.1.2):
// our From, their To with its tag, their Contact as Request-URI; but the
// route set is left empty and every request goes to the 2xx's source
// (flow): what the response names is not trusted as a destination.
func strayDialog(res *sip.Response, contact sip.Uri) *dialog {
	d := &dialog{
		callID:       string(*res.CallID()),
		local:        res.From().Address,
		remote:       res.To().Address,
		contact:      contact,
		transport:    res.Transport(),
		dest:         res.Source(),
		remoteTarget: res.To().Address, // when the 2xx has no Contact
	}
	d.localTag, _ = res.From().Params.Get("tag")
	d.setFromResponse(res)
	d.routes = nil
	d.flow = res.Source() // destination(): the flow beats the target
	return d
}
