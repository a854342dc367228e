// Package mitel is a MiVoice Office 400 CSTA simulator for tests and the
// lab: ECMA-323 edition 5 XML with the csta: prefix, over TCP with the
// 8-byte CSTA header (cti-protocols.md §2). It holds devices and calls,
// answers the ECMA-354 session and ECMA-269 services the Mitel driver uses,
// emits events in the order a real PBX does (§2.6), asks the application
// for its SystemStatus, and has hooks to drop the link, delay responses and
// send malformed frames.
//
// It follows the published message formats only; where MiVO400 specifics
// are not public (login carrier, device ID format) it uses the assumptions
// documented in drivers/mitel/README.md.
package mitel

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// Config configures a [Sim]. The zero value accepts any login and any
// device, has no monitor limit and sends no SystemStatus.
type Config struct {
	// Addr is where to listen (default "127.0.0.1:0").
	Addr string
	// User and Password are the login expected in
	// applicationSpecificInfo/SessionLoginInfo; empty User accepts any.
	User, Password string
	// Devices lists the extensions that exist; empty means any device ID
	// exists.
	Devices []string
	// MonitorLimit is the number of "CSTA Sessions" licences: monitors
	// beyond it get overallMonitorLimitExceeded. 0 means no limit.
	MonitorLimit int
	// MaxSessionDuration caps the session duration granted, in seconds
	// (default 300). A session whose timer is not reset in time ends: its
	// monitors are dropped and the link closed.
	MaxSessionDuration int
	// SystemStatusInterval is how often the switch sends SystemStatus to
	// each link; 0 never.
	SystemStatusInterval time.Duration
	// Namespace is the CSTA namespace of everything sent (default ed5).
	Namespace string
	// TLS, when set, makes the simulator a TLS server.
	TLS *tls.Config
	// NoSession makes a switch without ECMA-354 application sessions:
	// StartApplicationSession gets a CSTAErrorCode (operation/generic) and
	// services work on a link without one. LoginNamespace is the namespace
	// the SessionLoginInfo login must be in ("" = none).
	// Both are variants of what MiVO400 may do: its CSTA interface is not
	// public (drivers/mitel/README.md, "Guesses").
	NoSession      bool
	LoginNamespace string
	// DeviceIDForm, e.g. "N<%s!98>", is the form of Devices a dialed
	// extension number resolves to (the MiVO400 trace shows device IDs
	// so; what "!98" means is not public). Empty: numbers are device IDs.
	DeviceIDForm string
	// NetworkPrefix is put before an external caller's number in
	// networkCallingDevice (e.g. "+49"); Trunk names the trunk device
	// external calls arrive on (default "T1"); Voicemail the device that
	// holds waiting messages (default "7000").
	NetworkPrefix, Trunk, Voicemail string
	// DeferredSnapshots answers SnapshotDevice with a serviceCrossRefID
	// and sends the data in SnapshotDeviceData events, as ECMA-269 allows
	// a switch to.
	DeferredSnapshots bool
	// Lines is how many calls a device can be in at once: a call to a
	// device with that many fails with cause busy (ECMA-269 Failed). 0
	// means no limit (every phone has call waiting).
	Lines int
	// Offer makes the switch offer each call (OfferedEvent) before it
	// alerts (DeliveredEvent), as ECMA-269 editions 4 and later allow.
	Offer bool
	// ExternalPrefix, e.g. "0", marks a dialed number as one of the
	// public network: the call leaves over the trunk (DigitsDialed,
	// NetworkReached) and the far end answers. "" means no number is
	// external.
	ExternalPrefix string
	// Groups are hunt groups: group number → member devices. A call to a
	// group rings its first free member (cause distributed), or waits in
	// the group's queue (QueuedEvent, cause enteringDistribution) until a
	// member is free. Groups can be monitored like devices.
	Groups map[string][]string
	// Timestamps puts the switch's time into every call event
	// (extensions/security/timestamp, to the nanosecond), for latency
	// measurements. Off by default, as in the MiVO400 trace.
	Timestamps bool
}

