//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// What the relay does to the packets it passes, seen at the receiving
// phone: each packet carries its send time (wall clock, ns) in the first 8
// bytes of its payload, and the kernel stamps its arrival at the
// generator's socket (SO_TIMESTAMPNS), so neither the relay's nor the
// generator's scheduling after arrival is counted twice: the transit is
// arrival − send. Per packet, |D| is RFC 3550 §6.4.1's transit difference
// of consecutive packets of a stream; per stream, J is its interarrival
// jitter (§A.8, in ns), and loss comes from the sequence numbers (§A.3:
// expected = highest − first + 1, lost = expected − received).

// stampOffset is where the send time sits in an RTP packet: the payload's
// first 8 bytes, after the fixed 12-byte header.
const stampOffset = 12

// The latency histograms have 1 µs bins up to fineMax µs, then 100 µs bins
// up to 10 s; a transit beyond is counted in the last bin.
const (
	fineMax = 10_000
	histMax = fineMax + (10_000_000-fineMax)/100 - 1 // the last bin ends at 10 s
)

// latency is one receive loop's statistics; streams are indexed by SSRC
// (the generator's SSRCs are 1 to 2N).
type latency struct {
	transit []uint32 // histogram of arrival − send, µs
	diff    []uint32 // histogram of |D|, µs
	streams []streamRx
}

// streamRx is what a receiver knows of one stream.
type streamRx struct {
	received    uint64
	sent        uint64 // by the sending phone (filled in by the generator at the end)
	first, high uint32 // extended sequence numbers
	seen        bool
	lastTransit int64   // ns
	jitter      float64 // RFC 3550 J, ns
}

func newLatency(streams int) *latency {
	return &latency{transit: make([]uint32, histMax+1), diff: make([]uint32, histMax+1),
		streams: make([]streamRx, streams+1)}
}

