package relay

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Counters are the Relay's totals over every session, for metrics.
type Counters struct {
	// Sessions is the number of open sessions.
	Sessions int

	// Ignored counts the packets the latching rules refused (the sum of
	// every side's Stats.Ignored, sessions ended included).
	Ignored uint64

	// Strangers counts the part of Ignored that came from strangers: an IP
	// that is neither the side's SDP IP nor its signalling IP (see
	// Latching). Someone is spraying the relay's ports, or a far end's
	// media comes from an address its SIP does not say.
	Strangers uint64
}

// strangerLogEvery is the rate limit of the stranger log: one line at most
// per interval for the whole Relay, with the count since the last one.
const strangerLogEvery = 10 * time.Second

// relayCounters are the Relay's atomic totals.
type relayCounters struct {
	ignored, strangers atomic.Uint64
	unlogged           atomic.Uint64 // strangers since the last log line
	nextLog            atomic.Int64  // monotonic ns before which nothing is logged
}

// Counters returns the Relay's totals.
func (r *Relay) Counters() Counters {
	return Counters{
		Sessions:  r.Len(),
		Ignored:   r.counters.ignored.Load(),
		Strangers: r.counters.strangers.Load(),
	}
}

// refused counts a packet the latching rules refused on side s and logs
// strangers, at most once per strangerLogEvery. Called on the packet path
// without locks; only the log line allocates.
func (r *Relay) refused(v verdict, s *Side, src netip.AddrPort, rtcp bool, now int64) {
	c := &r.counters
	c.ignored.Add(1)
	if v != stranger {
		return
	}
	total := c.strangers.Add(1)
	c.unlogged.Add(1)
	next := c.nextLog.Load()
	if now < next || !c.nextLog.CompareAndSwap(next, now+int64(strangerLogEvery)) {
		return
	}
	port, kind := s.port, "RTP"
	if rtcp {
		port, kind = s.port+1, "RTCP"
	}
	r.cfg.Logger.Warn("relay: media from a stranger ignored",
		"source", src.String(), "port", port, "kind", kind, "side", s.name,
		"since_last_log", c.unlogged.Swap(0), "total", total)
}