// Malformed is a kind of broken frame [Sim.SendMalformed] sends.
type Malformed int

const (
	// BadHeader is a frame whose format indicator is not 0x0000: the
	// stream can't be resynchronised, so the application must drop the
	// link.
	BadHeader Malformed = iota
	// BadXML is a well-framed event whose XML is not well formed: the
	// application should drop the frame and go on.
	BadXML
	// XMLBomb is a well-framed event with a DOCTYPE whose entities expand
	// exponentially ("billion laughs"): the application must refuse it
	// without expanding it and go on.
	XMLBomb
	// WrongLength is a frame whose length field is shorter than the
	// document that follows: the rest of the document is read as the next
	// header, so the application must drop the link.
	WrongLength
	// SlowLoris sends the start of a frame whose header promises 4,000
	// bytes, then nothing more on that link (responses and events queue
	// up unsent): a stuck PBX link the application must detect.
	SlowLoris
)

// slowLoris is the frame start a SlowLoris link stops after.
var slowLoris = []byte{0, 0, 0x0f, 0xa0, '9', '9', '9', '9', '<', 'c', 's'}

var xmlBomb = ctisim.BillionLaughs(
	`<csta:DeliveredEvent xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed5">` +
		`<csta:monitorCrossRefID>&lol9;</csta:monitorCrossRefID></csta:DeliveredEvent>`)

// Sim is a running simulator. Close it when done.
type Sim struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	delay     atomic.Int64 // nanoseconds before each response
	sysStatus atomic.Int64 // SystemStatusResponses received
	refused   ctisim.Refusals
	dec       cstaxml.Decoder

	mu       sync.Mutex
	incoming map[string]bool // call ids of calls from the network (Incoming)
	hunt     ctisim.Hunt     // the hunt groups' queues (Config.Groups)
	closed   bool
	out      bool // Outage: links are closed as they come
	links    map[*link]struct{}
	monitors map[string]*monitor // monitorCrossRefID → monitor
	byDev    ctisim.DeviceIndex[*monitor]
	calls    map[string]*ctisim.Call
	wire     ctisim.Wire // how its calls are written: the shared call operations
	devices  map[string]*device
	nextID   int
	sessions int
	lose     int // events still to lose (LoseEvents)
	lost     int
	feat     features // features.go: pickup groups, busy devices, camp-on, call back
}

type monitor struct {
	id     string
	device string
	link   *link
}

type device struct {
	dnd bool
	mwi bool              // message-waiting lamp (SetMessageWaiting)
	fwd map[string]string // forwardingType → forwardDN while active
}

// New starts a simulator listening on cfg.Addr.
func New(cfg Config) (*Sim, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.MaxSessionDuration <= 0 {
		cfg.MaxSessionDuration = 300
	}
	if cfg.Namespace == "" {
		cfg.Namespace = cstaxml.Ed5
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mitel sim: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := &Sim{cfg: cfg, ln: ln, links: map[*link]struct{}{}, monitors: map[string]*monitor{}, byDev: ctisim.DeviceIndex[*monitor]{},
		calls: map[string]*ctisim.Call{}, devices: map[string]*device{}}
	s.dec = cstaxml.Decoder{CSTANamespaces: func() []string { return []string{cfg.Namespace} }}
	s.wire = ctisim.Wire{Party: cstaxml.KnownParty, Conn: cstaxml.Conn, EmitAll: s.emitAll,
		Forget: func(c *ctisim.Call) { delete(s.calls, c.ID); s.hunt.Distribute() }}
	s.hunt = ctisim.Hunt{Wire: s.wire, Members: func(g string) []string { return s.cfg.Groups[g] }, Refuses: s.refuses,
		Live:    func(c *ctisim.Call) bool { return s.calls[c.ID] == c },
		Deliver: func(c *ctisim.Call, m, g string) { s.deliver(c, m, cstaxml.KnownParty(g), "distributed") }}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the simulator's host:port.
func (s *Sim) Addr() string { return s.ln.Addr().String() }

// Close stops listening, drops every link and waits for its goroutines.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.ln.Close()
	s.DropLinks()
	s.wg.Wait()
	return err
}

// DropLinks closes every application link at once, as a PBX restart or a
// network failure would. Their monitors end.
func (s *Sim) DropLinks() {
	s.mu.Lock()
	links := make([]*link, 0, len(s.links))
	for l := range s.links {
		links = append(links, l)
	}
	s.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
}

// Outage takes the switch's CTI service away: every link is dropped and
// new ones are closed as they connect, until restore is called. Calls
// and device state live on (a CTI link outage, not a switch restart).
func (s *Sim) Outage() (restore func()) {
	s.mu.Lock()
	s.out = true
	s.mu.Unlock()
	s.DropLinks()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.out = false
	}
}

