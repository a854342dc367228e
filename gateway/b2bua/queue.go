package b2bua

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// Queues are the operator queues the gateway hosts (gateway/opqueue,
// issue 14): a call to a queue's number is answered by nobody while it
// waits; the queue says which local users (operators) to ring and when
// the call overflows. Consulted before local-user routing (route.go).
type Queues interface {
	// IsQueue reports whether number is a queue's number.
	IsQueue(number string) bool
	// Join puts the call ref (CallEvent.ID) from caller in number's
	// queue; an error (the queue is full) refuses the call with 486.
	Join(number, ref, caller string) (QueueWait, error)
}

// QueueWait is one call waiting in a queue.
type QueueWait interface {
	// Next says what to do now. tried are the users rung in the current
	// round (answered with a refusal or not), ringing those still ringing.
	Next(tried, ringing []string) QueueStep
	// Answered tells the queue user took the call.
	Answered(user string)
	// Leave tells the queue the call left unanswered: why is cancelled,
	// cleared, overflowed or failed.
	Leave(why string)
}

// QueueStep is a queue's decision for a waiting call.
type QueueStep struct {
	// Ring are users to ring now (besides those tried this round).
	Ring []string
	// EndRound cancels the round's ringing; the next step starts anew.
	EndRound bool
	// Overflow ends the wait: the call goes to OverflowTo, or is refused
	// with 480 when that is empty.
	Overflow   bool
	OverflowTo string
}

// queuePoll is how often a waiting call asks its queue what to do
// (operators becoming available, the round's and the overflow's end).
const queuePoll = 200 * time.Millisecond

// queueOverflow: a queued call goes to its overflow target (divert.go
// takes it as a no-answer diversion, RFC 5806).
type queueOverflow struct{ to string }

func (q *queueOverflow) Error() string { return "b2bua: queue overflow to " + q.to }

// errQueueNoOverflow is the 480 of a queue without overflow target whose
// wait ended (RFC 3326 Reason says why).
func errQueueNoOverflow() error {
	return &relayedError{se: &statusError{480, "Temporarily Unavailable"},
		hs: []sip.Header{sip.NewHeader("Reason", `SIP;cause=480;text="No operator answered"`)}}
}

// ringQueue waits in a queue (tgt.queue): the caller hears ringing
// (RFC 3261 §21.1.2: 180) while the operators the queue names ring in
// parallel, each a fork branch (fork.go); the first 2xx wins and the
// others get CANCEL as completed elsewhere (RFC 3326). A round that ends
// is cancelled and the next one starts; overflow diverts the call.
func (c *call) ringQueue(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, tgt target, cancelled chan struct{}) error {
	gw := c.gw
	w, err := gw.o.Queues.Join(tgt.queue, c.ref, c.callerName())
	if err != nil {
		gw.log.Info("queue: call refused", "queue", tgt.queue, "caller", c.callerName(), "error", err)
		return &relayedError{se: &statusError{486, "Busy Here"},
			hs: []sip.Header{sip.NewHeader("Reason", `SIP;cause=486;text="Queue full"`)}}
	}
	c.info.mu.Lock()
	c.info.target = tgt.queue // the CDR's target until an operator answers
	c.info.mu.Unlock()
	why := "failed"
	defer func() {
		if why != "" {
			w.Leave(why)
		}
	}()
	if !c.rang {
		c.rang = true
		c.provisionalA(tx, req, 180, "Ringing", nil)
	}
	// The caller's lamp: its call reached the queue (gwcti tracks one
	// alerting device per call, so the operators' lamps do not show the
	// queue's ringing).
	c.observe(CallAlerting, CallEvent{}) // observe.go
	tick := time.NewTicker(queuePoll)
	defer tick.Stop()
	var carry []string // the users a step that ended a round rang: the next round's
	for round := 0; ; round++ {
		// A round is one run of the fork loop (forkloop.go), kept open
		// while nobody rings; the queue's step ends it. The step that
		// ended a round began the next one (carry): its first ask comes
		// after a wait, as within a round.
		f := newFork(c)
		c.ringOperators(ctx, f, carry)
		carry = nil
		asked := round > 0
		br, res, err := f.run(forkWait{
			ctx:  ctx,
			open: true,
			tick: tick.C,
			poll: func() error {
				if asked {
					asked = false
					return nil
				}
				var tried, ringing []string
				for _, br := range f.branches {
					tried = append(tried, br.user)
					if br.final == 0 {
						ringing = append(ringing, br.user)
					}
				}
				st := w.Next(tried, ringing)
				switch {
				case st.Overflow:
					why = "overflowed"
					if st.OverflowTo == "" || c.diverted != nil {
						// No target, or the call came diverted already
						// (one diversion per call, divert.go).
						return errQueueNoOverflow()
					}
					return &queueOverflow{to: st.OverflowTo}
				case st.EndRound:
					carry = st.Ring
					return errRoundEnded
				}
				c.ringOperators(ctx, f, st.Ring)
				return nil
			},
			provisional: func(br *branch, res *sip.Response) { c.provisional(f, br, req, tx, res) },
			stopped: func() (string, error) {
				if isClosed(cancelled) {
					return c.cancelReason, ErrCancelled
				}
				return "", fmt.Errorf("%w: shutting down", dnssrv.ErrAllFailed)
			},
			deflect:   c.deflect,
			clear:     c.clear,
			cancelled: cancelled,
		})
		switch {
		case br != nil:
			why = ""
			w.Answered(br.user)
			return c.answer2xx(ctx, f, br, req, tx, res, cancelled)
		case errors.Is(err, errRoundEnded):
			continue // cancelled and drained (forkloop.go): the next round
		case why == "overflowed":
		default:
			why = queueLeft(err)
		}
		return err
	}
}

// errRoundEnded: the queue ended a round of ringing (QueueStep.EndRound).
var errRoundEnded = errors.New("b2bua: queue round ended")

// queueLeft is why a queued call left unanswered (QueueWait.Leave) when
// the fork loop stopped with err.
func queueLeft(err error) string {
	var dv *deflection
	var se *statusError
	switch {
	case errors.Is(err, ErrCancelled):
		return "cancelled"
	case errors.As(err, &dv):
		return "deflected"
	case errors.As(err, &se) && se.code == 603: // clearedErr: Hangup (control.go)
		return "cleared"
	}
	return "failed"
}

// ringOperators sends the INVITE to every registered device of users as
// branches of f; a device that cannot be reached is logged and skipped.
func (c *call) ringOperators(ctx context.Context, f *fork, users []string) {
	for _, u := range users {
		for _, bnd := range c.gw.contacts(u) {
			br, err := c.contactBranch(u, bnd)
			if err == nil {
				err = f.send(ctx, br)
			}
			if err != nil {
				c.gw.log.Info("queue: operator's device unreachable", "user", u, "contact", bnd.ContactURI, "error", err)
			}
		}
	}
}

// queueDiversion is the diversion of a queue's overflow.
func (c *call) queueDiversion(err error) (diversion, bool) {
	var qo *queueOverflow
	if errors.As(err, &qo) && c.diverted == nil {
		return diversion{from: c.num, to: qo.to, reason: "no-answer", cause: 408}, true
	}
	return diversion{}, false
}
