// Package avaya is an Avaya Aura AE Services DMCC XML simulator for tests
// and the lab: ECMA-323 edition 3 XML plus Avaya's private messages
// (http://www.avaya.com/csta), over TCP (or TLS) with the 8-byte CSTA
// header (cti-protocols.md §2, §3.1). It holds stations and calls, answers
// the ECMA-354 session with SessionLoginInfo, GetDeviceId /
// GetThirdPartyDeviceId / ReleaseDeviceId, TransferMonitorObjects and the
// ECMA-269 services the Avaya driver uses, emits events in the order AES
// does (§2.6), sends SystemStatus, ends sessions that are not kept alive,
// keeps a dropped session for its sessionCleanupDelay so it can be resumed
// by sessionID, and has hooks to drop the link, delay responses and send
// malformed, hostile or slow frames.
//
// It follows the published message formats with its own encoding
// (lab/ctisim/cstaxml, dmccxml.go; no code shared with drivers/avaya);
// drivers/avaya/testdata holds public forms both must accept.
package avaya

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// Config configures a [Sim]. The zero value accepts no login (User must be
// set), knows station 201-204 only if Devices says so, and sends no
// SystemStatus.
type Config struct {
	// Addr is where to listen (default "127.0.0.1:0").
	Addr string
	// User and Password are the CTI user expected in SessionLoginInfo.
	// Empty User accepts any login.
	User, Password string
	// SwitchName is the switch connection name (default "CM1");
	// GetDeviceId for another switch is refused.
	SwitchName string
	// SwitchIP is the IP part of device IDs (default empty:
	// "201:CM1::0").
	SwitchIP string
	// Devices lists the station extensions that exist; empty means any
	// extension of digits exists.
	Devices []string
	// Versions are the protocol versions accepted, the first offered one
	// found wins (default: every version of dmcc.Releases).
	Versions []string
	// MonitorLimit is the number of TSAPI Basic licences: monitors beyond
	// it get overallMonitorLimitExceeded. 0 means no limit.
	MonitorLimit int
	// MaxSessionDuration caps the session duration granted, in seconds
	// (default 300). A session whose timer is not reset in time ends: its
	// monitors are dropped and its link closed.
	MaxSessionDuration int
	// MaxCleanupDelay caps sessionCleanupDelay, in seconds (default 60).
	MaxCleanupDelay int
	// NoResume refuses to resume sessions by sessionID (older AES), so the
	// application has to use TransferMonitorObjects.
	NoResume bool
	// SystemStatusInterval is how often AES sends SystemStatus to each
	// link with a session; 0 never.
	SystemStatusInterval time.Duration
	// TLS, when set, makes the simulator a TLS server (port 4722 on AES).
	TLS *tls.Config
	// StrictNamespace refuses CSTA requests that are not in the
	// namespace of the negotiated protocol version (…/ed3/privN), as
	// f-me/dmcc writes them; by default plain ed3 (Avaya's samples) is
	// accepted too.
	StrictNamespace bool
	// Lines is how many calls a station can be in at once: a call to a
	// station with that many fails with cause busy. 0 means no limit.
	Lines int
	// ExternalPrefix, e.g. "0", marks a dialed number as one of the
	// public network: the call leaves over a trunk (NetworkReached) and
	// the far end answers. "" means no number is external.
	ExternalPrefix string
	// Groups are hunt groups: group extension → member stations. A call
	// to a group rings its first free member (cause distributed ~), or
	// waits in the group's queue (QueuedEvent, cause
	// enteringDistribution ~) until one is free. Groups can be monitored.
	Groups map[string][]string
}

// Malformed is a kind of broken or hostile frame [Sim.SendMalformed]
// sends.
type Malformed int

const (
	// BadHeader is a frame whose format indicator is not 0x0000: the
	// stream can't be resynchronised, so the application must drop the
	// link.
	BadHeader Malformed = iota
	// BadXML is a well-framed event whose XML is not well formed: the
	// application should drop the frame and go on.
	BadXML
	// XMLBomb is a well-framed event carrying an entity expansion bomb
	// ("billion laughs"): it must be refused before anything expands.
	XMLBomb
	// TooDeep is a well-framed document nested 8,000 levels deep.
	TooDeep
	// Oversize is a frame of the largest size the header allows (65,535
	// bytes) holding one huge text node; with the application's frame
	// limit below that it must be skipped, the stream staying in step.
	Oversize
	// SlowLoris is a header promising 1,000 bytes followed by one byte a
	// second: the link hangs inside a frame, so the application's
	// requests (its session timer reset) time out.
	SlowLoris
	// BadInvokeID is a frame whose invoke ID is not four digits.
	BadInvokeID
)

