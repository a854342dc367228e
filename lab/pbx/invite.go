package pbx

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	pionsdp "github.com/pion/sdp/v3"
)

// behaviour returns the configured behaviour of number.
func (s *Sim) behaviour(number string) Number {
	b, ok := s.o.Numbers[number]
	if !ok {
		b = s.o.Default
	}
	if b.Action == "" {
		b.Action = Answer
	}
	if b.Media == "" {
		b.Media = Echo
	}
	return b
}

// answerSDP describes our RTP socket: one PCMU audio stream
// (RFC 3264 answer to an offer that had PCMU; the simulator needs no
// other codec) and, when eventPT is not 0, telephone-event on the
// offer's payload type (RFC 4733 §7.1.1; RFC 3264 §6.1: the answer keeps
// the offer's number), events 0-15 (the DTMF digits, §3.2).
func answerSDP(local netip.AddrPort, eventPT uint8) []byte {
	ip := local.Addr().String()
	addrType := "IP4"
	if local.Addr().Is6() {
		addrType = "IP6"
	}
	formats := []string{"0"}
	attrs := []pionsdp.Attribute{{Key: "rtpmap", Value: "0 PCMU/8000"}}
	if eventPT != 0 {
		pt := strconv.Itoa(int(eventPT))
		formats = append(formats, pt)
		attrs = append(attrs, pionsdp.Attribute{Key: "rtpmap", Value: pt + " telephone-event/8000"},
			pionsdp.Attribute{Key: "fmtp", Value: pt + " 0-15"})
	}
	attrs = append(attrs, pionsdp.Attribute{Key: "ptime", Value: "20"}, pionsdp.Attribute{Key: "sendrecv"})
	sd := &pionsdp.SessionDescription{
		Origin: pionsdp.Origin{Username: "pbxsim", SessionID: uint64(time.Now().UnixNano()), SessionVersion: 1,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: ip},
		SessionName: "pbxsim",
		ConnectionInformation: &pionsdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType,
			Address: &pionsdp.Address{Address: ip}},
		TimeDescriptions: []pionsdp.TimeDescription{{}},
		MediaDescriptions: []*pionsdp.MediaDescription{{
			MediaName: pionsdp.MediaName{Media: "audio", Port: pionsdp.RangedPort{Value: int(local.Port())},
				Protos: []string{"RTP", "AVP"}, Formats: formats},
			Attributes: attrs,
		}},
	}
	b, err := sd.Marshal()
	if err != nil {
		panic(fmt.Sprintf("pbx: marshal own sdp: %v", err)) // fixed, valid structure
	}
	return b
}

func (s *Sim) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	s.invites.Add(1)
	if s.unavailable(req, tx) {
		return
	}
	c := &call{info: CallInfo{ID: req.CallID().Value(), Direction: "in", From: req.From().Address.User, To: req.Recipient.User}}
	s.addCall(c)
	b := s.behaviour(req.Recipient.User)
	final := func(code int, reason string) {
		c.update(func(i *CallInfo) { i.Status, i.Ended = code, true })
		s.respond(req, tx, code, reason)
		s.log.Info("call refused", "call_id", c.info.ID, "to", c.info.To, "status", code)
	}
	switch b.Action {
	case Busy:
		final(486, "Busy Here")
		return
	case Unavailable:
		final(503, "Service Unavailable")
		return
	case NotFound:
		final(404, "Not Found")
		return
	}
	of, err := readOffer(req.Body())
	if err != nil {
		final(488, "Not Acceptable Here")
		return
	}
	rtp, err := newRTPSession(s.host)
	if err != nil {
		final(500, "Server Internal Error")
		return
	}
	if b.DTMF && of.eventPT != 0 {
		rtp.setEvents(of.eventPT)
	} else {
		of.eventPT = 0
	}
	c.mu.Lock()
	c.rtp = rtp
	c.mu.Unlock()
	sess, err := s.dialog.ReadInvite(req, tx)
	if err != nil {
		rtp.close()
		final(400, "Bad Request")
		return
	}
	// sipgo ends the transaction when the handler returns: the call
	// runs here.
	if !s.track() {
		rtp.close()
		final(503, "Service Unavailable")
		return
	}
	defer s.wg.Done()
	defer rtp.close()
	defer sess.Close()
	s.runInboundCall(c, b, sess, tx, of)
}

// runInboundCall rings, answers and waits for the end of an accepted
// INVITE.
func (s *Sim) runInboundCall(c *call, b Number, sess *sipgo.DialogServerSession, tx sip.ServerTransaction, of offer) {
	rtp, remote := c.rtp, of.rtp
	sdp := answerSDP(rtp.local, of.eventPT)
	_ = sess.Respond(100, "Trying", nil)
	if b.Early {
		rtp.set(remote, Silent, true) // early media: the tone
		_ = sess.Respond(183, "Session Progress", sdp, sip.NewHeader("Content-Type", "application/sdp"))
	} else if b.Ring > 0 || b.Action == NoAnswer {
		_ = sess.Respond(180, "Ringing", nil)
	}
	var ring <-chan time.Time
	if b.Action != NoAnswer {
		t := time.NewTimer(b.Ring)
		defer t.Stop()
		ring = t.C
	}
	select {
	case <-ring:
	case <-tx.Done(): // CANCEL (sipgo answered 487) or transport failure
		c.update(func(i *CallInfo) { i.Status, i.Ended, i.Canceled, i.EndedBy = 487, true, true, "remote" })
		s.log.Info("call canceled", "call_id", c.info.ID, "to", c.info.To)
		return
	case <-s.ctx.Done():
		_ = sess.Respond(503, "Service Unavailable", nil)
		return
	}
	rtp.set(remote, b.Media, false)
	if err := sess.RespondSDP(sdp); err != nil {
		c.update(func(i *CallInfo) { i.Ended = true })
		return
	}
	c.update(func(i *CallInfo) { i.Status, i.Answered = 200, true })
	s.log.Info("call answered", "call_id", c.info.ID, "to", c.info.To, "media", b.Media)
	var hangup <-chan time.Time
	if b.HangupAfter > 0 {
		t := time.NewTimer(b.HangupAfter)
		defer t.Stop()
		hangup = t.C
	}
	select {
	case <-sess.Context().Done():
		c.update(func(i *CallInfo) { i.Ended, i.EndedBy = true, "remote" })
	case <-hangup:
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		_ = sess.Bye(ctx)
		cancel()
		c.update(func(i *CallInfo) { i.Ended, i.EndedBy = true, "pbx" })
	case <-s.ctx.Done():
	}
	s.log.Info("call ended", "call_id", c.info.ID, "ended_by", c.snapshot().EndedBy, "rtp_received", rtp.received.Load())
}
