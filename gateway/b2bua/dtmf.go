package b2bua

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/dtmf"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// SIP INFO DTMF as RFC 4733 events. A browser (JsSIP's default) or a
// phone sends its keypad's digits as INFO (application/dtmf-relay,
// application/dtmf; RFC 6086 carries them). When the other leg negotiated
// telephone-event, it gets the digit as RFC 4733 packets on the RTP it
// receives (media/relay inject.go) and the INFO is answered here, not
// passed on: the far end, a PBX's IVR or voicemail, listens to its media
// for digits. Otherwise the INFO passes as before (info.go).
//
// RFC 4733 from a leg that negotiated it needs nothing here: the relay
// forwards its packets as they are, and the WebRTC bridge keeps their
// payload type (media/webrtc track.go).

// dtmfQueueLen is how many digits may wait for the ones before them: a
// keypad sends a few a second; a flood beyond this is refused.
const dtmfQueueLen = 16

// dtmfJob is one digit to signal on a relay side.
type dtmfJob struct {
	side *relay.Side
	ev   dtmf.Event
	pt   uint8
	rate uint32
	from string // the INFO's Call-ID, for the log
}

// dtmfQueue sends a call's digits towards each leg one after the other
// (RFC 4733 events of one stream do not overlap, §2.5.1), from one
// goroutine per direction started at its first digit that ends with the
// call; a flood from one leg does not hold up the other's digits.
type dtmfQueue struct {
	once [2]sync.Once
	jobs [2]chan dtmfJob // towards the B leg, towards the A leg
}

// infoAsEvents answers a DTMF INFO from l's far end itself and queues its
// digit as RFC 4733 events towards the other leg, when that leg takes
// telephone-event. It reports false (nothing sent) when the INFO must
// pass on as it is: not DTMF, a body it cannot read, or no telephone-event
// on the other leg.
func (c *call) infoAsEvents(l *leg, req *sip.Request, tx sip.ServerTransaction) bool {
	h := req.GetHeader("Content-Type")
	if h == nil || !dtmf.IsInfoType(h.Value()) {
		return false
	}
	ev, err := dtmf.ParseInfo(h.Value(), req.Body())
	if err != nil {
		return false // the far end may read what we cannot
	}
	x, y := c.legs(l.isA)
	if y.side == nil || y.d == nil {
		return false
	}
	pt, rate, ok := c.eventFormat(y)
	if !ok {
		return false
	}
	q, dir := &c.dtmfq, 0
	if y.isA {
		dir = 1
	}
	q.once[dir].Do(func() {
		q.jobs[dir] = make(chan dtmfJob, dtmfQueueLen)
		gw := c.gw
		gw.calls.Add(1)
		go func() {
			defer gw.calls.Done()
			c.sendDigits(q.jobs[dir])
		}()
	})
	select {
	case q.jobs[dir] <- dtmfJob{side: y.side, ev: ev, pt: pt, rate: rate, from: x.callID()}:
	default:
		c.gw.log.Info("INFO DTMF: too many digits waiting", "call_id", x.callID())
		c.respondIn(tx, req, x.d, 503, "Service Unavailable", "", nil, sip.NewHeader("Retry-After", "1"))
		return true
	}
	c.respondIn(tx, req, x.d, 200, "OK", "", nil)
	return true
}

// sendDigits signals queued digits until the call ends; a digit in
// progress then ends at once (its end packets still go out).
func (c *call) sendDigits(jobs <-chan dtmfJob) {
	ctx, cancel := context.WithCancel(c.gw.ctx)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-jobs:
			err := j.side.SendEvent(ctx, j.ev, j.pt, j.rate)
			switch {
			case err == nil:
				c.gw.log.Debug("INFO DTMF sent as RFC 4733", "call_id", j.from, "digit", string(dtmf.Char(j.ev.Code)), "pt", j.pt)
			case errors.Is(err, relay.ErrNoEvents):
				c.gw.log.Info("INFO DTMF dropped: the other leg takes no media now", "call_id", j.from)
			}
		}
	}
}

// eventFormat is the telephone-event format (RFC 4733 §7) that y's far
// end receives: the payload type its SDP gave (the relay side's remote)
// at that format's clock rate. ok is false when y did not negotiate
// telephone-event: its SDP lacks it, or the SDP we last sent it does.
func (c *call) eventFormat(y *leg) (pt uint8, rate uint32, ok bool) {
	r := y.side.Remote()
	if r.EventPayloadType == 0 {
		return 0, 0, false
	}
	pt, rate = r.EventPayloadType, r.ClockRate
	if sd, err := sdp.Parse(c.sessionFrom(y)); err == nil { // a browser's as plain RTP
		if st, err := sdp.AudioStream(sd); err == nil {
			for _, cd := range st.Codecs {
				if cd.PayloadType == pt && strings.EqualFold(cd.Name, "telephone-event") {
					rate = cd.ClockRate
				}
			}
		}
	}
	if sent := y.lastSent(); len(sent) > 0 && !strings.Contains(strings.ToLower(string(sent)), "telephone-event") {
		return 0, 0, false // our side of y's offer/answer left it out
	}
	return pt, rate, true
}