// LoseEvents makes the switch lose the next n events (one per device an
// event is for) without sending them, as an overloaded switch does before
// it reports SystemStatus messagesLost.
func (s *Sim) LoseEvents(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose = n
}

// Lost is how many events LoseEvents made the switch lose.
func (s *Sim) Lost() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// SendSystemStatus sends the switch's SystemStatus request with status
// (cstaxml.SystemStatusMessagesLost, ...Disabled, ...Normal) on every link
// with a session (any link with NoSession).
func (s *Sim) SendSystemStatus(status string) {
	s.mu.Lock()
	var to []ctisim.Outgoing
	for l := range s.links {
		if l.session != "" || s.cfg.NoSession {
			to = append(to, ctisim.Outgoing{Conn: l.Conn, ID: ctisim.NextRequest(&l.nextReq)})
		}
	}
	s.mu.Unlock()
	ctisim.SendSystemStatus(status, to)
}

// CallsByDevice is CallsAt for every device at once (devices with no
// call left out), taken in one pass under the lock.
func (s *Sim) CallsByDevice() map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ctisim.CallsByDevice(s.calls)
}

// CallsAt returns the calls at dev as the switch holds them: call ID →
// dev's localConnectionInfo. It is the truth lamps are checked against.
func (s *Sim) CallsAt(dev string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ctisim.CallsAt(s.calls, dev)
}

// SetMonitorLimit changes the number of "CSTA Sessions" licences (0: no
// limit), as an administrator adding licences would.
func (s *Sim) SetMonitorLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.MonitorLimit = n
}

// SetDelay delays every response by d (0 turns it off).
func (s *Sim) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SendMalformed sends a broken frame of kind k on every link.
func (s *Sim) SendMalformed(k Malformed) {
	var b []byte
	switch k {
	case BadHeader:
		b = ctisim.BadHeaderFrame
	case XMLBomb:
		b = ctisim.Frame(cstaxml.EventInvokeID, []byte(xmlBomb))
	case WrongLength:
		b = ctisim.Frame(cstaxml.EventInvokeID, []byte(`<csta:HeldEvent xmlns:csta="x"><csta:monitorCrossRefID>1</csta:monitorCrossRefID></csta:HeldEvent>`))
		b[3] = 20 // the header says 20 bytes: 12 of XML
	case SlowLoris:
		b = slowLoris
	default:
		b = ctisim.Frame(cstaxml.EventInvokeID, []byte(`<csta:DeliveredEvent xmlns:csta="x"><csta:monitorCrossRefID>`))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.links {
		if k == SlowLoris {
			l.SendStalled(b)
		} else {
			l.Send(b)
		}
	}
}

// Links is the number of application links open.
func (s *Sim) Links() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.links)
}

// Sessions is the number of application sessions started so far.
func (s *Sim) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Monitors lists the devices monitored now, one entry per monitor, sorted.
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

// SystemStatusAnswers is how many SystemStatusResponses applications sent.
func (s *Sim) SystemStatusAnswers() int64 { return s.sysStatus.Load() }

// Refused lists the documents applications sent that the simulator's own
// ECMA-323/354 parser refused, with why (see package cstaxml).
func (s *Sim) Refused() []string { return s.refused.List() }

// DND reports whether do-not-disturb is on at dev.
func (s *Sim) DND(dev string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dev(dev).dnd
}