// Sim is a running simulator. Close it when done.
type Sim struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	delay     atomic.Int64 // nanoseconds before each response
	sysStatus atomic.Int64 // SystemStatusResponses received
	resets    atomic.Int64 // ResetApplicationSessionTimer answered
	refused   ctisim.Refusals

	stop chan struct{} // closed by Close

	mu       sync.Mutex
	closed   bool
	out      bool        // Outage: links are closed as they come
	hunt     ctisim.Hunt // the hunt groups' queues (Config.Groups)
	links    map[*link]struct{}
	sessions map[string]*session
	monitors map[string]*monitor // monitorCrossRefID → monitor
	byDev    ctisim.DeviceIndex[*monitor]
	calls    map[string]*ctisim.Call
	wire     ctisim.Wire // how its calls are written: the shared call operations
	devices  map[string]*device
	nextID   int
	started  int // sessions started
	resumed  int // sessions resumed
	expired  int // sessions ended by their timer
	stopped  int // sessions ended by StopApplicationSession
	lose     int // events still to lose (LoseEvents, gap.go)
	lost     int
}

// session is an ECMA-354 application session. It outlives its link for
// cleanup (the sessionCleanupDelay the application asked for).
type session struct {
	id      string
	link    *link // nil while orphaned
	expires time.Time
	cleanup time.Duration
	gone    time.Time // when an orphaned session ends
	sessMon string    // the session-level monitor's monitorCrossRefID, "" if none
}

type monitor struct {
	id     string
	device string // extension
	sess   *session
}

type device struct {
	dnd   bool
	mwi   bool              // message-waiting lamp (SetMessageWaiting)
	fwd   map[string]string // forwardingType → forwardDN while active
	agent string            // requestedAgentState last set
}

// New starts a simulator listening on cfg.Addr.
func New(cfg Config) (*Sim, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.SwitchName == "" {
		cfg.SwitchName = "CM1"
	}
	if cfg.MaxSessionDuration <= 0 {
		cfg.MaxSessionDuration = 300
	}
	if cfg.MaxCleanupDelay <= 0 {
		cfg.MaxCleanupDelay = 60
	}
	if len(cfg.Versions) == 0 {
		cfg.Versions = releases
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("avaya sim: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := &Sim{cfg: cfg, ln: ln, stop: make(chan struct{}), links: map[*link]struct{}{}, sessions: map[string]*session{},
		monitors: map[string]*monitor{}, byDev: ctisim.DeviceIndex[*monitor]{}, calls: map[string]*ctisim.Call{}, devices: map[string]*device{}}
	s.wire = ctisim.Wire{Party: s.party, Conn: s.conn, EmitAll: s.emitAll,
		Forget: func(c *ctisim.Call) { delete(s.calls, c.ID); s.hunt.Distribute() }}
	s.hunt = ctisim.Hunt{Wire: s.wire, Members: func(g string) []string { return s.cfg.Groups[g] }, Refuses: s.refuses,
		Live:    func(c *ctisim.Call) bool { return s.calls[c.ID] == c },
		Deliver: func(c *ctisim.Call, m, g string) { s.deliver(c, m, g, true, "distributed") }}
	s.wg.Add(2)
	go s.accept()
	go s.reaper()
	return s, nil
}

// Addr is the simulator's host:port.
func (s *Sim) Addr() string { return s.ln.Addr().String() }

// DeviceID is the device ID GetDeviceId gives for extension ext.
func (s *Sim) DeviceID(ext string) string {
	return dmccDeviceID(ext, s.cfg.SwitchName, s.cfg.SwitchIP)
}

// Close stops listening, drops every link and waits for its goroutines.
func (s *Sim) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
	s.closed = true
	s.mu.Unlock()
	err := s.ln.Close()
	s.DropLinks()
	s.wg.Wait()
	return err
}

// DropLinks closes every application link at once, as a network failure
// would. Sessions stay for their cleanup delay, with their monitors.
func (s *Sim) DropLinks() {
	for _, l := range s.linkList() {
		l.Close()
	}
}

// ExpireSessions ends every session at once, as an AES restart would:
// monitors go, links close, resumption is refused.
func (s *Sim) ExpireSessions() {
	s.mu.Lock()
	var links []*link
	for _, ss := range s.sessions {
		if ss.link != nil {
			links = append(links, ss.link)
		}
		s.endSession(ss)
	}
	s.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
}

func (s *Sim) linkList() []*link {
	s.mu.Lock()
	defer s.mu.Unlock()
	links := make([]*link, 0, len(s.links))
	for l := range s.links {
		links = append(links, l)
	}
	return links
}

