package b2bua

import (
	"net/netip"
	"sync"
	"time"

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
	if l != nil && l.d.remoteTagIs(theirTag) {
		// Our From tag on a dialog we hold: on the B leg, or a re-INVITE
		// we sent on the A leg (reinvite.go, timer.go) or a transferred
		// leg (refer.go). The caller's own 2xx carry its From tag, never
		// ours, so they do not get here.
		b.sendAck(l.d, cseq.SeqNo)
		return
	}
	// A dialog we hold with another To tag is a second dialog a fork
	// downstream made (RFC 3261 §13.2.2.4): hung up like any stray.
	if !b.ourCallID(string(*cid)) {
		// Not an INVITE of ours (loop.go marks our Call-IDs): a forged or
		// misrouted 2xx, which must not make us send anything anywhere.
		b.strayForeign.Add(1)
		b.log.Debug("stray 2xx for a Call-ID we did not make: ignored", "call_id", string(*cid), "from", res.Source())
		return
	}
	d := strayDialog(res, b.o.Contact(res.Transport()))
	if l != nil {
		d.laddr = l.d.laddr
	} else if src, err := netip.ParseAddrPort(res.Source()); err == nil {
		if la, ok := b.listener(res.Transport(), src.Addr()); ok {
			d.laddr = la // from the port the INVITE left from (trunkauth.go)
		}
	}
	b.hangUpStray(d, cseq.SeqNo, reasonAbandoned, res)
}

// reasonAbandoned goes in the BYE of a 2xx for an INVITE we gave up on
// (RFC 3326).
const reasonAbandoned = `SIP;cause=487;text="Request abandoned"`

// hangUpStray ACKs a 2xx with CSeq number seq on dialog d and, the first
// time this dialog (Call-ID, From tag, To tag) is seen, BYEs it with
// reason (RFC 3326): RFC 3261 §13.2.2.4 for a UAC that wants only one
// dialog, §15 for an INVITE it gave up on. The BYE goes out on its own
// goroutine: callers run on the transport's read path.
func (b *B2BUA) hangUpStray(d *dialog, seq uint32, reason string, res *sip.Response) {
	b.sendAck(d, seq)
	if !b.strays.first(strayKey(d.callID, d.localTag, d.remoteTag), time.Now()) {
		return
	}
	if b.ctx.Err() != nil {
		return
	}
	b.log.Info("2xx of a dialog we do not keep: hanging it up", "call_id", d.callID, "from", res.Source(), "reason", reason)
	b.calls.Add(1)
	go func() {
		defer b.calls.Done()
		b.bye(d, seq+1, sip.NewHeader("Reason", reason))
	}()
}

// strayKey names one dialog: Call-ID, our (From) tag, their (To) tag.
func strayKey(callID, ourTag, theirTag string) string {
	return callID + "\x00" + ourTag + "\x00" + theirTag
}

// toTag is the To tag of a response ("" when none).
func toTag(res *sip.Response) string {
	if to := res.To(); to != nil {
		t, _ := to.Params.Get("tag")
		return t
	}
	return ""
}

// nextSeq takes the dialog's next CSeq number (RFC 3261 §12.2.1.1).
func (d *dialog) nextSeq() uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.localSeq++
	return d.localSeq
}

// remoteTagIs reports whether the dialog's remote tag is tag.
func (d *dialog) remoteTagIs(tag string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remoteTag == tag
}

// again2xx takes a 2xx that reached a B-leg INVITE transaction already
// accepted (sipgo's OnRetransmission hook, fork.go). With the To tag of
// the branch's dialog it is a retransmission because our ACK was lost:
// ACK it again (RFC 3261 §13.2.2.4; the callee would hang up after
// 64*T1). With another To tag a fork downstream answered too: ACK it and
// BYE it, once (§13.2.2.4). It runs on the transport's read path.
func (b *B2BUA) again2xx(br *branch, res *sip.Response) {
	cseq := res.CSeq()
	if !res.IsSuccess() || cseq == nil || res.From() == nil || res.To() == nil || res.CallID() == nil {
		return
	}
	tag := toTag(res)
	if tag == "" {
		return // not a dialog-forming 2xx (RFC 3261 §12.1.2)
	}
	if br.accept(tag) {
		d := newUACDialog(br.inv)
		d.flow = br.d.flow
		d.setFromResponse(res)
		b.log.Debug("2xx retransmitted: ACK again", "call_id", d.callID)
		b.sendAck(d, cseq.SeqNo)
		return
	}
	d := strayDialog(res, b.o.Contact(res.Transport()))
	d.laddr = br.d.laddr
	b.hangUpStray(d, cseq.SeqNo, reasonElsewhere, res)
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
