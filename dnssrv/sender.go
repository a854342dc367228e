package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Sender sends requests towards a trunk with failover (RFC 3263 §4.3): a
// request that fails on one target — transport error, no response within
// the trunk's failover_timeout, or a failover status such as 503 — is sent
// again to the next target as a new client transaction with a new branch,
// until one answers or the trunk's overall timeout ends. An INVITE that got
// a provisional response is never sent elsewhere. Outcomes go to the
// trunk's health.
type Sender struct {
	// Client sends the requests (sipgo.NewClient over the gateway's UA).
	Client *sipgo.Client
	// Prepare, if set, adjusts each copy of the request for the target it
	// is about to go to (Request-URI host, Contact...). The copy already
	// has a new Via branch, its destination and its transport set.
	Prepare func(req *sip.Request, t Target)
}

// Attempt is one target tried.
type Attempt struct {
	Target Target        `json:"target"`
	Status int           `json:"status,omitempty"` // final status, 0 if none
	Err    string        `json:"error,omitempty"`
	Took   time.Duration `json:"took_ns"`
}

// Result is the outcome of Send.
type Result struct {
	// Target is the target that answered.
	Target Target
	// Request is the copy sent to it (its Via branch identifies the
	// transaction: CANCEL and ACK for non-2xx build on it).
	Request *sip.Request
	// Tx is the client transaction that answered, still running: the
	// caller reads further responses from Tx.Responses() and calls
	// Tx.Terminate when done. nil when every target failed.
	Tx sip.ClientTransaction
	// Response is the first response that ended failover: a provisional
	// response to an INVITE, or a final response. When every target
	// failed, the last failover status received, if any.
	Response *sip.Response
	// Attempts lists every target tried, in order.
	Attempts []Attempt
}

