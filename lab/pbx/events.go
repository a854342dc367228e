package pbx

import "encoding/binary"

// Telephone events received (RFC 4733), as a voicemail or an IVR reads
// the caller's keypad. The simulator's own reading of the RFC, so that it
// stays a witness independent of the gateway's (media/dtmf).

// dtmfDigits names the DTMF events 0-15 (RFC 4733 §3.2, table 3).
const dtmfDigits = "0123456789*#ABCD"

// eventReceiver turns the telephone-event packets of one stream into
// digits. An event is one RTP timestamp (its start, §2.2.1): its first
// packet, updates and its end packet (the E bit, §2.3.2) all carry it.
// The sender retransmits the end packet, three times in all (§2.5.1.4),
// so a digit counts once, on the first end packet of its timestamp; what
// comes later with that timestamp is ignored. An event whose end packets
// were all lost counts when the next event starts (§2.5.2.2: a new
// timestamp ends the previous event). Packets of an older timestamp than
// the current event's (late, reordered) are ignored. Guarded by the
// rtpSession's mu.
type eventReceiver struct {
	started bool   // an event has been seen
	ts      uint32 // the current event's RTP timestamp
	event   byte   // its event code
	ended   bool   // its end was seen (or it was counted)
	got     []byte // the digits so far
}

// packet takes one RTP packet of the telephone-event payload type.
func (e *eventReceiver) packet(pkt []byte) {
	off := rtpHeaderLen + 4*int(pkt[0]&0x0f) // CSRCs (RFC 3550 §5.1)
	if pkt[0]&0x10 != 0 {                    // header extension (§5.3.1)
		if len(pkt) < off+4 {
			return
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	if len(pkt) < off+4 { // event, E|R|volume, duration (§2.3)
		return
	}
	ts := binary.BigEndian.Uint32(pkt[4:])
	event, end := pkt[off], pkt[off+1]&0x80 != 0
	if e.started && ts == e.ts {
		if !e.ended && end {
			e.ended = true
			e.count(e.event)
		}
		return
	}
	if e.started && int32(ts-e.ts) < 0 {
		return // an earlier event's packet, late
	}
	if e.started && !e.ended {
		e.count(e.event) // its end packets were lost
	}
	e.started, e.ts, e.event, e.ended = true, ts, event, end
	if end {
		e.count(event)
	}
}

// count records the digit of event (events past 15 are no DTMF digits).
func (e *eventReceiver) count(event byte) {
	if int(event) < len(dtmfDigits) && len(e.got) < 1024 {
		e.got = append(e.got, dtmfDigits[event])
	}
}

// setEvents makes the session read telephone-event packets of payload
// type pt as digits.
func (r *rtpSession) setEvents(pt uint8) {
	r.mu.Lock()
	r.eventPT = pt
	r.mu.Unlock()
}

// digits returns the digits received so far.
func (r *rtpSession) digits() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.events.got)
}
