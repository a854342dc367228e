// Package cisco is a Cisco BroadWorks Xsi simulator for tests and the lab:
// Xsi-Actions (REST with XML bodies) and Xsi-Events (a streamed event
// channel, subscriptions, heartbeats, event responses) over HTTPS with a
// self-signed certificate and HTTP Basic authentication
// (cti-protocols.md §4.1–4.2). It holds users and their call halves,
// answers the actions the cisco driver uses, streams events in the order
// BroadWorks documents them, requires every event to be acknowledged
// (re-sending it, then closing the channel), honours channel and
// subscription expiry, and has hooks to drop or stall channels, delay
// actions and write raw bytes (malformed XML, XML bombs, oversize
// documents) on the channel.
//
// It writes and reads Xsi with its own encoding (lab/cisco/xsiwire,
// transcribed from the public Xsi XSDs; no code shared with
// drivers/cisco); where BroadWorks behaviour is not public it does what
// drivers/cisco/README.md ("Lab simulator") documents.
package cisco

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/lab/cisco/xsiwire"
	"github.com/switchboard-gw/switchboard/lab/ctisim"
)

// Config configures a [Sim].
type Config struct {
	// Addr is where to listen (default "127.0.0.1:0").
	Addr string
	// User and Password are the Basic credentials every request must carry
	// (an administrator allowed to act for every user). Empty User accepts
	// any.
	User, Password string
	// Token, when set, is also accepted as "Authorization: Bearer Token"
	// (Webex Calling's Xsi).
	Token string
	// Domain makes user IDs: extension@Domain (default "lab.example").
	Domain string
	// Users lists the extensions that exist (default 201–204).
	Users []string
	// Names gives users a name (extension → name), sent as
	// remoteParty/name to the other party and in redirections.
	Names map[string]string
	// AckTimeout is how long an event may stay unacknowledged before it
	// is sent again (default 5s).
	AckTimeout time.Duration
	// MaxResends is how often an event is sent again before the channel
	// is closed with a ChannelTerminatedEvent (default 2).
	MaxResends int
	// MinExpires raises smaller channel and subscription expires, in
	// seconds (default 3600, as BroadWorks; tests lower it).
	MinExpires int
	// PlainHTTP serves plain HTTP instead of HTTPS.
	PlainHTTP bool
	// ServiceProvider and Group are where every user is (default "sp1"
	// and "group1"); WideSubscriptions lets the account subscribe to all
	// users of the group (…/serviceprovider/{sp}/group/{group}) or of the
	// service provider (…/serviceprovider/{sp}) at once; without it those
	// are refused 403, as for an account not allowed to.
	ServiceProvider, Group string
	WideSubscriptions      bool
	// Lines is how many calls a user can be in at once (1: call waiting
	// off): a call to a user with that many is released Busy. 0 means no
	// limit.
	Lines int
	// NetworkNames are the calling names the network gives external
	// callers (number → name), sent as remoteParty/name with an incoming
	// call from that number.
	NetworkNames map[string]string
	// ExternalPrefix, e.g. "0", marks an address as one of the public
	// network: the call goes out (remoteParty callType Network) and the
	// far end answers. "" means no address is external.
	ExternalPrefix string
}

// Sim is a running simulator. Close it when done.
type Sim struct {
	cfg   Config
	ln    net.Listener
	srv   *http.Server
	caPEM []byte
	wg    sync.WaitGroup // the server and the channel writers

	delay      atomic.Int64   // nanoseconds before each action's answer
	refreshDly atomic.Int64   // nanoseconds before each channel/subscription update's answer
	ignoreAcks atomic.Int64   // event responses still to ignore
	refuseAcks atomic.Int64   // event responses still to refuse (500)
	away       atomic.Bool    // Outage: every request answered 503
	skipSeq    map[string]int // under mu: user ID → events still to lose (sequence numbers skipped)
	refused    ctisim.Refusals

	mu       sync.Mutex
	closed   bool
	users    map[string]*user    // extension → user
	byID     map[string]*user    // user ID → user
	channels map[string]*channel // channel ID → channel
	subs     map[string]*subscription
	sets     map[string]bool  // channel sets seen
	halves   map[string]*half // call ID → call half
	parked   map[string]*half // park slot extension → the parked party's half
	nextID   int
	stats    Stats
}

