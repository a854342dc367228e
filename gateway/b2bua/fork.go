package b2bua

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// reasonElsewhere goes in the CANCEL of the branches that lost to an
// answer elsewhere (RFC 3326 §2; RFC 3261 §9.1): phones show no missed
// call for it.
const reasonElsewhere = `SIP;cause=200;text="Call completed elsewhere"`

// reasonCancelled goes in the BYE of a branch whose 2xx crossed the
// caller's CANCEL (RFC 3326): the callee's phone shows the call ended
// like a cancelled one.
const reasonCancelled = `SIP;cause=487;text="Request Terminated"`

// branch is one B-leg INVITE of a call: to one registered contact of the
// callee, or to a trunk. Every branch is its own B-leg dialog (its own
// Call-ID and tags); the first to answer becomes c.b.
type branch struct {
	label string       // who: the contact's user agent or the trunk's name
	user  string       // the callee's username (local calls)
	inv   *sip.Request // as sent (the Via branch names the transaction)
	tx    sip.ClientTransaction
	d     *dialog // the dialog the INVITE forms (tags completed by responses)

	final     int // final status, 0 while pending
	reason    string
	txErr     error // why the transaction ended without a final response
	cancelled bool
	prack     prackState // 100rel on this branch (prack.go)
	authTries int        // INVITEs sent again with credentials (trunkauth.go)
	rang      bool       // a 180 without SDP came (ringback_fork.go)
	// retried422: the INVITE was sent again after a 422 (redirect.go):
	// once per target, each branch agreeing its own interval (RFC 4028
	// §7.3).
	retried422 bool

	mu            sync.Mutex
	okTag         string  // the To tag of the first 2xx: the dialog the branch formed
	heard         bool    // a provisional came: CANCEL may be sent (RFC 3261 §9.1)
	pendingCancel *string // the Reason of a CANCEL waiting for a provisional
}

// mayCancel reports whether a CANCEL may go out now: only once a
// provisional came (RFC 3261 §9.1). Otherwise the CANCEL (with reason)
// waits for one (provisional); a branch that answers instead is ended
// with ACK and BYE (fork.drain).
func (br *branch) mayCancel(reason string) bool {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.heard {
		return true
	}
	br.pendingCancel = &reason
	return false
}

// provisional records a provisional response and returns the deferred
// CANCEL's reason, if one waits for it (ok).
func (br *branch) provisional() (reason string, ok bool) {
	br.mu.Lock()
	defer br.mu.Unlock()
	br.heard = true
	if br.pendingCancel == nil {
		return "", false
	}
	reason, br.pendingCancel = *br.pendingCancel, nil
	return reason, true
}

// accept reports whether a 2xx with To tag tag belongs to the dialog the
// branch formed: the first 2xx names it, every later 2xx with another tag
// is a second dialog from a fork downstream (RFC 3261 §13.2.2.4).
func (br *branch) accept(tag string) bool {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.okTag == "" {
		br.okTag = tag
	}
	return br.okTag == tag
}

// follow is a branch for br's target with INVITE inv (sent again with
// credentials, trunkauth.go, or after a 422, redirect.go) and its client
// transaction tx (nil: not sent yet, fork.send): a dialog of its own from
// inv (RFC 3261 §12.1.2), br's trunk, flow and user.
func (br *branch) follow(inv *sip.Request, tx sip.ClientTransaction) *branch {
	d := newUACDialog(inv)
	d.trunk, d.flow, d.user = br.d.trunk, br.d.flow, br.d.user
	return &branch{label: br.label, user: br.user, inv: inv, tx: tx, d: d}
}

// brEvent is what a branch's watcher reports: a response, or the end of
// its transaction (res nil).
type brEvent struct {
	br  *branch
	res *sip.Response
	err error
}

// fork is the set of branches of one call's setup (RFC 3261 §16.6-16.7
// done by a B2BUA: parallel search, the first 2xx wins).
type fork struct {
	c        *call
	events   chan brEvent
	branches []*branch
	pending  int // branches without a final response
	watchers sync.WaitGroup
	early    *branch // the branch whose early media the caller hears
	rang     bool    // a provisional without SDP went to the caller
	// earlyLost, when set, learns that the early branch failed, and
	// whether another branch still rings (ringback_fork.go).
	earlyLost func(ringing bool)
}

func newFork(c *call) *fork {
	return &fork{c: c, events: make(chan brEvent, 16)}
}

