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
	f := newFork(c)
	defer func() { f.drain(nil) }()
	tick := time.NewTicker(queuePoll)
	defer tick.Stop()
	for {
		var tried, ringing []string
		for _, br := range f.branches {
			tried = append(tried, br.user)
			if br.final == 0 {
				ringing = append(ringing, br.user)
			}
		}
		st := w.Next(tried, ringing)
		if st.Overflow {
			f.cancel(nil, "")
			why = "overflowed"
			if st.OverflowTo == "" || c.diverted != nil {
				// No target, or the call came diverted already (one
				// diversion per call, divert.go).
				return errQueueNoOverflow()
			}
			return &queueOverflow{to: st.OverflowTo}
		}
		if st.EndRound {
			f.cancel(nil, "")
			f.drain(nil)
			f = newFork(c)
		}
		for _, u := range st.Ring {
			for _, bnd := range gw.contacts(u) {
				br, err := c.contactBranch(u, bnd)
				if err == nil {
					err = f.send(ctx, br)
				}
				if err != nil {
					gw.log.Info("queue: operator's device unreachable", "user", u, "contact", bnd.ContactURI, "error", err)
				}
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
				c.provisional(f, br, req, tx, res)
			case code < 300:
				why = ""
				w.Answered(br.user)
				f.win(br, res)
				err := c.answer2xx(ctx, f, br, req, tx, res, cancelled)
				f = newFork(c) // answer2xx drained it
				return err
			default:
				f.refused(br, res)
				f.ended(br) // a browser operator's WebRTC leg (forkloop.go)
			}
		case <-tick.C:
		case dr := <-c.deflect: // Deflect (control.go)
			if c.diverted != nil {
				dr.reply <- fmt.Errorf("%w: the call was diverted already", ErrCallState)
				continue
			}
			dr.reply <- nil
			f.cancel(nil, "")
			why = "deflected"
			return &deflection{to: dr.to}
		case reason := <-c.clear: // Hangup (control.go)
			f.cancel(nil, reason)
			why = "cleared"
			return clearedErr()
		case <-cancelled:
			f.cancel(nil, c.cancelReason) // the caller's Reason (RFC 3326)
			why = "cancelled"
			return ErrCancelled
		case <-ctx.Done():
			reason := ""
			if isClosed(cancelled) {
				reason = c.cancelReason
			}
			f.cancel(nil, reason)
			if isClosed(cancelled) {
				why = "cancelled"
				return ErrCancelled
			}
			return fmt.Errorf("%w: shutting down", dnssrv.ErrAllFailed)
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
