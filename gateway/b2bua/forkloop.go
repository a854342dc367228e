package b2bua

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// The one fork loop (issue 11, "Shape": it was written three times, for
// a caller's call in ring.go, for a transfer target or click-to-dial
// number in refer.go, and for each round of a queue in queue.go). It
// reads the branches' responses until one answers or all failed (RFC 3261
// §16.7 ideas for a B2BUA; a queue's round stays open until its step ends
// it): a 1xx goes to the caller's hook, the first 2xx wins (fork.win: ACK,
// CANCEL of the others as completed elsewhere, RFC 3326), a challenge
// from a trunk may be answered (trunkauth.go) and a 422 sent again
// (redirect.go), other finals settle their branch and release what it
// held (fork.ended). What else may end the ringing is in forkWait: the
// loop stops on the first of them, cancelling and draining every branch.

// errPickedUp: the call was picked up while it rang (pickup.go) and is
// over; not a failure.
var errPickedUp = errors.New("b2bua: picked up")

// forkWait is what one run of the fork loop does with the branches'
// responses besides the common part, and what else it waits for. Nil
// functions do nothing; nil channels never fire.
type forkWait struct {
	ctx context.Context
	// provisional takes a branch's 1xx (not a 100).
	provisional func(br *branch, res *sip.Response)
	// challenged answers a 401/407 (trunkauth.go): true when a new
	// branch replaced br.
	challenged func(br *branch, res *sip.Response) bool
	// refused is told of a final error response once br is settled
	// (a 422 sent again, redirect.go).
	refused func(br *branch, res *sip.Response)
	// stopped is why the loop stops when ctx ends: the Reason of the
	// CANCELs (RFC 3326; "" none) and the error returned.
	stopped func() (reason string, err error)

	// open keeps the loop going while no branch is pending: a queue's
	// round waits for operators (queue.go); only a stop ends it.
	open bool
	// poll, when set, runs before each wait (the first included): a
	// queue asks what to do now (ring, end the round, overflow,
	// queue.go). A non-nil error stops the loop: CANCEL without Reason,
	// drain, and the error returned. tick wakes the loop to poll again.
	poll func() error
	tick <-chan time.Time

	// A caller's call only (ring.go; queue.go all but the pickups).
	pickups   <-chan *pickupReq
	pickup    func(*pickupReq) bool // true: picked up, and the call is over
	deflect   <-chan deflectReq
	clear     <-chan string
	cancelled <-chan struct{}
	noAnswer  <-chan time.Time
	// noAnswerErr is the error when noAnswer fires.
	noAnswerErr func() error
}

// run is the fork loop. It returns the branch that answered and its 2xx
// (won: ACKed, the others cancelled and drained, fork.win), or an error:
// a stop (the branches cancelled and drained; res nil), or the failure of
// every branch (res: the response that says why, failure).
func (f *fork) run(w forkWait) (won *branch, res *sip.Response, err error) {
	finals := map[*branch]*sip.Response{}
	for f.pending > 0 || w.open {
		if w.poll != nil {
			if err := w.poll(); err != nil {
				return nil, nil, f.stop("", err)
			}
		}
		select {
		case ev := <-f.events:
			br, res := ev.br, f.take(ev)
			if res == nil {
				continue
			}
			switch code := res.StatusCode; {
			case code < 200:
				if w.provisional != nil {
					w.provisional(br, res)
				}
			case code < 300:
				f.win(br, res)
				return br, res, nil
			case (code == 401 || code == 407) && w.challenged != nil && w.challenged(br, res):
				// A trunk's challenge answered (trunkauth.go): a new
				// branch replaced br.
			default:
				f.refused(br, res)
				finals[br] = res // its headers go to the caller (relayed.go)
				if w.refused != nil {
					w.refused(br, res)
				}
				f.ended(br)
			}
		case <-w.tick:
		case pr := <-w.pickups:
			if w.pickup(pr) {
				return nil, nil, errPickedUp
			}
		case dr := <-w.deflect: // Deflect (control.go)
			if f.c.diverted != nil {
				dr.reply <- fmt.Errorf("%w: the call was diverted already", ErrCallState)
				continue
			}
			dr.reply <- nil
			return nil, nil, f.stop("", &deflection{to: dr.to})
		case reason := <-w.clear: // Hangup (control.go)
			return nil, nil, f.stop(reason, clearedErr())
		case <-w.cancelled:
			return nil, nil, f.stop(f.c.cancelReason, ErrCancelled) // the caller's Reason (RFC 3326)
		case <-w.noAnswer:
			return nil, nil, f.stop("", w.noAnswerErr())
		case <-w.ctx.Done():
			reason, err := "", w.ctx.Err()
			if w.stopped != nil {
				reason, err = w.stopped()
			}
			return nil, nil, f.stop(reason, err) // RFC 3261 §9.1
		}
	}
	f.drain(nil)
	res, err = f.failure(finals)
	return nil, res, err
}