// add starts watching a branch whose INVITE is out. first, if set, is a
// response already read from its transaction (dnssrv.Sender returns one).
func (f *fork) add(br *branch, first *sip.Response) {
	f.branches = append(f.branches, br)
	f.pending++
	// sipgo hands the 2xx that reach an accepted INVITE transaction only
	// to this hook (RFC 6026 §7.2): retransmissions, and 2xx of other
	// dialogs from a fork downstream (stray.go).
	br.tx.OnRetransmission(again2xxHook(f.c.gw, br)) // retain.go: not the call
	f.watchers.Add(1)
	go func() {
		defer f.watchers.Done()
		if first != nil {
			f.seen(br, first)
			f.events <- brEvent{br: br, res: first}
		}
		for {
			select {
			case res := <-br.tx.Responses():
				if res != nil {
					f.seen(br, res)
					f.events <- brEvent{br: br, res: res}
				}
			case <-br.tx.Done():
				f.events <- brEvent{br: br, err: br.tx.Err()}
				return
			}
		}
	}()
}

// seen notes a response of br as its watcher reads it: the first 2xx
// names its dialog; a provisional releases a CANCEL that waited for one
// (RFC 3261 §9.1).
func (f *fork) seen(br *branch, res *sip.Response) {
	switch {
	case res.IsSuccess():
		br.accept(toTag(res))
	case res.IsProvisional():
		if reason, ok := br.provisional(); ok {
			f.c.cancelBranch(br.inv, reason)
		}
	}
}

// sendContact sends an INVITE to one contact and adds its branch; an
// error means the request could not leave (the branch counts as failed).
func (f *fork) send(ctx context.Context, br *branch) error {
	gw := f.c.gw
	tx, err := gw.o.Client.TransactionRequest(ctx, br.inv, sipgo.ClientRequestBuild)
	if err != nil {
		return err
	}
	br.tx = tx
	f.add(br, nil)
	return nil
}

// sendTrunk sends inv to trunk with failover (dnssrv) and adds its
// branch; res says, on an error, what the last target answered.
func (f *fork) sendTrunk(ctx context.Context, trunk *dnssrv.Trunk, inv *sip.Request) (*dnssrv.Result, error) {
	res, err := f.c.gw.sender.Send(ctx, trunk, inv)
	if err != nil {
		return res, err
	}
	d := newUACDialog(res.Request)
	d.trunk = trunk // its requests may come from any of its addresses (peer.go)
	f.add(&branch{label: trunk.Name(), inv: res.Request, tx: res.Tx, d: d}, res.Response)
	return res, nil
}

// take reads one event of the fork loop (forkloop.go; queue.go's
// rounds): the response to act on, or nil. A branch whose
// transaction ended without a final response is settled here: 408 for
// Timer B (RFC 3261 §17.1.1.2), 503 when the request could not be sent
// (§8.1.3.1). A 100 is hop by hop (§16.7 step 5 idea: ours was sent);
// a branch already settled has nothing more to say.
func (f *fork) take(ev brEvent) *sip.Response {
	br := ev.br
	if ev.res == nil {
		if br.final == 0 {
			code, reason := 408, "Request Timeout"
			if ev.err != nil && !errors.Is(ev.err, sip.ErrTransactionTimeout) {
				code, reason = 503, "Service Unavailable"
			}
			f.settle(br, code, reason)
			br.txErr = ev.err
			f.ended(br) // forkloop.go
		}
		return nil
	}
	if br.final != 0 || ev.res.StatusCode == 100 {
		return nil
	}
	if ev.res.IsProvisional() {
		br.heardRinging(ev.res)
	}
	return ev.res
}

// win takes br's 2xx as the answer: its dialog is complete (RFC 3261
// §12.1.2), it is ACKed (§13.2.2.4), the other branches are cancelled as
// completed elsewhere (RFC 3326) and drained.
func (f *fork) win(br *branch, res *sip.Response) {
	f.settle(br, res.StatusCode, res.Reason)
	br.d.setFromResponse(res)
	f.cancel(br, reasonElsewhere)
	f.c.gw.ack2xx(br.d, res)
	f.drain(br)
}

// refused settles br with its final error response. Its transaction
// ACKed it (RFC 3261 §17.1.1.3); ending it now spares Timer D's 32 s of
// waiting.
func (f *fork) refused(br *branch, res *sip.Response) {
	f.settle(br, res.StatusCode, res.Reason)
	br.tx.Terminate()
}

