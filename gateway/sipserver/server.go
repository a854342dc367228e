// Package sipserver runs the SIP side of the gateway: it opens every
// configured listener (UDP, TCP, TLS, WS, WSS) behind the sipguard wrappers,
// hands them to sipgo's transport and transaction layers, and routes requests
// to the handlers registered by the registrar and, later, the B2BUA.
package sipserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/capture"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/sipguard"
)

// ErrNoTLS is returned when a tls:// or wss:// listener has no certificate.
var ErrNoTLS = errors.New("tls listener without certificate")

// Options configure a Server.
type Options struct {
	Listeners  []config.Listener
	TLS        *tls.Config // for tls:// and wss:// listeners
	Guard      *sipguard.Guard
	ServerName string
	Logger     *slog.Logger
	// Limits bound pools, queues and the stateless answer cache.
	Limits Limits
	// Capture, if set, sees every SIP message received and sent (the
	// ladder, HEP). Optional.
	Capture *capture.Tap
}

// Bound is a listener that is open, with the port it really got (port 0 in
// the config asks the kernel for one).
type Bound struct {
	Scheme string
	Addr   string // host:port
	Path   string // ws/wss only
	// AddrPort is Addr parsed (zero if it is no IP:port), so routing a
	// request to a listener (every call) does not parse it again.
	AddrPort netip.AddrPort
}

// Server owns the sipgo user agent and the listening sockets.
type Server struct {
	o       Options
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	log     *slog.Logger
	methods []string

	stateless       *stateless
	statelessCancel context.CancelFunc
	stray           atomic.Pointer[func(*sip.Response)]

	limits     Limits
	running    atomic.Int64 // sipgo handlers running
	liveTx     atomic.Int64 // sipgo server transactions not yet terminated
	shed       atomic.Uint64
	overloaded atomic.Uint64
	panics     atomic.Uint64
	kept       kept // refused transactions kept after a 100 Trying (trying.go)

	mu      sync.Mutex
	closers []func() error
	bound   []Bound
	wg      sync.WaitGroup
}

func init() {
	// Datagrams over the path MTU must not be lost (RFC 3261 §18.1.1 allows
	// large responses over UDP; the kernel fragments them), and reads must
	// hold the largest datagram sipguard lets through.
	sip.UDPMTUSize = 65535 + 200
	sip.TransportBufferReadSize = 65535
	// The 100 Trying of an INVITE's server transaction (RFC 3261 §17.2.1)
	// is sent by the handler boundary (finalTracker, trying.go), which
	// knows whether it went out; sipgo's own timer would send it unseen.
	sip.Timer_1xx = 24 * time.Hour
	capture.Install() // sipgo's write hook, before any socket is served
}

// New makes the sipgo stack. Nothing listens until Start.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ServerName == "" {
		o.ServerName = "Switchboard"
	}
	s := &Server{o: o, log: o.Logger, limits: o.Limits.withDefaults()}
	txo := []sip.TransactionLayerOption{sip.WithTransactionLayerUnhandledResponseHandler(s.onStray)}
	if o.Capture != nil {
		txo = append(txo, o.Capture.TransactionLayerOption()) // before the transaction layer's handler
	}
	uao := []sipgo.UserAgentOption{sipgo.WithUserAgent(o.ServerName), sipgo.WithUserAgentTransactionLayerOptions(txo...)}
	if o.Capture != nil {
		uao = append(uao, sipgo.WithUserAgentTransportLayerOptions(o.Capture.TransportLayerOption())) // UDP as received
	}
	ua, err := sipgo.NewUA(uao...)
	if err != nil {
		return nil, fmt.Errorf("create sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(o.Logger))
	if err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("create sip server: %w", err)
	}
	s.ua, s.srv = ua, srv
	sctx, cancel := context.WithCancel(context.Background())
	s.stateless, s.statelessCancel = newStateless(sctx, o.Logger, s.limits, o.ServerName, s.recovered), cancel
	s.stateless.tap = o.Capture
	s.Handle(sip.OPTIONS, s.options)
	// Stray ACKs are absorbed, after settling a kept refusal (trying.go).
	srv.OnAck(s.guarded(sip.ACK, func(*sip.Request, sip.ServerTransaction) {}))
	srv.OnNoRoute(s.guarded("", s.noRoute))
	return s, nil
}

