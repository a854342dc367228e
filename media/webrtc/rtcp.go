package webrtc

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// RTCP reports towards the browser on the fast path (RFC 3550 §6.4). pion
// sees none of the media there, so it reports nothing; the leg builds the
// reports itself from counters its packet path keeps with a few atomic
// stores a packet: a sender report about what it sends the browser
// (packets, payload octets, the RTP timestamp of now) with a reception
// report block about the browser's stream (loss and jitter as the relay's
// side counts them, RFC 3550 A.1/A.8, and the highest sequence number),
// and an SDES CNAME (§6.1: every compound packet has one). The browser
// shows them as its remote-inbound-rtp (our reception report about its
// stream) and remote-outbound-rtp (our sender report) statistics.

// reportInterval is the mean interval between reports: RFC 3550 §6.2's
// minimum of 5 s, as an audio session's RTCP bandwidth gives no less; each
// interval is randomised over [0.5, 1.5] times it (§6.3.1), the first one
// is half of it (§6.2, "initial").
var reportInterval = 5 * time.Second

// txCounts is what the leg sent the browser on the fast path.
type txCounts struct {
	packets, octets atomic.Uint64
	ts              atomic.Uint32 // RTP timestamp of the last packet
	at              atomic.Int64  // when it was sent, unix ns
}

// rxCounts is the browser's stream as the fast path saw it.
type rxCounts struct {
	ssrc   atomic.Uint32
	maxSeq atomic.Uint32 // extended highest sequence number (RFC 3550 A.1)
	seen   atomic.Bool
}

// sent notes one RTP packet sent to the browser: its payload octets and
// RTP timestamp (taken before the send, which may encrypt it in place).
func (c *txCounts) sent(octets int, ts uint32) {
	c.packets.Add(1)
	c.octets.Add(uint64(octets))
	c.ts.Store(ts)
	c.at.Store(time.Now().UnixNano())
}

// got notes one RTP packet from the browser (one writer: the fast path's
// reader).
func (c *rxCounts) got(pkt []byte) {
	seq := uint32(binary.BigEndian.Uint16(pkt[2:4]))
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	if !c.seen.Load() || c.ssrc.Load() != ssrc {
		c.ssrc.Store(ssrc)
		c.maxSeq.Store(seq)
		c.seen.Store(true)
		return
	}
	prev := c.maxSeq.Load()
	if d := uint16(seq - prev&0xffff); d != 0 && d < 0x8000 { // ahead, with wrap
		c.maxSeq.Store(prev + uint32(d))
	}
}

// rtpHeaderLen is the length of pkt's RTP header: fixed part, CSRCs and
// header extension (RFC 3550 §5.1, §5.3.1); the payload octets of a sender
// report leave it out.
func rtpHeaderLen(pkt []byte) int {
	n := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 && len(pkt) >= n+4 {
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:n+4]))
	}
	return min(n, len(pkt))
}

// reporter sends the leg's reports on a timer (no goroutine of its own
// between reports).
type reporter struct {
	l *Leg

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	// the previous report's expected and received, for the fraction lost
	// of the interval (RFC 3550 A.3)
	prevExpected, prevReceived uint64
	sent                       uint64 // reports sent
}

// startReports starts the leg's reports, once.
func (l *Leg) startReports() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rep != nil || l.closing {
		return
	}
	r := &reporter{l: l}
	r.mu.Lock() // tick takes it: the timer is set before it runs
	r.timer = time.AfterFunc(reportInterval/2, r.tick)
	r.mu.Unlock()
	l.rep = r
}

func (r *reporter) stop() {
	r.mu.Lock()
	r.stopped = true
	r.timer.Stop()
	r.mu.Unlock()
}

func (r *reporter) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if pkt := r.build(time.Now()); pkt != nil {
		if st := r.l.stream; st != nil && st.SendRTCP(pkt) == nil {
			r.sent++
		}
	}
	r.timer.Reset(time.Duration(float64(reportInterval) * (0.5 + rand.Float64())))
}

// build makes the compound packet: SR (or RR before anything was sent)
// with a report block about the browser's stream, then SDES CNAME. Nil
// when the track has no SSRC yet. r.mu is held.
func (r *reporter) build(now time.Time) []byte {
	l := r.l
	b := l.track.cur.Load()
	if b == nil {
		return nil
	}
	var blocks []rtcp.ReceptionReport
	if l.rx.seen.Load() {
		blocks = append(blocks, r.block())
	}
	var first rtcp.Packet = &rtcp.ReceiverReport{SSRC: b.ssrc, Reports: blocks}
	if n := l.tx.packets.Load(); n > 0 {
		rate := uint64(l.clockRate())
		elapsed := now.UnixNano() - l.tx.at.Load()
		first = &rtcp.SenderReport{
			SSRC:        b.ssrc,
			NTPTime:     ntpTime(now),
			RTPTime:     l.tx.ts.Load() + uint32(uint64(max(elapsed, 0))*rate/uint64(time.Second)),
			PacketCount: uint32(n),
			OctetCount:  uint32(l.tx.octets.Load()),
			Reports:     blocks,
		}
		l.rtt.sentSRAt(first.(*rtcp.SenderReport).NTPTime) // rtt.go: the LSR the browser will name
	}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: b.ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: l.track.stream}},
	}}}
	pkt, err := rtcp.Marshal([]rtcp.Packet{first, sdes})
	if err != nil {
		return nil
	}
	return pkt
}

// block is the reception report about the browser's stream (RFC 3550
// §6.4.1): loss and jitter from the relay side the leg is attached to
// (which counts the browser's packets as they enter it), the highest
// sequence number from the fast path, LSR/DLSR from the browser's last
// sender report (rtt.go; 0 before one, as §6.4.1 allows).
func (r *reporter) block() rtcp.ReceptionReport {
	l := r.l
	rb := rtcp.ReceptionReport{SSRC: l.rx.ssrc.Load(), LastSequenceNumber: l.rx.maxSeq.Load()}
	rb.LastSenderReport, rb.Delay = l.rtt.lastSR(rb.SSRC, time.Now()) // rtt.go: the browser's last SR
	side := l.side.Load()
	if side == nil {
		return rb
	}
	st := side.Stats()
	received := st.Packets
	expected := st.Expected
	lost := int64(expected) - int64(received)
	rb.TotalLost = uint32(min(max(lost, 0), 0x7fffff))
	if ei := expected - r.prevExpected; expected >= r.prevExpected && ei > 0 {
		ri := received - r.prevReceived
		if li := int64(ei) - int64(ri); li > 0 {
			rb.FractionLost = uint8(min(li*256/int64(ei), 255))
		}
	}
	r.prevExpected, r.prevReceived = expected, received
	rb.Jitter = uint32(uint64(st.Jitter) * uint64(l.clockRate()) / uint64(time.Second))
	return rb
}

// clockRate is the RTP clock rate of the audio codec in use (8000 for
// G.711, 48000 for Opus).
func (l *Leg) clockRate() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.browserUse {
		if !c.IsEvent() && c.ClockRate > 0 {
			return uint32(c.ClockRate)
		}
	}
	return 8000
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4: seconds since
// 1900 in the high 32 bits, the fraction in the low 32).
func ntpTime(t time.Time) uint64 {
	const epochOffset = 2208988800 // 1900 → 1970
	s := uint64(t.Unix()) + epochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return s<<32 | frac
}
