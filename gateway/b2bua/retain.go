package b2bua

import (
	"context"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// What sipgo's transactions keep of a call.
//
// A transaction outlives the call it served: the caller's INVITE server
// transaction stays Accepted for Timer L after the 2xx (RFC 6026 §7.1),
// a BYE's server transaction Completed for Timer J (RFC 3261 §17.2.2),
// both 64*T1 = 32 s on UDP, to absorb retransmissions. Whatever the hooks
// registered on them capture lives as long: a hook that captures the call
// keeps its dialogs, SDP, fork and relay session reachable for 32 s after
// the call ended, some 13,000 calls' worth at 400 calls/s, and a heap that
// size makes every new call touch fresh memory (page faults, GC marking).
// So the hooks reach the call only through a pointer cleared when the call
// no longer needs them; the transactions keep only their messages.

// cancelHook is the A leg's INVITE server transaction's CANCEL hook
// (RFC 3261 §9.2): it records the CANCEL's Reason on the call (reason.go)
// and stops the call's setup, while the setup runs (c set).
type cancelHook struct {
	c         atomic.Pointer[call]
	cancelled chan struct{}
	cancel    context.CancelFunc
}

// on is the hook (sip.FnTxCancel). sipgo calls it once, for the first
// CANCEL in the Proceeding state.
func (h *cancelHook) on(r *sip.Request) {
	if c := h.c.Load(); c != nil {
		c.cancelReason = joinReasons(r) // written before cancelled closes
	}
	close(h.cancelled)
	h.cancel()
}

// again2xxHook is a B-leg INVITE client transaction's hook for the 2xx
// that reach it once Accepted (RFC 6026 §7.2, stray.go). It captures the
// gateway and the branch (its INVITE, dialog and transaction), not the
// fork and its call: sipgo keeps the transaction for Timer M (64*T1)
// after the 2xx, and its timer keeps it even once terminated.
func again2xxHook(gw *B2BUA, br *branch) sip.FnTxResponse {
	return func(res *sip.Response) { gw.again2xx(br, res) }
}

// passAcks hands the ACKs sipgo passes up on the caller's INVITE server
// transaction to the ACK handler, until the 2xx is acknowledged (acked),
// stop closes or the transaction ends. An ACK for a 2xx that reuses the
// INVITE's Via branch (RFC 3261 §8.1.1.7 wants a new one; some phones do
// not) matches that transaction (§17.2.3), which in Accepted passes it
// up there (RFC 6026 §7.1) instead of to the handler; unread, the 2xx
// would be retransmitted until 64*T1 and the call ended for want of an
// ACK. It captures the transaction and the channels, not the call.
func (b *B2BUA) passAcks(tx sip.ServerTransaction, acked, stop <-chan struct{}) {
	for {
		select {
		case req := <-tx.Acks():
			if req != nil {
				b.onAck(req, tx)
			}
		case <-acked:
			return
		case <-stop:
			return
		case <-tx.Done():
			return
		}
	}
}
