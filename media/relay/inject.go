package relay

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"time"

	"github.com/switchboard-gw/switchboard/media/dtmf"
)

// Telephone events injected into a relayed stream (RFC 4733), for SIP INFO
// DTMF that the B2BUA turns into RTP towards a leg that negotiated
// telephone-event.
//
// The events go on the stream the far end already receives: its SSRC, and
// the sequence numbers and timestamps of the audio around them (RFC 4733
// §2.1: events and audio of one source in one RTP stream; RFC 3550 §5.1:
// one sequence number space per SSRC). While an event lasts, the audio
// towards that far end is held back, as a phone sends the event instead
// of its audio, so the far end does not play speech over the tone it
// makes of the event. Each injected packet takes the next sequence
// number and each audio packet held back gives one back, so the audio
// that follows is sent with its sequence number shifted and the far end
// sees one gapless sequence. The event's timestamp is the audio
// timeline's at the moment the event starts: the last forwarded packet's
// timestamp advanced by the time since it arrived (RFC 4733 §2.3.1).

// ErrNoEvents: the side's far end cannot be sent events: the session is
// closed, or the side does not take media now (hold, no address).
var ErrNoEvents = errors.New("relay: no stream to send events on")

// outStream is what the relay last forwarded to a side's far end: the
// RTP stream the events join. It lives on the side the packets come from
// (their onRTP fills it), under that side's mu.
type outStream struct {
	known bool
	ssrc  uint32
	seq   uint16 // the last sequence number sent, after the shift
	ts    uint32 // the last audio timestamp sent
	at    int64  // monotonic ns when that packet arrived
	shift uint16 // packets injected less audio held back: added to later sequence numbers
	held  int    // events or tones being sent (each holds the audio back): a count, as a tone and an event may overlap
	fresh bool   // the events started a stream of their own: the first audio continues its numbers
}

// timelineNow is the audio timeline at now for a stream at rate Hz: the
// last forwarded packet's timestamp advanced by the time since it
// arrived, and at least by minStep (one packet's worth of samples): that
// packet covers its own duration, so what is sent next starts after it,
// never on its timestamp, even when it arrived a moment ago (RFC 3550
// §5.1: the timestamp is the sampling instant of the packet's first
// octet).
func (o *outStream) timelineNow(now int64, rate, minStep uint32) uint32 {
	d := uint32(uint64(now-o.at) * uint64(rate) / uint64(time.Second))
	if d < minStep && !o.fresh {
		d = minStep
	}
	return o.ts + d
}

// forward notes an RTP packet going out to the peer's far end and shifts
// its sequence number past the injected events; it reports false for a
// packet held back while an event is sent. Called from onRTP with s.mu
// held, for packets that may be forwarded.
func (o *outStream) forward(b []byte, now int64) bool {
	if o.held > 0 {
		o.shift-- // its number goes to the next packet sent
		return false
	}
	seq := binary.BigEndian.Uint16(b[2:4])
	if o.fresh {
		// audio after events sent before any audio: its numbers go on
		// from the events' (a WebRTC leg puts both on one SSRC)
		o.shift, o.fresh = o.seq+1-seq, false
	}
	if o.shift != 0 {
		seq += o.shift
		binary.BigEndian.PutUint16(b[2:4], seq)
	}
	o.known, o.seq, o.at = true, seq, now
	o.ssrc = binary.BigEndian.Uint32(b[8:12])
	o.ts = binary.BigEndian.Uint32(b[4:8])
	return true
}

// SendEvent signals ev to s's far end as RFC 4733 packets of payload type
// pt at clockRate (the rate of the telephone-event format its SDP gave
// pt), paced as dtmf.Plan lays them out, on the stream the relay forwards
// to it (above). It returns when the last end packet is sent, or early
// with ctx's error (an event cut short still ends: its end packets go
// out). Events to one side must not overlap: the B2BUA sends them one
// after the other. Before any audio went to the far end, the events start
// a stream of their own (random SSRC, sequence number and timestamp, RFC
// 3550 §5.1), and the audio that comes later goes on from their sequence
// numbers.
func (s *Side) SendEvent(ctx context.Context, ev dtmf.Event, pt uint8, clockRate uint32) error {
	if clockRate == 0 {
		clockRate = 8000
	}
	src := s.peer // the side whose packets go out to s's far end
	start := time.Now()
	src.mu.Lock()
	o := &src.out
	if !o.known {
		var r [10]byte
		_, _ = rand.Read(r[:])
		o.known, o.ssrc = true, binary.BigEndian.Uint32(r[0:4])
		o.seq, o.ts = binary.BigEndian.Uint16(r[4:6]), binary.BigEndian.Uint32(r[6:10])
		o.at, o.fresh = monotonic(), true
	}
	ssrc := o.ssrc
	// the audio timeline now: RTP timestamps advance at the clock rate;
	// one 20 ms packet at least after the last audio packet
	ts := o.timelineNow(monotonic(), uint32(clockRate), uint32(clockRate)/50)
	o.held++
	src.mu.Unlock()
	defer func() {
		src.mu.Lock()
		o.held--
		src.mu.Unlock()
	}()

	pkt := make([]byte, 12+dtmf.PayloadSize)
	steps := dtmf.Plan(ev, clockRate)
	cut := false
	for i, st := range steps {
		if !cut && ctx.Err() != nil {
			cut = true // a late sender must not catch up on a cut event
		}
		if !cut {
			if wait := time.Until(start.Add(st.At)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					cut = true
				}
			}
		}
		if cut && !st.End {
			continue // cut short: straight to the end packets
		}
		src.mu.Lock()
		o.seq++
		o.shift++
		seq := o.seq
		src.mu.Unlock()
		pkt[0] = 0x80 // V=2, no padding, extension or CSRC
		pkt[1] = pt & 0x7f
		if st.Marker && i == 0 {
			pkt[1] |= 0x80
		}
		binary.BigEndian.PutUint16(pkt[2:4], seq)
		binary.BigEndian.PutUint32(pkt[4:8], ts)
		binary.BigEndian.PutUint32(pkt[8:12], ssrc)
		dtmf.Payload(pkt[12:], ev.Code, st.End, st.Duration)
		if err := s.sendOut(pkt); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// sendOut sends one RTP packet to s's far end, as the relay sends what
// it forwards there: out of s's RTP socket to where s's media goes, or to
// its in-process endpoint.
func (s *Side) sendOut(pkt []byte) error {
	s.sess.mu.Lock()
	closed := s.sess.closed
	s.sess.mu.Unlock()
	if closed {
		return ErrNoEvents
	}
	d := s.dst.Load()
	if d == nil || !d.recv {
		return ErrNoEvents
	}
	if ep := s.endpoint(); ep != nil {
		ep.fn(pkt, NoBatch)
		return nil
	}
	if !d.rtp.IsValid() || !s.sess.relay.sendFrom(s.sess, s.rtpSock, pkt, d.rtp) {
		return ErrNoEvents
	}
	return nil
}
