package app

import (
	"context"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/capture"
	"github.com/switchboard-gw/switchboard/gateway/capture/pcap"
	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/hep"
	"github.com/switchboard-gw/switchboard/gateway/ladder"
)

// observe is the gateway's observability of calls (issue 15): the capture
// of every SIP message for the per-call ladder and the HEP mirror, and the
// per-call histograms (setup times, RTP loss and jitter at hangup).
type observe struct {
	tap    *capture.Tap  // nil when neither ladder nor HEP is on
	ladder *ladder.Store // nil when ladder.enabled is false
	hep    *hep.Client   // nil when hep.enabled is false

	setup  *prometheus.HistogramVec
	loss   *prometheus.HistogramVec
	jitter *prometheus.HistogramVec
	ended  *prometheus.CounterVec
}

// newObserve makes the ladder, the HEP client and the capture point that
// feeds them, from cfg. Called before the SIP server is made.
func (a *App) newObserve(cfg *config.Config) {
	o := &observe{
		setup: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "switchboard", Name: "call_setup_seconds",
			Help:    "Time from the caller's INVITE to the first 18x sent to it (stage=ringing) and to the 2xx (stage=answer).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 3, 5, 8, 13, 20, 30, 60}}, []string{"stage"}),
		loss: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "switchboard", Name: "rtp_loss_ratio",
			Help:    "Per answered call at hangup, each side: RTP packets lost over packets expected (RFC 3550 §6.4.1), as the relay received them (side=caller: from the caller).",
			Buckets: []float64{0, .001, .005, .01, .02, .05, .1, .2, .5, 1}}, []string{"side"}),
		jitter: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "switchboard", Name: "rtp_jitter_seconds",
			Help:    "Per answered call at hangup, each side: the RTP interarrival jitter (RFC 3550 §6.4.1) the relay measured.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .03, .05, .1, .2, .5}}, []string{"side"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "switchboard", Name: "calls_ended_total",
			Help: "Calls ended, by the class of their setup's final status (2xx answered; 4xx, 5xx, 6xx failed; 3xx redirected)."},
			[]string{"status_class"}),
	}
	// Every series exists from the start, so dashboards and alerts see
	// zeros rather than nothing.
	for _, stage := range []string{"ringing", "answer"} {
		o.setup.WithLabelValues(stage)
	}
	for _, side := range []string{"caller", "callee"} {
		o.loss.WithLabelValues(side)
		o.jitter.WithLabelValues(side)
	}
	for _, class := range []string{"2xx", "3xx", "4xx", "5xx", "6xx"} {
		o.ended.WithLabelValues(class)
	}
	a.obs = o
	var sinks capture.Sinks
	if l := cfg.Ladder; l.Enabled {
		o.ladder = ladder.New(ladder.Options{Calls: l.Calls, Bytes: int64(l.MaxBytes), PerCall: l.MessagesPerCall})
		sinks = append(sinks, o.ladder)
	}
	if h := cfg.HEP; h.Enabled {
		collector, _ := h.HEPCollector() // validated
		o.hep = hep.New(hep.Options{Collector: collector, ID: uint32(h.ID), Password: h.Password, Queue: h.Queue,
			Logger: a.log.With("component", "hep")})
		sinks = append(sinks, o.hep)
	}
	if len(sinks) > 0 {
		o.tap = capture.NewTap(sinks, captureIP(cfg))
	}
}

// captureIP names the gateway in captures when a listener bound every
// address: sip.public_address if it is an IP, else the media address.
func captureIP(cfg *config.Config) netip.Addr {
	if ip, err := netip.ParseAddr(cfg.SIP.PublicAddress); err == nil {
		return ip
	}
	ip, _ := mediaAddress(cfg)
	return ip
}

// startObserve runs the HEP sender until ctx ends.
func (a *App) startObserve(ctx context.Context, wg *sync.WaitGroup) {
	if a.obs == nil || a.obs.hep == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.obs.hep.Run(ctx); err != nil {
			a.log.Error("hep mirror not running", "error", err)
		}
	}()
}

// callObserve is what the B2BUA tells the ladder and the histograms.
func (a *App) callObserve() b2bua.Observe {
	o := a.obs
	var ob b2bua.Observe
	if o == nil {
		return ob
	}
	if o.ladder != nil {
		ob.Leg = o.ladder.Link
	}
	ob.Setup = func(answered bool, d time.Duration) {
		stage := "ringing"
		if answered {
			stage = "answer"
		}
		o.setup.WithLabelValues(stage).Observe(d.Seconds())
	}
	return ob
}

// observeCDR passes every call record on to next, observing the RTP loss
// and jitter of answered calls on the way.
func (a *App) observeCDR(next cdr.Recorder) cdr.Recorder {
	if a.obs == nil {
		return next
	}
	return cdrObserver{next: next, o: a.obs}
}

type cdrObserver struct {
	next cdr.Recorder
	o    *observe
}