// add records one RTP packet b that arrived at arrival (ns, wall clock).
func (l *latency) add(b []byte, arrival int64) {
	if len(b) < stampOffset+8 {
		return
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	if int(ssrc) >= len(l.streams) {
		return
	}
	s := &l.streams[ssrc]
	sent := int64(binary.BigEndian.Uint64(b[stampOffset:]))
	transit := arrival - sent
	timed := arrival != 0 && sent != 0
	if timed {
		l.transit[bin(transit)]++
	}
	seq := uint32(binary.BigEndian.Uint16(b[2:4]))
	if !s.seen {
		s.seen, s.first, s.high = true, seq, seq
	} else {
		// extend across wraps: the closest extended value to the highest
		ext := s.high&^0xffff | seq
		switch {
		case ext+0x8000 < s.high:
			ext += 0x10000
		case ext > s.high+0x8000 && ext >= 0x10000:
			ext -= 0x10000
		}
		s.high = max(s.high, ext)
		if d := transit - s.lastTransit; timed && s.lastTransit != 0 {
			d = max(d, -d)
			l.diff[bin(d)]++
			s.jitter += (float64(d) - s.jitter) / 16
		}
	}
	if !timed {
		transit = 0
	}
	s.lastTransit = transit
	s.received++
}

func bin(ns int64) int {
	us := ns / 1000
	switch {
	case us < 0:
		return 0
	case us < fineMax:
		return int(us)
	}
	return int(min(fineMax+(us-fineMax)/100, histMax))
}

// binTop is the upper edge of bin i.
func binTop(i int) time.Duration {
	if i < fineMax {
		return time.Duration(i+1) * time.Microsecond
	}
	return time.Duration(fineMax+(i-fineMax+1)*100) * time.Microsecond
}

// merge adds o into l (streams are disjoint between loops: a stream always
// arrives on the same socket).
func (l *latency) merge(o *latency) {
	for i := range l.transit {
		l.transit[i] += o.transit[i]
		l.diff[i] += o.diff[i]
	}
	for i, s := range o.streams {
		if s.seen {
			sent := l.streams[i].sent
			l.streams[i] = s
			l.streams[i].sent = sent
		}
	}
}

// latencyReport is the summary printed.
type latencyReport struct {
	transit50, transit99, transitMax time.Duration
	diff50, diff99                   time.Duration
	jitter50, jitterMax              time.Duration // RFC 3550 J over the streams
	streams, lossy                   int           // streams sent, streams with any loss
	worstLoss                        float64       // of the worst stream
	worstSSRC                        uint32
	worstLost, worstExpected         uint64
	silent                           int // streams sent but never received
	gapped                           int // streams with a gap in their sequence numbers
}

func (l *latency) report() latencyReport {
	var r latencyReport
	r.transit50, r.transit99, r.transitMax = percentile(l.transit, 0.5), percentile(l.transit, 0.99), percentile(l.transit, 1)
	r.diff50, r.diff99 = percentile(l.diff, 0.5), percentile(l.diff, 0.99)
	var js []float64
	for ssrc, s := range l.streams {
		if s.sent == 0 {
			continue
		}
		r.streams++
		if !s.seen {
			r.silent++
		} else {
			js = append(js, s.jitter)
			if s.high-s.first+1 > uint32(s.received) {
				r.gapped++
			}
		}
		// lost: what the phone sent and its peer never got (the tail of
		// a relay that fell behind included)
		lost := s.sent - min(s.sent, s.received)
		if lost > 0 {
			r.lossy++
		}
		if f := float64(lost) / float64(s.sent); f > r.worstLoss || r.worstSSRC == 0 {
			r.worstLoss, r.worstSSRC, r.worstLost, r.worstExpected = f, uint32(ssrc), lost, s.sent
		}
	}
	if len(js) > 0 {
		sort.Float64s(js)
		r.jitter50 = time.Duration(js[len(js)/2])
		r.jitterMax = time.Duration(js[len(js)-1])
	}
	return r
}

// percentile is the value below which the share q of a histogram lies (the
// bin's upper edge), q = 1 for the maximum.
func percentile(h []uint32, q float64) time.Duration {
	var n uint64
	for _, c := range h {
		n += uint64(c)
	}
	if n == 0 {
		return 0
	}
	want := uint64(q*float64(n) + 0.5)
	want = max(1, min(want, n))
	var acc uint64
	for i, c := range h {
		acc += uint64(c)
		if acc >= want {
			return binTop(i)
		}
	}
	return binTop(len(h) - 1)
}

func (r latencyReport) print(label string) {
	fmt.Printf("%-22s p50 %v, p99 %v, max %v (send to arrival, kernel receive stamp)\n", label+" transit:", r.transit50, r.transit99, r.transitMax)
	fmt.Printf("%-22s |D| p50 %v, p99 %v; RFC 3550 J median stream %v, worst stream %v\n", label+" jitter:",
		r.diff50, r.diff99, r.jitter50.Round(time.Microsecond), r.jitterMax.Round(time.Microsecond))
	fmt.Printf("%-22s %d streams, %d with any loss (%d with a sequence gap), %d silent; worst SSRC %d lost %d of %d sent (%.4f%%)\n", label+" per-stream loss:",
		r.streams, r.lossy, r.gapped, r.silent, r.worstSSRC, r.worstLost, r.worstExpected, 100*r.worstLoss)
}

// arrivalStamp reads the SCM_TIMESTAMPNS control message of a received
// datagram (the only one enabled on the generator's sockets), in ns; 0 if
// absent.
func arrivalStamp(ctrl []byte) int64 {
	const hdr = int(unsafe.Sizeof(unix.Cmsghdr{}))
	if len(ctrl) < hdr+16 {
		return 0
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	if h.Level != unix.SOL_SOCKET || h.Type != unix.SCM_TIMESTAMPNS {
		return 0
	}
	ts := (*unix.Timespec)(unsafe.Pointer(&ctrl[hdr]))
	return ts.Sec*1e9 + ts.Nsec
}