// settle records a branch's final status once.
func (f *fork) settle(br *branch, code int, reason string) {
	if br.final != 0 {
		return
	}
	br.final, br.reason = code, reason
	f.pending--
	f.lostEarly(br, code)
}

// cancel sends CANCEL on every branch still ringing, but skip
// (RFC 3261 §9.1), with reason as the Reason header when set; on a branch
// that sent no provisional yet, the CANCEL waits for one (mayCancel).
func (f *fork) cancel(skip *branch, reason string) {
	for _, br := range f.branches {
		if br == skip || br.final != 0 || br.cancelled {
			continue
		}
		br.cancelled = true
		if br.mayCancel(reason) {
			f.c.cancelBranch(br.inv, reason)
		}
	}
}

// drain takes the events of the branches that lost, until every watcher
// ended (their transactions end on the 487 or with Timer M), or the call
// and the gateway are gone: a 2xx crossing our CANCEL is ACKed and BYEd
// (RFC 3261 §15; forking proxies' late 2xx, RFC 3261 §16.7 step 5), a
// retransmitted 2xx of the winner is ACKed again (§13.2.2.4).
func (f *fork) drain(winner *branch) {
	gw := f.c.gw
	gw.calls.Add(1)
	go func() {
		defer gw.calls.Done()
		all := make(chan struct{})
		go func() { f.watchers.Wait(); close(all) }()
		ended := f.c.done // the winner's transaction ends with the call
		if winner == nil {
			ended = nil
		}
		for {
			select {
			case ev := <-f.events:
				if ev.res == nil || ev.res.StatusCode < 200 {
					continue
				}
				if ev.res.StatusCode >= 300 {
					// The 487 of a cancelled branch: its transaction sent
					// the ACK (RFC 3261 §17.1.1.3); no need to keep it
					// for Timer D.
					ev.br.tx.Terminate()
					continue
				}
				if ev.br == winner {
					gw.ack2xx(winner.d, ev.res)
					continue
				}
				// A 2xx that crossed our CANCEL (RFC 3261 §9.1, §15):
				// ACK, then BYE saying why (RFC 3326).
				ev.br.d.setFromResponse(ev.res)
				reason := reasonCancelled
				if winner != nil {
					reason = reasonElsewhere
				}
				gw.hangUpStray(ev.br.d, ev.res.CSeq().SeqNo, reason, ev.res)
			case <-ended:
				// The call is over: retransmissions of its 2xx need no
				// more ACKs; stop waiting for Timer M.
				winner.tx.Terminate()
				ended = nil
			case <-all:
				return
			case <-gw.ctx.Done():
				f.terminate()
				for {
					select {
					case <-f.events: // unblock the watchers until they end
					case <-all:
						return
					}
				}
			}
		}
	}()
}

// terminate ends every branch's transaction (the call is over).
func (f *fork) terminate() {
	for _, br := range f.branches {
		if br.tx != nil {
			br.tx.Terminate()
		}
	}
}

// best is the response the caller gets when no branch answered
// (RFC 3261 §16.7 step 6 ideas): busy only when every branch was busy;
// a 6xx wins (§16.7 step 5); else the lowest class, preferring a specific
// status to the generic timeouts and unavailability.
func (f *fork) best() error {
	if len(f.branches) == 0 {
		return ErrUnavailable
	}
	busy := true
	var pick *branch
	for _, br := range f.branches {
		if br.final != 486 && br.final != 600 {
			busy = false
		}
		if br.final >= 600 {
			return &statusError{br.final, br.reason}
		}
		if pick == nil || rank(br.final) < rank(pick.final) {
			pick = br
		}
	}
	if busy {
		return &statusError{486, "Busy Here"}
	}
	if pick.final == 408 || pick.final == 0 {
		return ErrUnavailable
	}
	return &statusError{pick.final, pick.reason}
}

// rank orders final statuses for best: lower is better.
func rank(code int) int {
	switch code {
	case 0, 408, 480, 486, 503:
		// Generic outcomes: only when nothing more telling came. 486 is
		// handled by best (busy only when all are busy).
		return 1000 + code
	}
	return code
}

// ringTimeout bounds a call's ringing when no per-user no-answer time is
// set: RFC 3261 §16.6 step 11 (Timer C) says more than 3 minutes.
const ringTimeout = 181 * time.Second