// OnStrayResponse sets h to receive the responses that match no client
// transaction (RFC 3261 §17.1.3 found none): in practice a 2xx to an
// INVITE retransmitted after its transaction ended, or one that came after
// we gave up on that target (RFC 3261 §13.2.2.4 wants it ACKed). Without a
// handler such responses are dropped.
func (s *Server) OnStrayResponse(h func(*sip.Response)) { s.stray.Store(&h) }

func (s *Server) onStray(res *sip.Response) {
	if h := s.stray.Load(); h != nil && *h != nil {
		(*h)(res)
		return
	}
	s.log.Debug("response matches no transaction", "status", res.StatusCode, "call_id", res.CallID())
}

// UserAgent returns the sipgo user agent, for clients (trunks, probes).
func (s *Server) UserAgent() *sipgo.UserAgent { return s.ua }

// Handle routes requests of method to h and lists the method in Allow. h
// runs behind the handler boundary (see guarded): bounded in number, a
// panic ends its transaction with 500, not the process.
func (s *Server) Handle(method sip.RequestMethod, h sipgo.RequestHandler) {
	s.srv.OnRequest(method, s.guarded(method, h))
	m := string(method)
	if method == sip.ACK {
		return // Allow always lists ACK
	}
	for _, have := range s.methods {
		if have == m {
			return
		}
	}
	s.methods = append(s.methods, m)
	sort.Strings(s.methods)
}

// HandleStateless routes requests of method to r: over UDP straight from
// the socket without a sipgo transaction (see stateless), over the stream
// transports through an ordinary sipgo transaction.
func (s *Server) HandleStateless(method sip.RequestMethod, r Responder) {
	s.stateless.handlers[string(method)] = r
	s.Handle(method, func(req *sip.Request, tx sip.ServerTransaction) {
		// Timer F bounds how long the client waits (RFC 3261 §17.1.2.2).
		ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
		defer cancel()
		if res := r(ctx, req); res != nil {
			if err := tx.Respond(res); err != nil {
				s.log.Debug("sending response", "method", method, "error", err)
			}
		}
	})
}

// Allow is the Allow header value: the methods with a handler.
func (s *Server) Allow() string {
	return strings.Join(append([]string{"ACK"}, s.methods...), ", ")
}

// OptionsHandler is the handler that answers OPTIONS outside dialogs, for
// a handler of in-dialog OPTIONS to fall back on (b2bua.InDialogOptions).
func (s *Server) OptionsHandler() sipgo.RequestHandler { return s.options }

// options answers OPTIONS with our capabilities (RFC 3261 §11.2).
func (s *Server) options(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.Allow()))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Accept-Encoding", "identity"))
	res.AppendHeader(sip.NewHeader("Accept-Language", "en"))
	res.AppendHeader(sip.NewHeader("Supported", supportedHeader))
	res.AppendHeader(sip.NewHeader("Server", s.o.ServerName))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sending OPTIONS response", "error", err)
	}
}

// knownMethods are the methods of RFC 3261 and its extensions that we
// recognise; a request for one we do not handle gets 405 with Allow
// (RFC 3261 §8.2.1), anything else 501 (RFC 3261 §21.5.2).
var knownMethods = map[string]bool{
	"INVITE": true, "ACK": true, "BYE": true, "CANCEL": true, "OPTIONS": true, "REGISTER": true,
	"PRACK": true, "SUBSCRIBE": true, "NOTIFY": true, "PUBLISH": true, "INFO": true,
	"REFER": true, "MESSAGE": true, "UPDATE": true,
}

func (s *Server) noRoute(req *sip.Request, tx sip.ServerTransaction) {
	var res *sip.Response
	switch {
	case req.Method == sip.CANCEL:
		// sipgo answers a CANCEL that matches a transaction; one that
		// matches none (its INVITE was answered and ended, or never came)
		// gets 481 (RFC 3261 §9.2), not 405.
		res = sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
	case knownMethods[string(req.Method)]:
		res = sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", s.Allow()))
	default:
		res = sip.NewResponseFromRequest(req, sip.StatusNotImplemented, "Not Implemented", nil)
	}
	res.AppendHeader(sip.NewHeader("Server", s.o.ServerName))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sending response", "error", err)
	}
}

