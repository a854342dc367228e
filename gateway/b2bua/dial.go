package b2bua

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// Click-to-dial (third party call control, RFC 3725): the gateway calls a
// local user's own devices first, showing the number to be called as the
// caller (From), and once one answers it calls that number for the user
// exactly as if the user had dialled it — routing, numbering plan, class
// of service, diversions (call.go's run) — and bridges the two through the
// relay. The offer/answer is RFC 3725's with a media relay in the middle:
// our offer (the relay's A side, our codecs) goes to the user's device,
// whose answer, limited to the codec it chose, is then the offer the
// destination gets from the relay's B side (flow II's order with the relay
// answering for the far end, so the first INVITE's 2xx is ACKed at once:
// no 64*T1 limit while the destination rings, the problem of flow I).
//
// The call then runs as any call of the user: the user's device is its A
// leg (a dialog we initiated, unlike a phone's own call), and the
// destination's provisionals and answer, which a caller's INVITE would
// get, go nowhere (dialTx): the user's device is in its call already. A
// 180 without SDP plays the gateway's ringback to the user meanwhile
// (ringback.go); early media is relayed.

// dialTx stands for the caller's INVITE transaction of a call the gateway
// placed: there is no caller transaction, so the responses run() would
// send the caller are dropped, and no CANCEL can come.
type dialTx struct {
	once sync.Once
	done chan struct{}
	rb   *ringback // the user's ringback while the number rings (ringback.go)
}

func newDialTx() *dialTx { return &dialTx{done: make(chan struct{})} }

func (t *dialTx) Terminate()                         { t.once.Do(func() { close(t.done) }) }
func (t *dialTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (t *dialTx) Done() <-chan struct{}              { return t.done }
func (t *dialTx) Err() error                         { return nil }
func (t *dialTx) Respond(res *sip.Response) error    { t.rb.response(res); return nil }
func (t *dialTx) Acks() <-chan *sip.Request          { return nil }
func (t *dialTx) OnCancel(sip.FnTxCancel) bool       { return true }

var _ sip.ServerTransaction = (*dialTx)(nil)

// Dial calls number to for local user: user's registered devices ring
// first (From: to), and when one answers, to is called as if user dialled
// it. It returns the call's ID at once (observe.go's events follow it);
// a number with no route or a user with no device fails here. Hangup
// while the user's devices ring cancels them.
func (b *B2BUA) Dial(user, to string) (string, error) {
	to = strings.TrimSpace(to)
	if user == "" || to == "" {
		return "", fmt.Errorf("%w: user %q, number %q", ErrBadNumber, user, to)
	}
	if _, err := b.resolve(to, false); err != nil {
		return "", err
	}
	contacts := b.contacts(user)
	if len(contacts) == 0 {
		return "", fmt.Errorf("%w: %s has no registered device", ErrUnavailable, user)
	}
	media, err := b.o.Relay.NewSession()
	if err != nil {
		return "", fmt.Errorf("relay session: %w", err)
	}
	c := &call{gw: b, from: caller{user: user}, num: to, mf: 70, media: media, ackc: make(chan struct{}),
		done: make(chan struct{}), started: time.Now(), originA: sdp.NewOrigin(), originB: sdp.NewOrigin()}
	b.track(c)
	b.calls.Add(1)
	go func() {
		defer b.calls.Done()
		defer b.untrack(c)
		if err := c.dial(contacts); err != nil {
			_ = media.Close()
			o := classify(err)
			c.writeCDR(o.Status, o.Cause)
			c.observe(CallEnded, CallEvent{Status: o.Status, Cause: o.Cause})
			b.log.Info("click-to-dial failed", "user", user, "number", to, "status", o.Status, "error", err)
		}
	}()
	return c.ref, nil
}

// dial rings the user's devices, then runs the call to the number.
func (c *call) dial(contacts []store.Binding) error {
	b := c.gw
	user := c.from.user
	a, _ := c.legs(true)
	sd, err := sdp.NewOffer(b.o.Codecs, a.mediaAddr(), a.origin)
	if err != nil {
		return err
	}
	offer, err := sd.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", sdp.ErrMalformed, err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, ringTimeout)
	stopped := make(chan struct{})
	var cleared string
	go func() { // Hangup while the user's devices ring
		defer close(stopped)
		select {
		case cleared = <-c.clear:
			cancel()
		case <-ctx.Done():
		}
	}()
	tr := transferRoute{num: user, out: user, tgt: target{user: user, contacts: contacts}}
	won, bl, res, err := c.placeJoining(ctx, tr, a.side, caller{number: c.num}, offer, nil, nil, nil)
	cancel()
	<-stopped
	if err != nil {
		if cleared != "" {
			return clearedErr()
		}
		if res != nil && res.StatusCode >= 300 {
			return &statusError{code: res.StatusCode, reason: res.Reason}
		}
		return err
	}
	ad := won.d
	_, st, err := a.acceptAnswer(sd, res.Body())
	if err != nil {
		b.bye(ad, 0, sip.NewHeader("Reason", `SIP;cause=488;text="unusable answer"`))
		if bl != nil {
			go bl.Close()
		}
		return err
	}
	a.heard(st, res)
	c.adoptBrowser(bl, ad.callID, true, a.side) // the user's web phone answered (webrtc.go)
	ad.user = user
	b.mu.Lock()
	c.a = ad
	b.mu.Unlock()
	c.acked() // placeTransfer ACKed the 2xx: nothing of ours to send again
	// The user's device answered: its answer is the offer for the number.
	req := c.dialRequest(ad, res)
	tx := newDialTx()
	tx.rb = c.ringbackTo(a.side, res.Body, ad.callID) // the number rings: the user hears it
	defer tx.rb.stop()
	if err := c.run(req, tx); err != nil {
		o := classify(err)
		b.bye(ad, 0, sip.NewHeader("Reason", fmt.Sprintf("SIP;cause=%d;text=%q", o.Status, o.Reason)))
		return err
	}
	return nil
}

// dialRequest is the INVITE the user would have sent to dial the number,
// from its answered device: its SDP, its address (for latching).
func (c *call) dialRequest(ad *dialog, res *sip.Response) *sip.Request {
	b := c.gw
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: c.num, Host: b.o.Domain})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TCP", Host: "invalid", Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.from.user, Host: b.o.Domain}, Params: sip.NewParams()}
	from.Params.Add("tag", ad.remoteTag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: c.num, Host: b.o.Domain}, Params: sip.NewParams()}
	cid := sip.CallIDHeader(ad.callID)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(res.Body())
	req.SetTransport("TCP") // no 2xx retransmission towards nobody (call.go)
	req.SetSource(res.Source())
	return req
}
