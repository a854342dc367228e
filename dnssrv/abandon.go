package dnssrv

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// endTimeout bounds the CANCEL or BYE that ends a branch given up on.
const endTimeout = 5 * time.Second

// reasonAbandoned is the Reason of the BYE that ends a branch answered
// after it was given up on (RFC 3326).
const reasonAbandoned = `SIP;cause=487;text="Request abandoned"`

// abandon keeps watching the INVITE transaction tx to t after Send went
// on without it (failover timeout, or the caller gave up), until deadline
// (one more failover timeout, within the trunk's timeout) or the trunk
// closes:
//
//   - a provisional response: t is alive (Health.Alive) and the branch is
//     CANCELled, once (RFC 3261 §9.1 allows a CANCEL only after one);
//   - a 2xx: t is alive and the dialog is ended with ACK and BYE (RFC
//     3261 §13.2.2.4, §15), both sent to t, never to the 2xx's Contact;
//   - another final response: the transaction ACKed it; done.
//
// Past the deadline the transaction is dropped (no more retransmissions);
// a 2xx after that reaches the gateway's stray-response handler, which
// ACKs and BYEs it.
func (s *Sender) abandon(tr *Trunk, t Target, inv *sip.Request, tx sip.ClientTransaction, deadline time.Time) {
	if time.Until(deadline) <= 0 || !tr.goBackground(func(ctx context.Context) {
		defer tx.Terminate()
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		cancelled := false
		for {
			select {
			case res := <-tx.Responses():
				if res == nil {
					continue
				}
				if res.StatusCode < 500 && res.StatusCode != 408 {
					tr.Health().Alive(t)
				}
				switch {
				case res.IsProvisional():
					if !cancelled {
						cancelled = true
						s.sendCancel(tr, inv)
					}
					continue
				case res.IsSuccess():
					s.endDialog(ctx, tr, t, inv, res)
				}
				return
			case <-tx.Done():
				return
			case <-timer.C:
				return
			case <-ctx.Done():
				return
			}
		}
	}) {
		tx.Terminate()
	}
}

// sendCancel CANCELs inv (RFC 3261 §9.1: same Request-URI, Call-ID, From,
// To, CSeq number and top Via as the INVITE; its Route headers), from the
// same socket, on its own goroutine.
func (s *Sender) sendCancel(tr *Trunk, inv *sip.Request) {
	cr := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
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
	cr.SetTransport(inv.Transport())
	cr.SetDestination(inv.Destination())
	cr.Laddr = inv.Laddr
	tr.goBackground(func(bg context.Context) {
		cctx, cancel := context.WithTimeout(bg, endTimeout)
		defer cancel()
		asIs := func(*sipgo.Client, *sip.Request) error { return nil }
		_, _ = s.Client.Do(cctx, cr, asIs)
	})
}

// endDialog ACKs a 2xx to inv and BYEs the dialog it formed.
func (s *Sender) endDialog(ctx context.Context, tr *Trunk, t Target, inv *sip.Request, res *sip.Response) {
	ruri := *inv.Recipient.Clone()
	if c := res.Contact(); c != nil {
		ruri = *c.Address.Clone()
	}
	build := func(m sip.RequestMethod, seq uint32) *sip.Request {
		r := sip.NewRequest(m, ruri)
		r.AppendHeader(sip.HeaderClone(inv.From()))
		r.AppendHeader(sip.HeaderClone(res.To()))
		r.AppendHeader(sip.HeaderClone(inv.CallID()))
		r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: m})
		mf := sip.MaxForwardsHeader(70)
		r.AppendHeader(&mf)
		r.SetTransport(inv.Transport())
		r.SetDestination(t.HostPort()) // where the INVITE went, not the Contact
		r.Laddr = inv.Laddr
		return r
	}
	seq := inv.CSeq().SeqNo
	_ = s.Client.WriteRequest(build(sip.ACK, seq), sipgo.ClientRequestAddVia)
	bye := build(sip.BYE, seq+1)
	bye.AppendHeader(sip.NewHeader("Reason", reasonAbandoned))
	bctx, cancel := context.WithTimeout(ctx, endTimeout)
	defer cancel()
	_, _ = s.Client.Do(bctx, bye, sipgo.ClientRequestAddVia)
}
