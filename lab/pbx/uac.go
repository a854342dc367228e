package pbx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// OutCall is a call the simulator placed.
type OutCall struct {
	s    *Sim
	c    *call
	sess *sipgo.DialogClientSession
	done chan struct{}
}

// CallOptions describe a call the simulator places.
type CallOptions struct {
	// Target is the Request-URI, as sip:1001@127.0.0.1:5060.
	Target sip.Uri
	// From is the calling number (From user). Default "pbx".
	From string
	// Media is what the call does with RTP once answered. Default Tone.
	Media MediaMode
	// Username and Password answer a digest challenge, if any.
	Username, Password string
	// To is the To user when it differs from the Request-URI's: a PBX
	// calling a registered trunk sends to the Contact it registered and
	// names the callee in To. Default: the Request-URI's user.
	To string
}

// Call sends an INVITE with a PCMU offer and waits for the final answer.
// A call that is not answered returns an error wrapping
// *sipgo.ErrDialogResponse (status in Res.StatusCode); an answered one is
// ACKed and plays or echoes media until Hangup or the far end's BYE.
func (s *Sim) Call(ctx context.Context, o CallOptions) (*OutCall, error) {
	if s.ctx.Err() != nil {
		return nil, errClosed
	}
	if o.From == "" {
		o.From = "pbx"
	}
	if o.Media == "" {
		o.Media = Tone
	}
	rtp, err := newRTPSession(s.host)
	if err != nil {
		return nil, fmt.Errorf("pbx: rtp: %w", err)
	}
	c := &call{info: CallInfo{Direction: "out", From: o.From, To: o.Target.User}, rtp: rtp}
	from := &sip.FromHeader{
		Address: sip.Uri{Scheme: "sip", User: o.From, Host: s.host.String(), Port: int(s.Addr().Port())},
		Params:  sip.NewParams(),
	}
	from.Params.Add("tag", sip.GenerateTagN(10))
	hs := []sip.Header{from, sip.NewHeader("Content-Type", "application/sdp")}
	if o.To != "" {
		to := o.Target
		to.User, to.UriParams, to.Headers = o.To, nil, nil
		hs = append(hs, &sip.ToHeader{Address: to, Params: sip.NewParams()})
		c.info.To = o.To
	}
	sess, err := s.uac.Invite(ctx, o.Target, answerSDP(rtp.local, 0), hs...)
	if err != nil {
		rtp.close()
		return nil, fmt.Errorf("pbx: invite: %w", err)
	}
	c.info.ID = sess.InviteRequest.CallID().Value()
	s.addCall(c)
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{
		Username: o.Username, Password: o.Password,
		OnResponse: func(res *sip.Response) error {
			if res.StatusCode == 183 && len(res.Body()) > 0 {
				if remote, err := offerRemote(res.Body()); err == nil {
					rtp.set(remote, Silent, false) // count early media
				}
			}
			return nil
		},
	})
	if err != nil {
		var de *sipgo.ErrDialogResponse
		status := 0
		if errors.As(err, &de) {
			status = de.Res.StatusCode
		}
		c.update(func(i *CallInfo) { i.Status, i.Ended = status, true })
		rtp.close()
		sess.Close()
		return nil, fmt.Errorf("pbx: call %s: %w", o.Target.User, err)
	}
	if remote, err := offerRemote(sess.InviteResponse.Body()); err == nil {
		rtp.set(remote, o.Media, false)
	} else {
		rtp.set(rtp.latched, o.Media, false)
	}
	c.update(func(i *CallInfo) { i.Status, i.Answered = 200, true })
	if err := sess.Ack(ctx); err != nil {
		rtp.close()
		sess.Close()
		return nil, fmt.Errorf("pbx: ack: %w", err)
	}
	oc := &OutCall{s: s, c: c, sess: sess, done: make(chan struct{})}
	if !s.track() {
		rtp.close()
		return nil, errClosed
	}
	go func() {
		defer s.wg.Done()
		defer close(oc.done)
		select {
		case <-sess.Context().Done():
			c.update(func(i *CallInfo) {
				if i.EndedBy == "" {
					i.EndedBy = "remote"
				}
				i.Ended = true
			})
		case <-s.ctx.Done():
		}
		rtp.close()
	}()
	return oc, nil
}

// Info returns the call's state and RTP counters.
func (oc *OutCall) Info() CallInfo { return oc.c.snapshot() }

// Done is closed when the call has ended.
func (oc *OutCall) Done() <-chan struct{} { return oc.done }

// Hangup sends BYE and waits for the call to end.
func (oc *OutCall) Hangup(ctx context.Context) error {
	oc.c.update(func(i *CallInfo) { i.EndedBy = "pbx" })
	err := oc.sess.Bye(ctx)
	oc.sess.Close()
	select {
	case <-oc.done:
	case <-time.After(5 * time.Second):
	}
	if err != nil {
		return fmt.Errorf("pbx: bye: %w", err)
	}
	return nil
}