// Send sends req to tr's targets in order. Send takes req over: every
// attempt but the one to the last target sends a copy, that one req
// itself (a copy of an INVITE was ~5 % of a call's CPU, and with one
// target it was the only attempt), so the caller reads what was sent
// from Result.Request and does not reuse req. On success the Result holds the live transaction;
// when every target fails the error wraps ErrAllFailed (and ctx's error
// if it ended first) and the Result says what happened.
//
// The failover timeout applies while another target that is up remains:
// the last one up is waited for until the trunk's timeout (Timer B), so
// a slow PBX with no alternative still takes the call; targets known
// down get the failover timeout only. An INVITE given up on is not
// dropped: its branch is CANCELled once it sends a provisional response,
// or ended with ACK and BYE if it answers (RFC 3261 §9.1, §15), so a late
// answer leaves no ghost call; and its target, which only failed to
// answer in time, is suspect rather than down (Health.TimedOut).
func (s *Sender) Send(ctx context.Context, tr *Trunk, req *sip.Request) (*Result, error) {
	o := tr.Options()
	deadline := time.Now().Add(o.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ts, err := tr.Targets(ctx)
	if err != nil {
		return &Result{}, fmt.Errorf("%w: trunk %s: %w", ErrAllFailed, tr.Name(), err)
	}
	// The last target not known down gets the whole timeout: the ones
	// after it are down, so a slow answer from it beats failing over to
	// them (they are still tried after a transport error or a 503). When
	// every target is down, each gets the failover timeout: the request
	// fails fast, as no server is expected to answer.
	final := -1
	for i := len(ts) - 1; i >= 0; i-- {
		if tr.Health().Up(ts[i]) {
			final = i
			break
		}
	}
	res := &Result{}
	var last error
	for i, t := range ts {
		if ctx.Err() != nil {
			break
		}
		r := req
		if i < len(ts)-1 {
			r = req.Clone() // req stays pristine for the next attempt
		}
		a, out, err := s.attempt(ctx, tr, r, t, i == final, deadline)
		res.Attempts = append(res.Attempts, a)
		if err == nil {
			out.Attempts = res.Attempts
			return out, nil
		}
		if out != nil && out.Response != nil {
			res.Response = out.Response
		}
		last = err
	}
	if ctx.Err() != nil && (last == nil || !errors.Is(last, ctx.Err())) {
		last = errors.Join(last, ctx.Err())
	}
	return res, fmt.Errorf("%w: trunk %s, %d target(s): %w", ErrAllFailed, tr.Name(), len(res.Attempts), last)
}

// attempt sends req (a copy of Send's, or Send's own for the last
// target) to t and waits for a response that
// decides: success (Result with the transaction) or failure (error).
// last turns the failover timeout off: nothing is left to fail over to.
func (s *Sender) attempt(ctx context.Context, tr *Trunk, req *sip.Request, t Target, last bool, deadline time.Time) (Attempt, *Result, error) {
	o := tr.Options()
	h := tr.Health()
	start := time.Now()
	a := Attempt{Target: t}
	fail := func(err error) (Attempt, *Result, error) {
		a.Took, a.Err = time.Since(start), err.Error()
		return a, nil, err
	}

	r := req
	if via := r.Via(); via != nil {
		// RFC 3263 §4.3: a new transaction, so a new branch.
		via.Params.Add("branch", sip.GenerateBranch())
		via.Transport = t.Transport.Network()
	}
	r.SetDestination(t.HostPort())
	r.SetTransport(t.Transport.Network())
	tr.SetLocalAddr(r, t) // from the listener, not an ephemeral port
	if s.Prepare != nil {
		s.Prepare(r, t)
	}
	tx, err := s.Client.TransactionRequest(ctx, r)
	if err != nil {
		if ctx.Err() == nil {
			h.Failed(t, err) // could not connect or write: transport error
		}
		return fail(err)
	}
	var timeout <-chan time.Time
	if !last {
		timer := time.NewTimer(o.FailoverTimeout)
		defer timer.Stop()
		timeout = timer.C
	}
	// giveUp ends the attempt without a decision from t: an INVITE's
	// branch goes on in the background until it can be ended properly.
	giveUp := func() {
		if r.IsInvite() {
			// Long enough for an answer to the first retransmission (a
			// lost INVITE) or a slow 100; not so long that retransmissions
			// reach a server that comes back and ring a call long gone.
			until := time.Now().Add(max(o.FailoverTimeout, sip.T1))
			if until.After(deadline) {
				until = deadline
			}
			s.abandon(tr, t, r, tx, until)
		} else {
			tx.Terminate()
		}
	}
	for {
		select {
		case resp := <-tx.Responses():
			if resp == nil {
				continue
			}
			if resp.IsProvisional() {
				if r.IsInvite() {
					// An INVITE that got a provisional response stays here.
					h.Succeeded(t)
					a.Took = time.Since(start)
					return a, &Result{Target: t, Request: r, Tx: tx, Response: resp}, nil
				}
				timeout = nil // alive: wait for the final response
				continue
			}
			a.Status = resp.StatusCode
			if slices.Contains(o.FailoverCodes, resp.StatusCode) {
				tx.Terminate()
				se := statusError(resp)
				if resp.StatusCode == 503 {
					h.Overloaded(t, se.RetryAfter, se)
				} else {
					h.Failed(t, se)
				}
				a.Took, a.Err = time.Since(start), se.Error()
				return a, &Result{Response: resp}, se
			}
			h.Succeeded(t)
			a.Took = time.Since(start)
			return a, &Result{Target: t, Request: r, Tx: tx, Response: resp}, nil
		case <-tx.Done():
			err := tx.Err()
			if err == nil {
				err = errors.New("transaction ended without a response")
			}
			h.Failed(t, err)
			return fail(err)
		case <-timeout:
			giveUp()
			err := fmt.Errorf("%w: %s in %s", ErrFailoverTimeout, t.Key(), o.FailoverTimeout)
			if h.TimedOut(t, err) {
				tr.confirm(t) // one timeout is not death: ask the target
			}
			return fail(err)
		case <-ctx.Done():
			giveUp()
			return fail(ctx.Err())
		}
	}
}