// SetDelay delays every response by d (0 turns it off).
func (s *Sim) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SendMalformed sends a broken frame of kind k on every link.
func (s *Sim) SendMalformed(k Malformed) {
	for _, l := range s.linkList() {
		if k == SlowLoris {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); l.slowLoris() }()
			continue
		}
		l.Send(malformed(k))
	}
}

var billionLaughs = ctisim.BillionLaughs(
	`<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">` +
		`<monitorCrossRefID>&lol9;</monitorCrossRefID></DeliveredEvent>`)

func malformed(k Malformed) []byte {
	switch k {
	case BadHeader:
		return ctisim.BadHeaderFrame
	case BadInvokeID:
		return []byte{0, 0, 0, 12, '9', 'x', '9', '9', '<', 'x', '/', '>'}
	case XMLBomb:
		return ctisim.Frame(cstaxml.EventInvokeID, []byte(billionLaughs))
	case TooDeep:
		return ctisim.Frame(cstaxml.EventInvokeID, []byte(strings.Repeat("<a>", 8000)+strings.Repeat("</a>", 8000)))
	case Oversize:
		const open, end = `<DeliveredEvent><cause>`, `</cause></DeliveredEvent>`
		pad := cstaxml.MaxFrameSize - cstaxml.HeaderSize - len(open) - len(end)
		return ctisim.Frame(cstaxml.EventInvokeID, []byte(open+strings.Repeat("x", pad)+end))
	}
	return ctisim.Frame(cstaxml.EventInvokeID, []byte(`<DeliveredEvent xmlns="x"><monitorCrossRefID>`))
}

// Links is the number of application links open.
func (s *Sim) Links() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.links)
}

// Sessions is the number of application sessions started so far (resumed
// ones not counted again).
func (s *Sim) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// Resumed is the number of sessions resumed by sessionID.
func (s *Sim) Resumed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumed
}

// Expired is the number of sessions ended because their timer ran out.
func (s *Sim) Expired() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expired
}

// LiveSessions lists the IDs of the sessions alive now, sorted.
func (s *Sim) LiveSessions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.sessions {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Monitors lists the extensions monitored now, one entry per monitor,
// sorted.
func (s *Sim) Monitors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.monitors {
		out = append(out, m.device)
	}
	slices.Sort(out)
	return out
}

// Stopped is how many sessions StopApplicationSession ended.
func (s *Sim) Stopped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// SystemStatusAnswers is how many SystemStatusResponses applications sent.
func (s *Sim) SystemStatusAnswers() int64 { return s.sysStatus.Load() }

// Refused lists the documents applications sent that the simulator's own
// parser refused (see package cstaxml and dmccxml.go), with why.
func (s *Sim) Refused() []string { return s.refused.List() }

// TimerResets is how many ResetApplicationSessionTimer requests were
// granted.
func (s *Sim) TimerResets() int64 { return s.resets.Load() }

// DND reports whether do-not-disturb is on at ext.
func (s *Sim) DND(ext string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dev(ext).dnd
}

// Forwarding returns ext's active forwarding destination of type typ
// (cstaxml.ForwardImmediate...), "" if none.
func (s *Sim) Forwarding(ext, typ string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dev(ext).fwd[typ]
}

// AgentState returns the agent state last set at ext ("" if never).
func (s *Sim) AgentState(ext string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dev(ext).agent
}

// Calls is the number of calls in progress.
func (s *Sim) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *Sim) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		l := newLink(s, c)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			continue
		}
		if s.out {
			s.mu.Unlock()
			_ = c.Close() // AES is away (Outage)
			continue
		}
		s.links[l] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(3)
		go l.readLoop()
		go func() { defer s.wg.Done(); l.WriteLoop() }()
		go l.systemStatus()
	}
}

// reaper ends sessions whose timer ran out, and orphaned sessions past
// their cleanup delay.
func (s *Sim) reaper() {
	defer s.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		var links []*link
		s.mu.Lock()
		for _, ss := range s.sessions {
			switch {
			case now.After(ss.expires):
				s.expired++
				if ss.link != nil {
					links = append(links, ss.link)
				}
				s.endSession(ss)
			case ss.link == nil && now.After(ss.gone):
				s.endSession(ss)
			}
		}
		s.mu.Unlock()
		for _, l := range links {
			l.Close() // AES closes the socket of an expired session
		}
	}
}

// endSession forgets a session and its monitors. Called with s.mu held.
func (s *Sim) endSession(ss *session) {
	delete(s.sessions, ss.id)
	for id, m := range s.monitors {
		if m.sess == ss {
			delete(s.monitors, id)
			s.byDev.Remove(m.device, m)
		}
	}
	if ss.link != nil {
		ss.link.sess = nil
		ss.link = nil
	}
}

