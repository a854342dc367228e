package webrtc

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// Round-trip time on the fast path (RFC 3550 §6.4.1). The leg sends the
// browser sender reports (rtcp.go) and keeps the middle 32 bits of each
// one's NTP timestamp. The browser's reports come back through the fast
// path's RTCP hook (srtpmux.Stream.OnRTCP), decrypted, with their arrival
// time A: a reception report block about our stream carries LSR (the
// middle bits of the last SR it got from us) and DLSR (how long it held
// it, in 1/65536 s), so the round trip is A − LSR − DLSR. Only blocks
// whose LSR is one of our recent SRs count (a stale or made-up LSR gives
// no figure). The other way, the browser's own sender reports give the
// LSR and DLSR of our block about its stream, so the browser computes its
// round trip too (remote-inbound-rtp roundTripTime).

// srKept is how many of our SRs a block's LSR may name (a report per ~5 s:
// the last 20 s).
const srKept = 4

// maxRTT bounds a sane round trip; a larger one is a clock or report
// error, not a measurement.
const maxRTT = 60 * time.Second

// rttState is the leg's round-trip measurement.
type rttState struct {
	mu      sync.Mutex
	sentSR  [srKept]uint32 // middle 32 bits of our last SRs' NTP times
	next    int
	peerSSR uint32    // the browser's last SR: its SSRC,
	peerLSR uint32    // the middle bits of its NTP time,
	peerAt  time.Time // when it arrived (zero: none yet)

	last    atomic.Int64  // the last round trip, ns (0: none yet)
	samples atomic.Uint64 // round trips measured
	reports atomic.Uint64 // RTCP compound packets from the browser
}

// ntpMiddle is the middle 32 bits of t's 64-bit NTP timestamp (RFC 3550
// §4: the compact form in units of 1/65536 s).
func ntpMiddle(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }

// sentSRAt notes an SR we send with NTP time ntp.
func (r *rttState) sentSRAt(ntp uint64) {
	r.mu.Lock()
	r.sentSR[r.next] = uint32(ntp >> 16)
	r.next = (r.next + 1) % srKept
	r.mu.Unlock()
}

// lastSR is the LSR and DLSR of our block about the browser's stream
// ssrc at now: the browser's last SR from ssrc and the time since it
// arrived (0, 0 before one, RFC 3550 §6.4.1).
func (r *rttState) lastSR(ssrc uint32, now time.Time) (lsr, dlsr uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peerAt.IsZero() || r.peerSSR != ssrc {
		return 0, 0
	}
	d := max(now.Sub(r.peerAt), 0)
	return r.peerLSR, uint32(uint64(d) * 65536 / uint64(time.Second))
}

// rttOf is the round trip of a block about our stream that arrived at
// at: A − LSR − DLSR in 1/65536 s (RFC 3550 §6.4.1, the figure there); ok
// is false when the block names no SR of ours or the result is not sane.
func (r *rttState) rttOf(rb rtcp.ReceptionReport, at time.Time) (time.Duration, bool) {
	if rb.LastSenderReport == 0 {
		return 0, false
	}
	r.mu.Lock()
	known := false
	for _, s := range r.sentSR {
		if s != 0 && s == rb.LastSenderReport {
			known = true
		}
	}
	r.mu.Unlock()
	if !known {
		return 0, false
	}
	// Both differences in uint32 wrap: compare the delay with the time
	// since our SR before subtracting (a DLSR past 2^31 units would
	// otherwise wrap back to a plausible round trip).
	since := ntpMiddle(at) - rb.LastSenderReport
	if int32(since) < 0 || rb.Delay > since {
		return 0, false // our SR is in the future, or the browser's delay exceeds the time since it: not sane
	}
	d := since - rb.Delay
	rtt := time.Duration(uint64(d) * uint64(time.Second) / 65536)
	if rtt > maxRTT {
		return 0, false
	}
	return rtt, true
}

// fromBrowserRTCP takes one compound RTCP packet of the browser,
// decrypted on the fast path, that arrived at at (on the Mux's reader).
func (l *Leg) fromBrowserRTCP(pkt []byte, at time.Time) {
	var ours uint32
	if b := l.track.cur.Load(); b != nil {
		ours = b.ssrc
	}
	n := l.rtt.samples.Load()
	l.rtt.take(pkt, ours, at)
	if l.e != nil && l.rtt.samples.Load() != n {
		l.e.rtts.observe(time.Duration(l.rtt.last.Load()))
	}
}

// take reads the browser's compound RTCP packet pkt that arrived at at:
// its sender report for our LSR/DLSR, its blocks about our stream ours
// for the round trip. It reports whether pkt parsed as RTCP.
func (r *rttState) take(pkt []byte, ours uint32, at time.Time) bool {
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		return false
	}
	r.reports.Add(1)
	for _, p := range pkts {
		var blocks []rtcp.ReceptionReport
		switch sr := p.(type) {
		case *rtcp.SenderReport:
			r.mu.Lock()
			r.peerSSR, r.peerLSR, r.peerAt = sr.SSRC, uint32(sr.NTPTime>>16), at
			r.mu.Unlock()
			blocks = sr.Reports
		case *rtcp.ReceiverReport:
			blocks = sr.Reports
		}
		for _, rb := range blocks {
			if rb.SSRC != ours || ours == 0 {
				continue
			}
			if rtt, ok := r.rttOf(rb, at); ok {
				r.last.Store(int64(rtt))
				r.samples.Add(1)
			}
		}
	}
	return true
}

// RTTBuckets are the upper bounds, in seconds, of the round-trip
// histogram (Engine.RTTHistogram): loopback to a bad mobile network.
var RTTBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2}

// rttHist counts the round trips measured on every leg of an engine.
type rttHist struct {
	le    [len(RTTBuckets)]atomic.Uint64 // measurements ≤ RTTBuckets[i], not cumulative
	n     atomic.Uint64
	sumNs atomic.Int64
}

func (h *rttHist) observe(d time.Duration) {
	s := d.Seconds()
	for i, ub := range RTTBuckets {
		if s <= ub {
			h.le[i].Add(1)
			break
		}
	}
	h.sumNs.Add(int64(d))
	h.n.Add(1)
}

// RTTHistogram is every round trip measured from the browsers' reports
// on this engine's legs since it started (RFC 3550 §6.4.1): their count,
// their sum in seconds, and the cumulative count at or below each of
// RTTBuckets, keyed by the bound (as Prometheus' const histograms take
// them). Read while legs report, the figures may be one sample apart.
func (e *Engine) RTTHistogram() (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(RTTBuckets))
	var cum uint64
	for i, ub := range RTTBuckets {
		cum += e.rtts.le[i].Load()
		buckets[ub] = cum
	}
	return e.rtts.n.Load(), time.Duration(e.rtts.sumNs.Load()).Seconds(), buckets
}