// Start opens every listener and serves them in the background. Either all
// listeners open or none stays open and the first error is returned.
func (s *Server) Start(ctx context.Context) error {
	tp := s.ua.TransportLayer()
	if len(s.stateless.handlers) > 0 {
		s.o.Guard.SetUDPIntercept(s.stateless.intercept)
	}
	for _, l := range s.o.Listeners {
		addr := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
		if err := s.open(tp, l, addr); err != nil {
			s.Close()
			return fmt.Errorf("listen %s://%s: %w", l.Scheme, addr, err)
		}
	}
	if s.o.Capture != nil {
		var ls []capture.Listener
		for _, b := range s.Bound() {
			ls = append(ls, capture.Listener{Scheme: b.Scheme, Addr: b.AddrPort})
		}
		s.o.Capture.SetListeners(ls)
	}
	return nil
}

func (s *Server) open(tp *sip.TransportLayer, l config.Listener, addr string) error {
	g := s.o.Guard
	switch l.Scheme {
	case "udp":
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		if err := growReadBuffer(pc, udpReadBuffer); err != nil {
			s.log.Warn("cannot enlarge udp receive buffer; bursts may be dropped", "error", err)
		}
		wrapped := g.PacketConn(pc)
		if s.o.Capture != nil {
			wrapped = s.o.Capture.PacketConn(wrapped) // what sipgo sends, before it leaves
		}
		// Several readers drain one socket: parsing is the costly part of a
		// datagram's life, and one reader falls behind in bursts.
		for range udpReaders() {
			s.serve(l, pc.LocalAddr().String(), pc.Close, func() error { return tp.ServeUDP(wrapped) })
		}
	case "tcp", "ws":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		wrapped := g.StreamListener(g.AcceptListener(ln))
		serve := func() error { return tp.ServeTCP(wrapped) }
		if l.Scheme == "ws" {
			wrapped = g.WebSocketListener(g.AcceptListener(ln))
			serve = func() error { return tp.ServeWS(wrapped) }
		}
		s.serve(l, ln.Addr().String(), ln.Close, serve)
	case "tls", "wss":
		if s.o.TLS == nil {
			return ErrNoTLS
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		tl := tls.NewListener(g.AcceptListener(ln), s.o.TLS)
		serve := func() error { return tp.ServeTLS(g.StreamListener(tl)) }
		if l.Scheme == "wss" {
			serve = func() error { return tp.ServeWSS(g.WebSocketListener(tl)) }
		}
		s.serve(l, ln.Addr().String(), ln.Close, serve)
	default:
		return fmt.Errorf("unknown scheme %q", l.Scheme)
	}
	return nil
}

func (s *Server) serve(l config.Listener, addr string, closer func() error, run func() error) {
	s.mu.Lock()
	b := Bound{Scheme: l.Scheme, Addr: addr, Path: l.Path}
	b.AddrPort, _ = netip.ParseAddrPort(addr)
	if len(s.bound) == 0 || s.bound[len(s.bound)-1] != b {
		s.closers = append(s.closers, closer)
		s.bound = append(s.bound, b)
		s.log.Info("sip listening", "transport", l.Scheme, "addr", addr, "path", l.Path)
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := run(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("sip listener stopped", "transport", l.Scheme, "addr", addr, "error", err)
		}
	}()
}

// Bound lists the open listeners with their real addresses.
func (s *Server) Bound() []Bound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Bound(nil), s.bound...)
}

// Close stops every listener, closes connections and waits for the serving
// goroutines to end.
func (s *Server) Close() {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for _, c := range closers {
		_ = c()
	}
	s.wg.Wait()
	s.statelessCancel()
	s.stateless.wait()
	_ = s.ua.Close()
	if s.o.Capture != nil {
		s.o.Capture.Close()
	}
}