// Forwarding returns dev's active forwarding destination of type typ
// (cstaxml.ForwardImmediate...), "" if none.
func (s *Sim) Forwarding(dev, typ string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dev(dev).fwd[typ]
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
			_ = c.Close() // the CTI service is away (Outage)
			continue
		}
		s.links[l] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(2)
		go l.readLoop()
		go func() { defer s.wg.Done(); l.WriteLoop() }()
	}
}

// exists reports whether dev is a known extension or hunt group. Called
// with s.mu held.
func (s *Sim) exists(dev string) bool {
	if _, group := s.cfg.Groups[dev]; group {
		return true
	}
	return dev != "" && !s.external(dev) && (len(s.cfg.Devices) == 0 || slices.Contains(s.cfg.Devices, dev))
}

// dev returns dev's feature state. Called with s.mu held.
func (s *Sim) dev(dev string) *device {
	d, ok := s.devices[dev]
	if !ok {
		d = &device{fwd: map[string]string{}}
		s.devices[dev] = d
	}
	return d
}

func (s *Sim) newID() string {
	s.nextID++
	return strconv.Itoa(s.nextID)
}

// encode marshals m the way MiVO400 writes it: ed5 with a csta: prefix.
func (s *Sim) encode(m cstaxml.Message) ([]byte, error) {
	b, err := cstaxml.Marshal(m, s.cfg.Namespace)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte(cstaxml.SessionNamespace)) {
		return b, nil // session messages are not prefixed in the trace
	}
	return prefix(b), nil
}

var (
	tagRE   = regexp.MustCompile(`<(/?)([A-Za-z_])`)
	xmlnsRE = regexp.MustCompile(`xmlns="`)
)

// prefix rewrites a document encoding/xml wrote with a default namespace
// into the csta: prefixed form of the MiVO400 trace.
func prefix(b []byte) []byte {
	const decl = `<?xml version="1.0" encoding="UTF-8"?>`
	body := bytes.TrimPrefix(b, []byte(decl))
	body = tagRE.ReplaceAll(body, []byte("<${1}csta:${2}"))
	body = xmlnsRE.ReplaceAll(body, []byte(`xmlns:csta="`))
	return append([]byte(decl), body...)
}

// link is one application's TCP connection.
type link struct {
	*ctisim.Conn
	s       *Sim
	session string // sessionID once started
	expires time.Time
	nextReq int
	freed   bool // under s.mu: closed, its monitors gone; nothing more is added for it
}

func newLink(s *Sim, c net.Conn) *link {
	l := &link{s: s}
	l.Conn = ctisim.NewConn(c, s.encode, l.free)
	return l
}

// free forgets a closed link and its monitors (the licences go back).
func (l *link) free() {
	l.s.mu.Lock()
	l.freed = true
	delete(l.s.links, l)
	for id, m := range l.s.monitors {
		if m.link == l {
			delete(l.s.monitors, id)
			l.s.byDev.Remove(m.device, m)
		}
	}
	l.s.mu.Unlock()
}

func (l *link) readLoop() {
	defer l.s.wg.Done()
	defer l.Close()
	stop := l.timers()
	defer stop()
	l.ReadLoop(ctisim.Reader{
		Decode:               l.s.dec.Decode,
		Refused:              l.s.refused.Add,
		SystemStatusAnswered: func() { l.s.sysStatus.Add(1) },
		Delay:                func() time.Duration { return time.Duration(l.s.delay.Load()) },
		Handle:               func(id cstaxml.InvokeID, m cstaxml.Message) { l.s.handle(l, id, m) },
	})
}

// timers sends SystemStatus periodically and ends expired sessions.
func (l *link) timers() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	l.s.wg.Add(1)
	go func() {
		defer l.s.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-l.Done():
				return
			case now := <-tick.C:
				l.s.mu.Lock()
				expired := l.session != "" && now.After(l.expires)
				iv := l.s.cfg.SystemStatusInterval
				due := l.session != "" && iv > 0 && now.Sub(last) >= iv
				var id cstaxml.InvokeID
				if due {
					last = now
					id = ctisim.NextRequest(&l.nextReq)
				}
				l.s.mu.Unlock()
				if expired {
					l.Close()
					return
				}
				if due {
					l.SendMsg(id, &cstaxml.SystemStatus{SystemStatus: cstaxml.SystemStatusNormal})
				}
			}
		}
	}()
	return cancel
}