func (c cdrObserver) Record(r cdr.Record) {
	if r.Status >= 200 && r.Status < 700 {
		c.o.ended.WithLabelValues(string(rune('0'+r.Status/100)) + "xx").Inc()
	}
	if !r.Answer.IsZero() {
		for side, m := range map[string]cdr.Media{"caller": r.MediaA, "callee": r.MediaB} {
			if m.Packets == 0 {
				continue
			}
			c.o.loss.WithLabelValues(side).Observe(float64(m.Lost) / float64(m.Packets+m.Lost))
			c.o.jitter.WithLabelValues(side).Observe(m.Jitter / 1000)
		}
	}
	c.next.Record(r)
}

// observeMetrics registers the histograms and the ladder's and HEP's
// counters.
func (s *adminServer) observeMetrics(reg *prometheus.Registry) {
	o := s.app.obs
	if o == nil {
		return
	}
	reg.MustRegister(o.setup, o.loss, o.jitter, o.ended)
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	if l := o.ladder; l != nil {
		gauge("ladder_calls", "Calls whose SIP ladder is kept.", func() float64 { return float64(l.Stats().Calls) })
		gauge("ladder_bytes", "Bytes of SIP messages kept for the ladders.", func() float64 { return float64(l.Stats().Bytes) })
		counter("ladder_evicted_total", "Ladders dropped to make room (ladder.calls, ladder.max_bytes).",
			func() float64 { return float64(l.Stats().Evicted) })
		counter("ladder_junk_evicted_total", "Call-IDs no call claimed, dropped from their bucket.",
			func() float64 { return float64(l.Stats().JunkEvicted) })
		counter("ladder_omitted_total", "Messages dropped from the middle of long calls (ladder.messages_per_call).",
			func() float64 { return float64(l.Stats().Omitted) })
	}
	if h := o.hep; h != nil {
		counter("hep_sent_total", "HEP packets sent to the collector.", func() float64 { return float64(h.Stats().Sent) })
		counter("hep_dropped_total", "SIP messages not mirrored: the HEP queue was full or the packet too large.",
			func() float64 { return float64(h.Stats().Dropped) })
		counter("hep_errors_total", "HEP packets the socket failed to send.", func() float64 { return float64(h.Stats().Errors) })
	}
}

// ladderRoutes serves the ladders: the list, one call's messages as
// JSON, and as PCAP.
func (s *adminServer) ladderRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/ladders", accounts.RoleAdmin, s.ladders)
	s.route(mux, "GET /api/v1/ladders/{call}", accounts.RoleAdmin, s.ladderOf)
}

func (s *adminServer) ladderStore(w http.ResponseWriter) *ladder.Store {
	if s.app.obs == nil || s.app.obs.ladder == nil {
		problem(w, http.StatusNotFound, "ladders are off", "ladder.enabled is false in the configuration")
		return nil
	}
	return s.app.obs.ladder
}

func (s *adminServer) ladders(w http.ResponseWriter, _ *http.Request) {
	if l := s.ladderStore(w); l != nil {
		writeJSON(w, l.List())
	}
}

// pcapType is the media type of a pcap file (IANA, RFC 9713 names
// application/vnd.tcpdump.pcap).
const pcapType = "application/vnd.tcpdump.pcap"

// ladderOf answers /api/v1/ladders/{call}: {call} is a leg's Call-ID,
// also as the API's call id (gateway:<Call-ID>) or a call record's id
// (<Call-ID>;<tag>). With .pcap appended, or Accept: pcapType, the
// answer is a pcap file.
func (s *adminServer) ladderOf(w http.ResponseWriter, r *http.Request) {
	st := s.ladderStore(w)
	if st == nil {
		return
	}
	id := r.PathValue("call")
	asPCAP := strings.Contains(r.Header.Get("Accept"), pcapType)
	l, ok := lookupLadder(st, id)
	if !ok {
		if trimmed, isPCAP := strings.CutSuffix(id, ".pcap"); isPCAP {
			l, ok = lookupLadder(st, trimmed)
			asPCAP = true
		}
	}
	if !ok {
		problem(w, http.StatusNotFound, "no such call", "no ladder kept for "+id+" (only the last ladder.calls calls are kept)")
		return
	}
	if !asPCAP {
		writeJSON(w, l.View())
		return
	}
	w.Header().Set("Content-Type", pcapType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+fileSafe.ReplaceAllString(l.ID, "_")+`.pcap"`)
	if err := pcap.WriteAll(w, l.Messages); err != nil {
		s.app.log.Debug("writing a pcap", "call", l.ID, "error", err)
	}
}

var fileSafe = regexp.MustCompile(`[^A-Za-z0-9._@-]`)

func lookupLadder(st *ladder.Store, id string) (ladder.Ladder, bool) {
	if l, ok := st.Get(id); ok {
		return l, true
	}
	if rest, ok := strings.CutPrefix(id, "gateway:"); ok { // the API's <source>:<id>
		id = rest
		if l, ok := st.Get(id); ok {
			return l, true
		}
	}
	if callID, _, ok := strings.Cut(id, ";"); ok { // a call record's id (a Call-ID has no ';')
		return st.Get(callID)
	}
	return ladder.Ladder{}, false
}