// ended releases what br, a branch that failed while the others may
// still ring, holds for its target: a browser's WebRTC leg (its
// PeerConnection and ports, webrtc.go) goes now, not when the call is
// answered or ends (issue 12). A branch sent again for the same target
// (a 422's retry, redirect.go: the same Call-ID and offer) keeps it.
func (f *fork) ended(br *branch) {
	id := br.d.callID
	for _, o := range f.branches {
		if o != br && o.final == 0 && o.d.callID == id {
			return
		}
	}
	f.c.releaseBrowser(id)
}

// stop ends the ringing of every branch: CANCEL with reason (RFC 3326;
// "" none), then drain. It returns err.
func (f *fork) stop(reason string, err error) error {
	f.cancel(nil, reason)
	f.drain(nil)
	return err
}

// failure is why no branch answered once each one settled: towards a
// trunk, its one branch's status as it came (the last: a challenge
// answered replaces it; RFC 3261 §16.7 step 6 with one response), else
// the best of the branches' (fork.best) with the headers of a response
// of that status (relayed.go). res is the response that says so (made
// up from the status when there was none).
func (f *fork) failure(finals map[*branch]*sip.Response) (res *sip.Response, err error) {
	if len(f.branches) == 0 {
		return &sip.Response{StatusCode: 480, Reason: "Temporarily Unavailable"}, ErrUnavailable
	}
	br := f.branches[len(f.branches)-1]
	if br.d.trunk != nil {
		if res := finals[br]; res != nil {
			return res, rejected(res)
		}
		res = &sip.Response{StatusCode: br.final, Reason: br.reason}
		if br.txErr != nil {
			return res, fmt.Errorf("%w: %w", dnssrv.ErrAllFailed, br.txErr)
		}
		return res, &statusError{br.final, br.reason}
	}
	err = bestRelayed(f.best(), finals)
	o := classify(err)
	return &sip.Response{StatusCode: o.Status, Reason: o.Reason}, err
}

// bestRelayed is err, the status best chose, with the headers of a
// branch's response of that status (relayed.go).
func bestRelayed(err error, finals map[*branch]*sip.Response) error {
	var se *statusError
	if !errors.As(err, &se) {
		return err
	}
	for _, res := range finals {
		if res.StatusCode == se.code {
			return rejected(res)
		}
	}
	return err
}

// sendContacts sends the INVITE to each registered contact of user as a
// branch (contactBranch, with extra headers); a contact that cannot be
// reached is logged and skipped. ErrUnavailable when user has no contact
// or none could be sent to.
func (f *fork) sendContacts(ctx context.Context, user string, contacts []store.Binding, extra ...sip.Header) error {
	if len(contacts) == 0 {
		return fmt.Errorf("%w: %s has no registered device", ErrUnavailable, user)
	}
	for _, bnd := range contacts {
		br, err := f.c.contactBranch(user, bnd, extra...)
		if err == nil {
			err = f.send(ctx, br)
		}
		if err != nil {
			f.c.gw.log.Info("device unreachable", "user", user, "contact", bnd.ContactURI, "error", err)
		}
	}
	if len(f.branches) == 0 {
		return fmt.Errorf("%w: no device of %s reachable", ErrUnavailable, user)
	}
	return nil
}
