// Package pbx is a PBX simulator on SIP for tests: a real sipgo UAS and
// UAC on UDP that answers calls to configured numbers (after ringing, with
// 183 early media, busy 486, unavailable 503), plays a 425 Hz G.711 µ-law
// tone or echoes RTP, places calls towards the gateway (a PBX calling a
// phone), accepts REGISTER with digest authentication (trunk registration
// tests), answers OPTIONS, and can be switched to answer 503 to everything
// or to stop answering at all (primary/secondary failover tests).
//
// Every call's RTP is counted; Calls and Registrations report what
// happened.
package pbx

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/digest"
)

// Action is what the simulator does with a call to a number.
type Action string

// Actions.
const (
	// Answer rings for Number.Ring, then answers.
	Answer Action = "answer"
	// Busy answers 486 Busy Here.
	Busy Action = "busy"
	// Unavailable answers 503 Service Unavailable.
	Unavailable Action = "unavailable"
	// NoAnswer rings until the caller gives up.
	NoAnswer Action = "noanswer"
	// NotFound answers 404 Not Found.
	NotFound Action = "notfound"
)

// Number is the behaviour of calls to one number.
type Number struct {
	Action Action
	// Ring is how long 180 Ringing (or 183 with early media) lasts
	// before the answer. 0 answers at once.
	Ring time.Duration
	// Early sends 183 Session Progress with SDP and plays the tone
	// while ringing (RFC 3960 early media).
	Early bool
	// Media is what the answered call does with RTP. Default Echo.
	Media MediaMode
	// HangupAfter makes the simulator send BYE this long after the
	// answer; 0 waits for the caller.
	HangupAfter time.Duration
	// DTMF answers an offer with telephone-event (RFC 4733) with it, as
	// a voicemail or an IVR does, and records the digits that arrive as
	// events in CallInfo.Digits.
	DTMF bool
}

// Mode is the simulator's overall health, for failover tests.
type Mode int32

// Modes.
const (
	// Normal answers as configured.
	Normal Mode = iota
	// Unavailable503 answers every request 503 Service Unavailable.
	Unavailable503
	// Dead drops every packet unanswered, as a host that is down.
	Dead
)

// String names the mode as the pbxsim flag does.
func (m Mode) String() string {
	switch m {
	case Unavailable503:
		return "503"
	case Dead:
		return "dead"
	}
	return "normal"
}

// ParseMode reads normal, 503 or dead.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "normal", "":
		return Normal, nil
	case "503":
		return Unavailable503, nil
	case "dead":
		return Dead, nil
	}
	return Normal, fmt.Errorf("pbx: unknown mode %q: use normal, 503 or dead", s)
}

// Options configure a Sim.
type Options struct {
	// Addr is the UDP host:port to listen on; port 0 picks one. The host
	// must be an IP address. Default 127.0.0.1:0.
	Addr string
	// Numbers maps dialled numbers (Request-URI user) to behaviours.
	Numbers map[string]Number
	// Default is the behaviour for numbers not in Numbers. The zero
	// value answers at once with echo.
	Default Number
	// Realm and Users enable digest authentication of REGISTER: Users
	// maps usernames to passwords. With no Users every REGISTER is
	// accepted without a challenge.
	Realm string
	Users map[string]string
	// Algorithms offered in REGISTER challenges (RFC 8760). Default
	// SHA-256 then MD5.
	Algorithms []string
	// MinExpires, in seconds, makes REGISTERs asking for less (but not
	// 0) get 423 Interval Too Brief with Min-Expires (RFC 3261 §10.3
	// step 7). 0 accepts any.
	MinExpires int
	// RetryAfter, in seconds, is sent with 503 answers in the
	// Unavailable503 mode (RFC 3261 §20.33); 0 sends none.
	RetryAfter int
	// Name is the Server and User-Agent header. Default "pbxsim".
	Name string
	// Logger receives one line per call and registration. Default
	// discards.
	Logger *slog.Logger
}

// CallInfo is one call as the simulator saw it.
type CallInfo struct {
	ID        string     `json:"id"`
	Direction string     `json:"direction"` // in (to the PBX) or out (placed by it)
	From      string     `json:"from"`
	To        string     `json:"to"`
	Status    int        `json:"status"` // last final status sent or received, 0 while ringing
	Answered  bool       `json:"answered"`
	Ended     bool       `json:"ended"`
	Canceled  bool       `json:"canceled"`
	EndedBy   string     `json:"ended_by,omitempty"` // remote, pbx
	Media     MediaStats `json:"media"`
	// Digits are the DTMF digits received as RFC 4733 events, in order,
	// each once (a Number with DTMF whose caller offered telephone-event).
	Digits string `json:"digits,omitempty"`
}

// Counters are request counts since start.
type Counters struct {
	Invites   uint64 `json:"invites"`
	Registers uint64 `json:"registers"`
	Options   uint64 `json:"options"`
	Byes      uint64 `json:"byes"`
	Dropped   uint64 `json:"dropped"` // packets dropped in Dead mode
}

// Sim is a running PBX simulator.
type Sim struct {
	o      Options
	host   netip.Addr
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	conn   *modeConn
	auth   *digest.Authenticator
	dialog *sipgo.DialogServerCache
	uac    *sipgo.DialogClientCache
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closing bool // no new goroutines; guarded by mu
	calls   []*call
	regs    map[string]*Registration

	invites, registers, options, byes atomic.Uint64
	closeOnce                         sync.Once
}