// Stats counts what the simulator saw.
type Stats struct {
	ChannelsOpened, Heartbeats, Acks, Resends, ChannelUpdates, SubscriptionRefreshes, EventsLost int
	Subscriptions                                                                                int
	// SubscriptionsAdded counts every subscription ever added (POST),
	// ChannelSets the distinct channel sets channels were opened in.
	SubscriptionsAdded, ChannelSets int
	WideSubscriptions               int // group or service provider subscriptions added

	AcksRefused   int // event responses answered 500 (RefuseAcks)
	SlowRefreshes int // channel/subscription updates answered late (SetRefreshDelay)
	EventsSkipped int // lost on purpose by SkipEvents
	// CallQueries counts GET …/calls and GET …/calls/{callId};
	// ServiceQueries GET …/services/{service} (what a driver's snapshots
	// and resyncs cost the server).
	CallQueries, ServiceQueries int
}

// New starts a simulator.
func New(cfg Config) (*Sim, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Domain == "" {
		cfg.Domain = "lab.example"
	}
	if cfg.ServiceProvider == "" {
		cfg.ServiceProvider = "sp1"
	}
	if cfg.Group == "" {
		cfg.Group = "group1"
	}
	if cfg.Users == nil {
		cfg.Users = []string{"201", "202", "203", "204"}
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 5 * time.Second
	}
	if cfg.MaxResends <= 0 {
		cfg.MaxResends = 2
	}
	if cfg.MinExpires <= 0 {
		cfg.MinExpires = 3600
	}
	s := &Sim{cfg: cfg, users: map[string]*user{}, byID: map[string]*user{}, channels: map[string]*channel{},
		subs: map[string]*subscription{}, sets: map[string]bool{}, halves: map[string]*half{}, parked: map[string]*half{}}
	for _, ext := range cfg.Users {
		u := &user{ext: ext, id: ext + "@" + cfg.Domain, name: cfg.Names[ext], fwd: map[string]xsiwire.Forwarding{}}
		s.users[ext], s.byID[u.id] = u, u
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("cisco sim: %w", err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}} // HTTP/1.1 only, as Xsi
	if !cfg.PlainHTTP {
		cert, caPEM, err := ctisim.SelfSigned("BroadWorks Xsi lab simulator",
			[]net.IP{ln.Addr().(*net.TCPAddr).IP, net.IPv4(127, 0, 0, 1)}, "localhost")
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		s.caPEM = caPEM
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	s.ln = ln
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the simulator's base URL (https://127.0.0.1:port).
func (s *Sim) URL() string {
	if s.cfg.PlainHTTP {
		return "http://" + s.ln.Addr().String()
	}
	return "https://" + s.ln.Addr().String()
}

// CACertPEM is the PEM of the self-signed certificate the simulator
// serves, for the driver's tls_ca_file.
func (s *Sim) CACertPEM() []byte { return s.caPEM }

// UserID is the Xsi user ID of extension ext.
func (s *Sim) UserID(ext string) string { return ext + "@" + s.cfg.Domain }

// Close ends every channel, stops the server and waits for its
// goroutines.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.DropChannels()
	err := s.srv.Close()
	s.wg.Wait()
	return err
}

// DropChannels ends every event channel at once, without a
// ChannelTerminatedEvent, as a network failure or an XSP restart would.
// Their subscriptions stay (they live on the application server until
// they expire): a new channel in the same channel set gets their events.
func (s *Sim) DropChannels() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.channels {
		s.removeChannel(ch, false)
	}
}

// TerminateChannels ends every channel with a ChannelTerminatedEvent.
func (s *Sim) TerminateChannels(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.channels {
		s.terminate(ch, reason)
	}
}