// loginInfo is the assumed MiVO400 login carrier inside
// applicationSpecificInfo (not public; see the driver README).
type loginInfo struct {
	XMLName  xml.Name `xml:"SessionLoginInfo"`
	UserName string   `xml:"userName"`
	Password string   `xml:"password"`
}

// handleSession answers the ECMA-354 session requests; ok is false for
// anything else.
func (s *Sim) handleSession(l *link, id cstaxml.InvokeID, m cstaxml.Message) bool {
	switch r := m.(type) {
	case *cstaxml.StartApplicationSession:
		if s.cfg.NoSession {
			l.SendMsg(id, ctisim.ErrGeneric)
			return true
		}
		var li loginInfo
		if r.ApplicationInfo.ApplicationSpecificInfo != nil {
			_ = xml.Unmarshal(r.ApplicationInfo.ApplicationSpecificInfo.Inner, &li)
		}
		if s.cfg.User != "" && (li.UserName != s.cfg.User || li.Password != s.cfg.Password ||
			li.XMLName.Space != s.cfg.LoginNamespace) {
			l.SendMsg(id, &cstaxml.StartApplicationSessionNegResponse{
				ErrorCode: cstaxml.SessionErrorCode{DefinedError: cstaxml.SessionErrInvalidApplicationInfo}})
			return true
		}
		ver := ""
		for _, v := range r.RequestedProtocolVersions.ProtocolVersion {
			if v == s.cfg.Namespace {
				ver = v
			}
		}
		if ver == "" {
			l.SendMsg(id, &cstaxml.StartApplicationSessionNegResponse{
				ErrorCode: cstaxml.SessionErrorCode{DefinedError: cstaxml.SessionErrRequestedProtocolVersionNotSupported}})
			return true
		}
		s.mu.Lock()
		s.sessions++
		l.session = "S" + s.newID()
		dur := s.grant(l, r.RequestedSessionDuration)
		sid := l.session
		s.mu.Unlock()
		l.SendMsg(id, &cstaxml.StartApplicationSessionPosResponse{SessionID: sid, ActualProtocolVersion: ver, ActualSessionDuration: dur})
	case *cstaxml.ResetApplicationSessionTimer:
		s.mu.Lock()
		if r.SessionID != l.session || l.session == "" {
			s.mu.Unlock()
			l.SendMsg(id, &cstaxml.ResetApplicationSessionTimerNegResponse{
				ErrorCode: cstaxml.SessionErrorCode{DefinedError: "invalidSessionID"}})
			return true
		}
		dur := s.grant(l, r.RequestedSessionDuration)
		s.mu.Unlock()
		l.SendMsg(id, &cstaxml.ResetApplicationSessionTimerPosResponse{ActualSessionDuration: dur})
	case *cstaxml.SystemStatus: // the application's keepalive (ECMA-269 system status, either way)
		s.mu.Lock()
		ok := l.session != "" || s.cfg.NoSession
		s.mu.Unlock()
		if !ok {
			l.SendMsg(id, ctisim.ErrNoSession)
			return true
		}
		l.SendMsg(id, &cstaxml.SystemStatusResponse{})
	case *cstaxml.StopApplicationSession:
		l.SendMsg(id, &cstaxml.StopApplicationSessionPosResponse{})
		go func() { time.Sleep(50 * time.Millisecond); l.Close() }()
	default:
		return false
	}
	return true
}

// grant sets the session timer. Called with s.mu held.
func (s *Sim) grant(l *link, requested int) int {
	d := requested
	if d <= 0 || d > s.cfg.MaxSessionDuration {
		d = s.cfg.MaxSessionDuration
	}
	l.expires = time.Now().Add(time.Duration(d) * time.Second)
	return d
}