type call struct {
	mu   sync.Mutex
	info CallInfo
	rtp  *rtpSession
}

func (c *call) update(f func(*CallInfo)) {
	c.mu.Lock()
	f(&c.info)
	c.mu.Unlock()
}

func (c *call) snapshot() CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci := c.info
	if c.rtp != nil {
		ci.Media = c.rtp.stats()
		ci.Digits = c.rtp.digits()
	}
	return ci
}

// Start opens the UDP socket and serves until Close.
func Start(o Options) (*Sim, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Name == "" {
		o.Name = "pbxsim"
	}
	if o.Realm == "" {
		o.Realm = "pbx.test"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ap, err := netip.ParseAddrPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("pbx: listen address %q: %w", o.Addr, err)
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("pbx: %w", err)
	}
	bound := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	s := &Sim{o: o, host: bound.Addr(), log: o.Logger, regs: map[string]*Registration{}}
	s.conn = &modeConn{UDPConn: pc}
	fail := func(err error) (*Sim, error) {
		_ = pc.Close()
		if s.ua != nil {
			_ = s.ua.Close()
		}
		return nil, fmt.Errorf("pbx: %w", err)
	}
	if len(o.Users) > 0 {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		s.auth, err = digest.New(digest.Options{Realm: o.Realm, Secret: secret, Algorithms: o.Algorithms})
		if err != nil {
			return fail(err)
		}
	}
	s.ua, err = sipgo.NewUA(sipgo.WithUserAgent(o.Name), sipgo.WithUserAgentHostname(bound.Addr().String()))
	if err != nil {
		return fail(err)
	}
	if s.srv, err = sipgo.NewServer(s.ua); err != nil {
		return fail(err)
	}
	if s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientHostname(bound.Addr().String()), sipgo.WithClientPort(int(bound.Port()))); err != nil {
		return fail(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "pbx", Host: bound.Addr().String(), Port: int(bound.Port())}}
	s.dialog = sipgo.NewDialogServerCache(s.client, contact)
	s.uac = sipgo.NewDialogClientCache(s.client, contact)
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = s.dialog.ReadAck(req, tx) })
	s.srv.OnBye(s.onBye)
	s.srv.OnOptions(s.onOptions)
	s.srv.OnRegister(s.onRegister)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.track()
	go func() {
		defer s.wg.Done()
		_ = s.srv.ServeUDP(s.conn)
	}()
	return s, nil
}

// Addr returns the bound UDP address.
func (s *Sim) Addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SetMode switches between normal, 503 and dead.
func (s *Sim) SetMode(m Mode) { s.conn.mode.Store(int32(m)) }

// Mode returns the current mode.
func (s *Sim) Mode() Mode { return Mode(s.conn.mode.Load()) }

// Counters returns request counts.
func (s *Sim) Counters() Counters {
	return Counters{
		Invites: s.invites.Load(), Registers: s.registers.Load(), Options: s.options.Load(),
		Byes: s.byes.Load(), Dropped: s.conn.dropped.Load(),
	}
}

// Calls returns every call so far, oldest first.
func (s *Sim) Calls() []CallInfo {
	s.mu.Lock()
	cs := append([]*call(nil), s.calls...)
	s.mu.Unlock()
	out := make([]CallInfo, len(cs))
	for i, c := range cs {
		out[i] = c.snapshot()
	}
	return out
}

// Close hangs up nothing gracefully: it stops serving, closes every RTP
// socket and waits for the call goroutines.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.cancel()
		_ = s.ua.Close()
		_ = s.conn.Close()
		s.wg.Wait()
		s.mu.Lock()
		for _, c := range s.calls {
			if c.rtp != nil {
				c.rtp.close()
			}
		}
		s.mu.Unlock()
	})
	return nil
}

// track adds a goroutine to s.wg unless the Sim is closing.
func (s *Sim) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Sim) addCall(c *call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

// unavailable answers 503 in the Unavailable503 mode and reports whether
// it did.
func (s *Sim) unavailable(req *sip.Request, tx sip.ServerTransaction) bool {
	if s.Mode() != Unavailable503 {
		return false
	}
	res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
	if s.o.RetryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(s.o.RetryAfter)))
	}
	_ = tx.Respond(res)
	return true
}

func (s *Sim) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
}

func (s *Sim) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.options.Add(1)
	if s.unavailable(req, tx) {
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"))
	_ = tx.Respond(res)
}

func (s *Sim) onBye(req *sip.Request, tx sip.ServerTransaction) {
	s.byes.Add(1)
	if err := s.dialog.ReadBye(req, tx); err == nil {
		return
	}
	if err := s.uac.ReadBye(req, tx); err == nil {
		return
	}
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

// modeConn drops every packet in the Dead mode, as a host that is down.
type modeConn struct {
	*net.UDPConn
	mode    atomic.Int32
	dropped atomic.Uint64
}

func (c *modeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || Mode(c.mode.Load()) != Dead {
			return n, addr, err
		}
		c.dropped.Add(1)
	}
}

func (c *modeConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if Mode(c.mode.Load()) == Dead {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

// errClosed is returned for work asked of a closed Sim.
var errClosed = errors.New("pbx: closed")