// ForgetChannels makes the server forget every open channel while their
// streams stay open, as when a heartbeat reaches a server that does not
// hold the channel: heartbeats and updates then get 404.
func (s *Sim) ForgetChannels() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ch := range s.channels {
		delete(s.channels, id)
		ch.stalled = true
	}
}

// StallChannels makes every open channel stop writing (no events, no
// heartbeats) while its TCP connection stays open; new channels are not
// affected.
func (s *Sim) StallChannels() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.channels {
		ch.stalled = true
	}
}

// TrickleChannels makes every open channel a slow loris: it stops
// writing documents and instead starts one that never ends, one byte per
// AckTimeout/4.
func (s *Sim) TrickleChannels() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.channels {
		ch.stalled, ch.trickle = true, true
		ch.queue = append(ch.queue[:0:0], []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi"><xsi:reason>`))
	}
}

// SetDelay delays every Xsi-Actions answer by d (0 turns it off).
func (s *Sim) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SetRefreshDelay delays the answer to every channel and subscription
// update (PUT of a Channel or Subscription, the refreshes) by d, after
// the update took effect: a slow server (0 turns it off).
func (s *Sim) SetRefreshDelay(d time.Duration) { s.refreshDly.Store(int64(d)) }

// slowRefresh waits out the refresh delay, or until the request ends.
func (s *Sim) slowRefresh(r *http.Request) {
	d := time.Duration(s.refreshDly.Load())
	if d <= 0 {
		return
	}
	s.mu.Lock()
	s.stats.SlowRefreshes++
	s.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// IgnoreAcks makes the simulator ignore the next n event responses, so the
// events they acknowledge are sent again.
func (s *Sim) IgnoreAcks(n int) { s.ignoreAcks.Store(int64(n)) }

// SkipEvents makes the next n events of user ext's subscriptions get
// lost on the way: each takes its sequenceNumber, as on the server, but is
// never sent, so the next event the channel carries shows a gap
// (Xsi-Events: sequenceNumber counts a subscription's events). The call
// state changes as the lost event said.
func (s *Sim) SkipEvents(ext string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skipSeq == nil {
		s.skipSeq = map[string]int{}
	}
	s.skipSeq[s.UserID(ext)] += n
}

// RefuseAcks makes the simulator answer the next n event responses with
// a 500 and an ErrorInfo, as a failing server would: the events stay
// unacknowledged (and are sent again after AckTimeout).
func (s *Sim) RefuseAcks(n int) { s.refuseAcks.Store(int64(n)) }

// Raw byte sequences for [Sim.SendRaw].
var (
	// BadXML is an event document cut short, followed by nothing: the next
	// document's XML declaration shows where it ended.
	BadXML = []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi"><xsi:eventID>broken`)
	// NotXML is a well-delimited document that is not well-formed XML.
	NotXML = []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<xsi:Event xmlns:xsi="x"><a></b></xsi:Event>`)
	// XMLBomb is a "billion laughs" entity expansion document.
	XMLBomb = []byte(`<?xml version="1.0"?>` + "\n" + `<!DOCTYPE lolz [<!ENTITY lol "lol">` +
		`<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
		`<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>` +
		`<xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi"><xsi:eventID>&lol4;</xsi:eventID></xsi:Event>`)
)

// Oversize returns a document of n bytes.
func Oversize(n int) []byte {
	head := `<?xml version="1.0"?><xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi"><xsi:reason>`
	tail := `</xsi:reason></xsi:Event>`
	return []byte(head + strings.Repeat("x", max(n-len(head)-len(tail), 0)) + tail)
}

// SendRaw writes b as is on every open channel.
func (s *Sim) SendRaw(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.channels {
		ch.queue = append(ch.queue, slices.Clone(b))
		ch.kick()
	}
}

// Stats returns the simulator's counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Subscriptions = len(s.subs)
	return st
}

// Channels is the number of open event channels.
func (s *Sim) Channels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.channels)
}

