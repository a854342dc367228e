package relay

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"
)

// Playing a tone into a side. The tone goes on the stream the side's far
// end already receives from the relay, as injected events do (inject.go):
// its SSRC, the next sequence numbers, timestamps that go on from the
// audio timeline (RFC 3550 §5.1), so the phone's jitter buffer takes it as
// more of the same stream; before any audio was forwarded it starts a
// stream of its own (random SSRC, sequence number and timestamp). While
// the tone plays, the audio the peer side would forward there is held
// back: the party hears the tone, not the transferor's music on hold.
// When it stops, the audio that comes next is forwarded again (its
// sequence numbers shifted past the tone's packets when it is the same
// stream; a new party's stream has an SSRC of its own).

// TonePlay says how a tone is sent to a side's far end: in which codec,
// with which RTP payload type, in packets of how long.
type TonePlay struct {
	Codec Codec
	// PayloadType is the payload type the far end's SDP gave the codec
	// (0 and 8 are PCMU's and PCMA's static ones, RFC 3551 §6).
	PayloadType uint8
	// Ptime is the packet duration: 10 ms to 60 ms in steps of 10 ms.
	// Zero: 20 ms (RFC 3551 §4.5: G.711's default).
	Ptime time.Duration
}

// lateSkip: a player this many packets behind its schedule (a stalled
// process) skips the packets it missed instead of sending them in a
// burst: the timestamps jump, the sequence numbers do not (RFC 3550
// §5.1: a gap in time, no packet lost).
const lateSkip = 5

// PlayTone sends tt to s's far end as p says, 8000 Hz RTP in real time,
// until ctx is done or the session closes; it returns ctx's error, or
// ErrNoEvents when the session closed. Packets that cannot go out for a
// while (the far end on hold with inactive, no address yet) are skipped,
// the tone's clock going on. Only one tone or event (SendEvent) at a time
// may play into a side: the B2BUA plays a tone only while no one sends
// events.
func (s *Side) PlayTone(ctx context.Context, tt *ToneTable, p TonePlay) error {
	if p.Ptime == 0 {
		p.Ptime = 20 * time.Millisecond
	}
	if p.Ptime < 10*time.Millisecond || p.Ptime > 60*time.Millisecond || p.Ptime%(10*time.Millisecond) != 0 {
		return fmt.Errorf("%w: ptime %s", ErrInvalidTone, p.Ptime)
	}
	samples := int(p.Ptime / time.Millisecond * toneRate / 1000)

	src := s.peer // the side whose packets go out to s's far end
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
	// the audio timeline now, at 8000 Hz
	ts := o.timelineNow(monotonic(), toneRate, uint32(samples))
	o.held++     // audio to s's far end is held back (inject.go)
	last := o.ts // the timestamp of the last packet the far end got
	src.mu.Unlock()
	defer func() {
		src.mu.Lock()
		o.held--
		// the timeline goes on from the tone's: events sent later and
		// the fresh-stream rule see where it ended
		o.at = monotonic()
		o.ts = last
		src.mu.Unlock()
	}()

	pkt := make([]byte, 12+samples)
	pkt[0] = 0x80 // V=2, no padding, extension or CSRC
	binary.BigEndian.PutUint32(pkt[8:12], ssrc)
	start := time.Now()
	pos := 0
	t := time.NewTimer(0)
	defer t.Stop()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if s.sessionClosed() {
			return ErrNoEvents
		}
		if late := int(time.Since(start)/p.Ptime) - k; late > lateSkip {
			// skip what was missed: the timeline goes on, the sequence
			// numbers do not
			k += late
			ts += uint32(late * samples)
			pos = (pos + late*samples) % tt.Samples()
		}
		src.mu.Lock()
		o.seq++
		o.shift++
		seq := o.seq
		src.mu.Unlock()
		pkt[1] = p.PayloadType & 0x7f
		if k == 0 {
			pkt[1] |= 0x80 // the start of a talkspurt (RFC 3551 §4.1)
		}
		binary.BigEndian.PutUint16(pkt[2:4], seq)
		binary.BigEndian.PutUint32(pkt[4:8], ts)
		pos = tt.Fill(pkt[12:], p.Codec, pos)
		err := s.sendOut(pkt)
		if err == nil {
			last = ts
		} else {
			if s.sessionClosed() {
				return ErrNoEvents
			}
			// not sent (hold, no address): its sequence number was
			// not used
			src.mu.Lock()
			if o.seq == seq {
				o.seq--
				o.shift--
			}
			src.mu.Unlock()
		}
		ts += uint32(samples)
		t.Reset(time.Until(start.Add(time.Duration(k+1) * p.Ptime)))
	}
}

// sessionClosed reports whether s's session was closed.
func (s *Side) sessionClosed() bool {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	return s.sess.closed
}