// exists reports whether ext is a known station or hunt group. Called
// with s.mu held.
func (s *Sim) exists(ext string) bool {
	if ext == "" || s.external(ext) {
		return false
	}
	if _, group := s.cfg.Groups[ext]; group {
		return true
	}
	if len(s.cfg.Devices) == 0 {
		return strings.Trim(ext, "0123456789") == ""
	}
	return slices.Contains(s.cfg.Devices, ext)
}

// station resolves a device ID from a request to a known extension: the
// switch part must be ours. A plain extension is accepted too.
func (s *Sim) station(id string) (string, bool) {
	ext := extension(id)
	if sw := switchOf(id); strings.Contains(id, ":") && sw != s.cfg.SwitchName {
		return "", false
	}
	return ext, s.exists(ext)
}

// dev returns ext's feature state. Called with s.mu held.
func (s *Sim) dev(ext string) *device {
	d, ok := s.devices[ext]
	if !ok {
		d = &device{fwd: map[string]string{}}
		s.devices[ext] = d
	}
	return d
}

func (s *Sim) newID() string {
	s.nextID++
	return strconv.Itoa(s.nextID)
}

// frame builds one CSTA-over-TCP frame.
// link is one application's TCP connection.
type link struct {
	*ctisim.Conn
	s       *Sim
	sess    *session // guarded by s.mu
	version string   // the protocol version the session negotiated; guarded by s.mu
	nextReq int      // guarded by s.mu
}

func newLink(s *Sim, c net.Conn) *link {
	l := &link{s: s}
	l.Conn = ctisim.NewConn(c, encode, l.free)
	return l
}

// encode writes CSTA messages in the ed3 namespace, as AES writes them
// (session and Avaya messages carry their own).
func encode(m cstaxml.Message) ([]byte, error) { return cstaxml.Marshal(m, cstaxml.Ed3) }

// free forgets a closed link. Its session is orphaned: it stays for its
// cleanup delay (monitors kept, events dropped) or ends now if it has none.
func (l *link) free() {
	s := l.s
	s.mu.Lock()
	delete(s.links, l)
	if ss := l.sess; ss != nil {
		ss.link, l.sess = nil, nil
		if ss.cleanup <= 0 {
			s.endSession(ss)
		} else {
			ss.gone = time.Now().Add(ss.cleanup)
		}
	}
	s.mu.Unlock()
}

// slowLoris writes a frame header promising 1,000 bytes, then one byte a
// second until the link closes: nothing behind it gets through.
func (l *link) slowLoris() {
	l.Trickle([]byte{0, 0, 0x03, 0xf0, '9', '9', '9', '9'}, time.Second, 1000)
}

// namespaces are the namespaces CSTA requests on l may use: plain ed3
// (Avaya's own samples) or the version the session negotiated (f-me/dmcc
// writes its requests in it), cti-protocols.md §3.1; only the negotiated
// one with Config.StrictNamespace. Nil (any ECMA-323 edition) before a
// session or when the version is not a namespace (AES 3.0's "3.0").
func (l *link) namespaces() []string {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.sess == nil || !cstaxml.IsCSTANamespace(l.version) {
		return nil
	}
	if l.s.cfg.StrictNamespace {
		return []string{l.version}
	}
	return []string{cstaxml.Ed3, l.version}
}

func (l *link) readLoop() {
	defer l.s.wg.Done()
	defer l.Close()
	l.ReadLoop(ctisim.Reader{
		Decode:               decoder(l.namespaces),
		Refused:              l.s.refused.Add,
		SystemStatusAnswered: func() { l.s.sysStatus.Add(1) },
		Delay:                func() time.Duration { return time.Duration(l.s.delay.Load()) },
		Handle:               func(id cstaxml.InvokeID, m cstaxml.Message) { l.s.handle(l, id, m) },
	})
}

// systemStatus sends SystemStatus periodically while the link has a
// session (AES's keep-alive, §2.1).
func (l *link) systemStatus() {
	defer l.s.wg.Done()
	iv := l.s.cfg.SystemStatusInterval
	if iv <= 0 {
		return
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-l.Done():
			return
		case <-t.C:
			l.s.mu.Lock()
			has := l.sess != nil
			id := ctisim.NextRequest(&l.nextReq)
			l.s.mu.Unlock()
			if has {
				l.SendMsg(id, &cstaxml.SystemStatus{SystemStatus: cstaxml.SystemStatusNormal})
			}
		}
	}
}