// Subscribed returns the extensions with a live subscription, sorted.
func (s *Sim) Subscribed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{} // a set: 5,000 users under several group subscriptions (ctibench)
	var out []string
	for _, sub := range s.subs {
		for _, u := range s.covers(sub) {
			if !seen[u.ext] {
				seen[u.ext] = true
				out = append(out, u.ext)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TerminateSubscriptions ends every subscription on ext's user as
// BroadWorks does when one expires or an administrator deletes it: a
// SubscriptionEvent whose eventData is a SubscriptionTerminatedEvent
// (XSISubscription.xsd), after which the subscription is gone (a refresh
// gets 404). It returns how many ended.
func (s *Sim) TerminateSubscriptions(ext string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.subs))
	for id, sub := range s.subs {
		if sub.u != nil && sub.u.ext == ext {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		s.send(s.subs[id], s.subs[id].u, &xsiwire.EventData{Type: xsiwire.TypeSubscriptionTerminatedEvent})
		delete(s.subs, id)
	}
	return len(ids)
}

// ServeHTTP routes Xsi-Actions and Xsi-Events requests.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.User != "" || s.cfg.Token != "" {
		u, p, ok := r.BasicAuth()
		bearer := s.cfg.Token != "" && r.Header.Get("Authorization") == "Bearer "+s.cfg.Token
		if !bearer && (!ok || s.cfg.User == "" || u != s.cfg.User || p != s.cfg.Password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="BroadWorks"`)
			writeError(w, http.StatusUnauthorized, 110002, "Authentication failed")
			return
		}
	}
	if s.away.Load() {
		writeError(w, http.StatusServiceUnavailable, 0, "Service Unavailable") // Outage
		return
	}
	path := r.URL.Path
	switch {
	case path == xsiwire.AsyncEventsRoot+"/channel" && r.Method == http.MethodPost:
		s.openChannel(w, r)
	case strings.HasPrefix(path, xsiwire.EventsRoot+"/"):
		s.events(w, r, strings.TrimPrefix(path, xsiwire.EventsRoot+"/"))
	case strings.HasPrefix(path, xsiwire.ActionsRoot+"/user/"):
		if d := time.Duration(s.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		s.actions(w, r, strings.TrimPrefix(path, xsiwire.ActionsRoot+"/user/"))
	default:
		writeError(w, http.StatusNotFound, 110404, "no such resource")
	}
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

// readBody reads a request body with the simulator's own Xsi parser; a
// document the schema does not allow is recorded (Sim.Refused).
func (s *Sim) readBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return err
	}
	if err := xsiwire.Unmarshal(b, v); err != nil {
		s.refused.Add(fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
		return err
	}
	return nil
}

// Refused lists the request bodies the simulator's own Xsi parser
// (package xsiwire, written from the Xsi XSDs) refused, with why.
func (s *Sim) Refused() []string { return s.refused.List() }

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xsiwire.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, nil
	}
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status, code int, summary string) {
	writeXML(w, status, xsiwire.ErrorInfo{Summary: summary, SummaryEnglish: summary, ErrorCode: code})
}

// simError is an action failure with its HTTP status.
type simError struct {
	status int
	msg    string
}

func (e *simError) Error() string { return e.msg }

func notFound(f string, a ...any) error {
	return &simError{status: http.StatusNotFound, msg: fmt.Sprintf(f, a...)}
}

func badState(f string, a ...any) error {
	return &simError{status: http.StatusBadRequest, msg: fmt.Sprintf(f, a...)}
}

func writeErr(w http.ResponseWriter, err error) {
	var se *simError
	if errors.As(err, &se) {
		code := 110400
		if se.status == http.StatusNotFound {
			code = 110404
		}
		writeError(w, se.status, code, se.msg)
		return
	}
	writeError(w, http.StatusBadRequest, 110400, err.Error())
}

// id returns a new identifier with prefix. Called with s.mu held.
func (s *Sim) id(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s%06d", prefix, s.nextID)
}
