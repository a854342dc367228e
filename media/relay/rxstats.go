package relay

// rxStats keeps the receive statistics of one RTP stream the way RFC 3550
// Appendix A does: sequence number tracking (A.1), expected and lost packets
// (A.3) and interarrival jitter (A.8). It is updated by one reader goroutine
// under its side's lock.
//
// A new SSRC (the far end restarted its stream, or a transfer joined another
// phone) starts a new source: the counts of the old one are folded into the
// totals so that a jump in sequence numbers is not counted as loss.
type rxStats struct {
	started  bool
	ssrc     uint32
	maxSeq   uint16 // highest sequence number seen
	cycles   uint32 // count of sequence number wrap-arounds, shifted by 16
	baseSeq  uint32
	badSeq   uint32 // last 'bad' sequence number + 1
	received uint64 // packets received from this source

	// totals of earlier sources (after an SSRC change)
	prevExpected uint64
	prevReceived uint64

	// jitter, RFC 3550 A.8: in timestamp units, scaled by 16
	jitter      uint32
	transit     int64
	haveTransit bool
	lastPT      uint8
}

// RFC 3550 A.1 constants.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
)

func (r *rxStats) initSeq(seq uint16) {
	r.baseSeq = uint32(seq)
	r.maxSeq = seq
	r.badSeq = seqMod + 1 // so seq == badSeq is false
	r.cycles = 0
	r.received = 0
	r.haveTransit = false
}

// newSource folds the current source into the totals and starts over.
func (r *rxStats) newSource(ssrc uint32, seq uint16) {
	if r.started {
		r.prevExpected += r.expectedCur()
		r.prevReceived += r.received
	}
	r.started = true
	r.ssrc = ssrc
	r.initSeq(seq)
}

// updateSeq is update_seq of RFC 3550 A.1 (without probation: the relay has
// already chosen the source by latching). It reports whether the packet is
// counted.
func (r *rxStats) updateSeq(seq uint16) bool {
	udelta := seq - r.maxSeq
	switch {
	case udelta < maxDropout:
		// in order, with permissible gap
		if seq < r.maxSeq {
			r.cycles += seqMod // wrapped
		}
		r.maxSeq = seq
	case udelta <= seqMod-maxMisorder:
		// the sequence number made a very large jump
		if uint32(seq) == r.badSeq {
			// two sequential packets: the other side restarted without
			// telling us, so re-sync (as if it were a new source)
			r.prevExpected += r.expectedCur()
			r.prevReceived += r.received
			r.initSeq(seq)
		} else {
			r.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return false
		}
	default:
		// duplicate or reordered packet
	}
	r.received++
	return true
}

// add records one RTP packet. arrival is the arrival time in timestamp units
// (RFC 3550 A.8); jitter is skipped when skipJitter is set (RFC 4733 events
// keep one timestamp for a whole event) or the payload type changed.
func (r *rxStats) add(ssrc uint32, seq uint16, ts uint32, pt uint8, arrival int64, skipJitter bool) {
	if !r.started || ssrc != r.ssrc {
		r.newSource(ssrc, seq)
		r.received = 1
		r.lastPT = pt
		if !skipJitter {
			r.transit = arrival - int64(ts)
			r.haveTransit = true
		}
		return
	}
	if !r.updateSeq(seq) {
		return
	}
	if skipJitter {
		return
	}
	transit := arrival - int64(ts)
	if r.haveTransit && pt == r.lastPT {
		// timestamps wrap at 2^32: take the difference modulo 2^32
		d := int64(int32(uint32(transit - r.transit)))
		if d < 0 {
			d = -d
		}
		// J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16, kept scaled by 16
		r.jitter += uint32(d) - ((r.jitter + 8) >> 4)
	}
	r.transit = transit
	r.haveTransit = true
	r.lastPT = pt
}

func (r *rxStats) expectedCur() uint64 {
	if !r.started {
		return 0
	}
	ext := uint64(r.cycles) + uint64(r.maxSeq)
	return ext - uint64(r.baseSeq) + 1
}

// expected and lost over all sources, RFC 3550 A.3. lost may be negative when
// duplicates arrived.
func (r *rxStats) expected() uint64 { return r.prevExpected + r.expectedCur() }

func (r *rxStats) lost() int64 {
	return int64(r.expected()) - int64(r.prevReceived+r.received)
}

// jitterUnits is the interarrival jitter in timestamp units.
func (r *rxStats) jitterUnits() uint32 { return r.jitter >> 4 }
