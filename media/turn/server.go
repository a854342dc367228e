package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/reuseport"
	"github.com/pion/turn/v5"

	"github.com/switchboard-gw/switchboard/internal/sockbuf"
)

// errPeerDenied is returned to pion for a TCP Connect (RFC 6062) to a
// denied peer.
var errPeerDenied = errors.New("turn: peer address denied")

// Server is the STUN/TURN server. New checks the options, Start opens the
// listeners, Close (or the end of Start's context) shuts everything down.
type Server struct {
	opts      Options
	listeners []listener
	peers     *PeerFilter
	allocs    *allocTable
	stats     stats
	limiter   *sourceLimiter

	mu      sync.Mutex
	started bool
	closed  bool
	pion    *turn.Server
	pcs     []net.PacketConn
	lns     []*guardedListener
	bound   []Bound
	done    chan struct{}
}

// Bound is a listener as opened: its scheme (udp, tcp, tls, dtls) and address.
type Bound struct {
	Scheme string
	Addr   net.Addr
}

// stats are the server's counters (see Stats).
type stats struct {
	allocations   atomic.Uint64
	bytesOut      atomic.Uint64
	bytesIn       atomic.Uint64
	packetsOut    atomic.Uint64
	packetsIn     atomic.Uint64
	deniedPeers   atomic.Uint64
	droppedRate   atomic.Uint64
	rateLimited   atomic.Uint64
	connsRefused  atomic.Uint64
	quotaUser     atomic.Uint64
	quotaTotal    atomic.Uint64
	authExpired   atomic.Uint64
	authUnknown   atomic.Uint64
	authRealm     atomic.Uint64
	authIntegrity atomic.Uint64
	requestErrors atomic.Uint64
	relayFailures atomic.Uint64
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Allocations      int    // live now
	AllocationsTotal uint64 // made since start
	BytesToPeer      uint64
	BytesFromPeer    uint64
	PacketsToPeer    uint64
	PacketsFromPeer  uint64
	DeniedPeers      uint64 // permissions, channels, connects and packets refused by the peer filter
	DroppedOverCap   uint64 // relayed packets over an allocation's bandwidth cap
	RateLimited      uint64 // UDP requests over their source's rate
	ConnsRefused     uint64 // TCP/TLS connections over a cap
	QuotaUser        uint64 // Allocate refused 486: the user's quota
	QuotaTotal       uint64 // Allocate refused 486: the server's quota
	AuthExpired      uint64 // REST credentials past their expiry
	AuthUnknown      uint64 // no such static user, or a username that is not expiry:user
	AuthRealm        uint64 // a REALM other than ours
	AuthIntegrity    uint64 // wrong password: MESSAGE-INTEGRITY did not match
	RequestErrors    uint64 // messages pion could not handle (malformed, no allocation, ...)
	RelayFailures    uint64 // relay sockets that could not be made
}

// New checks opts and prepares a server without opening anything.
func New(opts Options) (*Server, error) {
	o := opts.withDefaults()
	if len(o.Listen) == 0 {
		return nil, ErrNoListeners
	}
	if o.Secret == "" && len(o.Users) == 0 {
		return nil, ErrNoSecret
	}
	if !o.RelayAddress.IsValid() || o.RelayAddress.IsUnspecified() {
		return nil, ErrNoRelayAddress
	}
	s := &Server{opts: o, peers: NewPeerFilter(o.AllowPeers), allocs: newAllocTable(),
		limiter: newSourceLimiter(o.SourceRate, o.SourceBurst), done: make(chan struct{})}
	for _, l := range o.Listen {
		pl, err := parseListener(l)
		if err != nil {
			return nil, err
		}
		if (pl.scheme == "tls" || pl.scheme == "dtls") && o.TLS == nil {
			return nil, fmt.Errorf("%w: %s", ErrNoTLS, l)
		}
		s.listeners = append(s.listeners, pl)
	}
	return s, nil
}

// Start opens the listeners and serves until ctx ends or Close is called.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	s.started = true
	cfg := turn.ServerConfig{
		Realm:              s.opts.Realm,
		AuthHandler:        s.authenticate,
		QuotaHandler:       s.quota,
		AllocationLifetime: s.opts.Lifetime,
		LoggerFactory:      slogFactory{s.opts.Logger},
		EventHandler:       s.events(),
	}
	relayIP := net.IP(s.opts.RelayAddress.AsSlice())
	bind := s.opts.RelayBind.String()
	for _, l := range s.listeners {
		switch l.scheme {
		case "udp":
			// One socket per core on the same port (SO_REUSEPORT): pion
			// reads each UDP socket in one goroutine, and the kernel keeps
			// a client's 5-tuple on one socket, so its allocation stays
			// with one reader.
			addr, err := exclusiveUDPPort(l.addr)
			if err != nil {
				s.closeLocked()
				return fmt.Errorf("turn: listen udp %s: %w", l.addr, err)
			}
			for i := range max(1, runtime.GOMAXPROCS(0)) {
				lc := net.ListenConfig{Control: reuseport.Control}
				pc, err := lc.ListenPacket(context.Background(), "udp", addr)
				if err != nil {
					s.closeLocked()
					return fmt.Errorf("turn: listen udp %s: %w", l.addr, err)
				}
				if got, capped := setSocketBuffers(pc, listenerSocketBuffer); capped && i == 0 {
					s.opts.Logger.Warn("turn: the listener's socket buffers were capped by net.core.rmem_max/wmem_max: bursts of many clients may be dropped (raise them, or give the process CAP_NET_ADMIN)",
						"listener", l.addr, "asked", listenerSocketBuffer, "granted_read", got.Read, "granted_write", got.Write)
				}
				if i == 0 {
					s.bound = append(s.bound, Bound{Scheme: "udp", Addr: pc.LocalAddr()})
				}
				s.pcs = append(s.pcs, pc)
				cfg.PacketConnConfigs = append(cfg.PacketConnConfigs, turn.PacketConnConfig{
					PacketConn:            &guardedPacketConn{PacketConn: pc, lim: s.limiter, dropped: &s.stats.rateLimited},
					RelayAddressGenerator: newRelayGen(s, relayIP, bind, s.opts.PortMin, s.opts.PortMax),
					PermissionHandler:     s.permit,
				})
			}
		case "dtls": // RFC 7350 (dtls.go)
			ln, err := listenDTLS(l.addr, s.opts.TLS, slogFactory{s.opts.Logger})
			if err != nil {
				s.closeLocked()
				return fmt.Errorf("turn: listen dtls %s: %w", l.addr, err)
			}
			gl := &guardedListener{Listener: ln, perIP: s.opts.MaxConnsPerIP, total: s.opts.MaxConns,
				firstByte: s.opts.FirstByteTimeout, idle: s.opts.IdleTimeout, refused: &s.stats.connsRefused,
				conns: map[netip.Addr]int{}, live: map[*guardedConn]struct{}{}}
			s.lns = append(s.lns, gl)
			s.bound = append(s.bound, Bound{Scheme: l.scheme, Addr: ln.Addr()})
			pc := newDTLSPacketConn(gl, s.opts.FirstByteTimeout, s.limiter, &s.stats.rateLimited, &s.stats.requestErrors)
			s.pcs = append(s.pcs, pc)
			cfg.PacketConnConfigs = append(cfg.PacketConnConfigs, turn.PacketConnConfig{
				PacketConn:            pc,
				RelayAddressGenerator: newRelayGen(s, relayIP, bind, s.opts.PortMin, s.opts.PortMax),
				PermissionHandler:     s.permit,
			})
		case "tcp", "tls":
			ln, err := net.Listen("tcp", l.addr) //nolint:noctx
			if err != nil {
				s.closeLocked()
				return fmt.Errorf("turn: listen %s %s: %w", l.scheme, l.addr, err)
			}
			gl := &guardedListener{Listener: ln, perIP: s.opts.MaxConnsPerIP, total: s.opts.MaxConns,
				firstByte: s.opts.FirstByteTimeout, idle: s.opts.IdleTimeout, refused: &s.stats.connsRefused,
				conns: map[netip.Addr]int{}, live: map[*guardedConn]struct{}{}}
			s.lns = append(s.lns, gl)
			s.bound = append(s.bound, Bound{Scheme: l.scheme, Addr: ln.Addr()})
			var served net.Listener = gl
			if l.scheme == "tls" {
				served = tls.NewListener(gl, s.opts.TLS)
			}
			served = &meteredListener{Listener: served, lim: s.limiter, rateLimited: &s.stats.rateLimited}
			cfg.ListenerConfigs = append(cfg.ListenerConfigs, turn.ListenerConfig{
				Listener:              served,
				RelayAddressGenerator: newRelayGen(s, relayIP, bind, s.opts.PortMin, s.opts.PortMax),
				PermissionHandler:     s.permit,
			})
		}
	}
	srv, err := turn.NewServer(cfg)
	if err != nil {
		s.closeLocked()
		return fmt.Errorf("turn: %w", err)
	}
	s.pion = srv
	for _, b := range s.bound {
		s.opts.Logger.Info("turn listening", "transport", b.Scheme, "addr", b.Addr.String())
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	return nil
}

// Socket buffer sizes asked for (the kernel caps them at
// net.core.rmem_max/wmem_max): a listener takes every client's packets, a
// relay one allocation's peers'. Bursts (many clients on the same 20 ms
// tick) overflow the 208 kB default before a loaded machine schedules the
// reader.
const (
	listenerSocketBuffer = 4 << 20
	relaySocketBuffer    = 512 << 10
)

// setSocketBuffers asks for size bytes of receive and send buffer
// (internal/sockbuf: forced past the sysctl caps where the process may);
// capped reports that the kernel granted less, or refused.
func setSocketBuffers(pc net.PacketConn, size int) (got sockbuf.Sizes, capped bool) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return sockbuf.Sizes{}, false
	}
	want := sockbuf.Sizes{Read: size, Write: size}
	got, err := sockbuf.Set(sc, want)
	return got, err != nil || got.Capped(want)
}

// exclusiveUDPPort binds addr once without SO_REUSEPORT, so that a port
// another process holds (even with SO_REUSEPORT) is an error rather than a
// port silently shared, and returns it with port 0 resolved.
func exclusiveUDPPort(addr string) (string, error) {
	pc, err := net.ListenPacket("udp", addr) //nolint:noctx
	if err != nil {
		return "", err
	}
	bound := pc.LocalAddr().String()
	return bound, pc.Close()
}

// Close shuts the listeners, every connection and every allocation.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *Server) closeLocked() error {
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	var err error
	if s.pion != nil {
		err = s.pion.Close() // closes the listeners; their loops then close the allocations
	} else {
		for _, pc := range s.pcs {
			_ = pc.Close()
		}
		for _, l := range s.lns {
			_ = l.Close()
		}
	}
	for _, l := range s.lns {
		l.closeAll() // pion leaves accepted connections open
	}
	return err
}

// Bound returns the listeners as opened (after Start).
func (s *Server) Bound() []Bound {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Bound(nil), s.bound...)
}

// Allocations lists the live allocations, oldest first.
func (s *Server) Allocations() []Allocation { return s.allocs.list() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Allocations: s.allocs.count(), AllocationsTotal: c.allocations.Load(),
		BytesToPeer: c.bytesOut.Load(), BytesFromPeer: c.bytesIn.Load(),
		PacketsToPeer: c.packetsOut.Load(), PacketsFromPeer: c.packetsIn.Load(),
		DeniedPeers: c.deniedPeers.Load(), DroppedOverCap: c.droppedRate.Load(),
		RateLimited: c.rateLimited.Load(), ConnsRefused: c.connsRefused.Load(),
		QuotaUser: c.quotaUser.Load(), QuotaTotal: c.quotaTotal.Load(),
		AuthExpired: c.authExpired.Load(), AuthUnknown: c.authUnknown.Load(),
		AuthRealm: c.authRealm.Load(), AuthIntegrity: c.authIntegrity.Load(),
		RequestErrors: c.requestErrors.Load(), RelayFailures: c.relayFailures.Load(),
	}
}

// authenticate finds the long-term key of a request's USERNAME (RFC 8489
// §9.2.2): a static user's, or a REST username's under the shared secret
// while its expiry is ahead. pion then checks MESSAGE-INTEGRITY with it.
func (s *Server) authenticate(ra *turn.RequestAttributes) (userID string, key []byte, ok bool) {
	if ra.Realm != s.opts.Realm {
		s.stats.authRealm.Add(1)
		return "", nil, false
	}
	if pw, ok := s.opts.Users[ra.Username]; ok {
		return ra.Username, longTermKey(ra.Username, s.opts.Realm, pw), true
	}
	if s.opts.Secret == "" {
		s.stats.authUnknown.Add(1)
		return "", nil, false
	}
	expiry, user, err := ParseRESTUsername(ra.Username)
	if err != nil {
		s.stats.authUnknown.Add(1)
		return "", nil, false
	}
	if !time.Now().Before(expiry) {
		s.stats.authExpired.Add(1)
		return "", nil, false
	}
	if user == "" {
		user = ra.Username
	}
	return user, longTermKey(ra.Username, s.opts.Realm, RESTPassword(s.opts.Secret, ra.Username)), true
}

// quota admits an Allocate within the user's and the server's quotas.
func (s *Server) quota(user, _ string, src net.Addr) bool {
	ok, why := s.allocs.admit(user, s.opts.UserQuota, s.opts.TotalQuota)
	if !ok {
		if why == "user" {
			s.stats.quotaUser.Add(1)
		} else {
			s.stats.quotaTotal.Add(1)
		}
		s.opts.Logger.Info("turn allocation refused: quota reached", "user", user, "quota", why, "source", src.String())
	}
	return ok
}

// permit is the peer filter as pion's PermissionHandler: a denied peer's
// CreatePermission, ChannelBind or Connect gets 403 (RFC 8656 §9.1).
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	if s.peers.allowedIP(peer) {
		return true
	}
	s.stats.deniedPeers.Add(1)
	s.opts.Logger.Debug("turn peer denied", "client", client.String(), "peer", peer.String())
	return false
}

func (s *Server) events() turn.EventHandler {
	return turn.EventHandler{
		OnAuth: func(src, _ net.Addr, _, username, _, method string, ok bool) {
			if !ok {
				s.stats.authIntegrity.Add(1)
			}
		},
		OnAllocationCreated: func(src, dst net.Addr, proto, user, realm string, relay net.Addr, _ int) {
			s.stats.allocations.Add(1)
			s.allocs.created(src, dst, proto, user, realm, relay)
		},
		OnAllocationDeleted: func(src, dst net.Addr, proto, user, _ string) {
			s.allocs.deleted(src, dst, proto, user)
		},
		OnAllocationError: func(_, _ net.Addr, _, _ string) {
			s.stats.requestErrors.Add(1)
		},
		OnPermissionCreated: func(src, dst net.Addr, proto, _, _ string, _ net.Addr, _ net.IP) {
			s.allocs.adjust(src, dst, proto, 1, 0)
		},
		OnPermissionDeleted: func(src, dst net.Addr, proto, _, _ string, _ net.Addr, _ net.IP) {
			s.allocs.adjust(src, dst, proto, -1, 0)
		},
		OnChannelCreated: func(src, dst net.Addr, proto, _, _ string, _, _ net.Addr, _ uint16) {
			s.allocs.adjust(src, dst, proto, 0, 1)
		},
		OnChannelDeleted: func(src, dst net.Addr, proto, _, _ string, _, _ net.Addr, _ uint16) {
			s.allocs.adjust(src, dst, proto, 0, -1)
		},
	}
}

// ICEServer is one entry of RTCConfiguration.iceServers (W3C WebRTC §4.2.1).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICEServers returns what a WebRTC client of user needs: a stun: URL and,
// when a shared secret is set, turn:/turns: URLs with REST credentials
// valid for Options.CredentialTTL from now, all on Options.PublicHost.
// Call it after Start: the ports are the bound ones.
func (s *Server) ICEServers(user string, now time.Time) []ICEServer {
	host, ttl := s.opts.PublicHost, s.opts.CredentialTTL
	var stun, turnURLs []string
	for _, b := range s.Bound() {
		_, p, _ := net.SplitHostPort(b.Addr.String())
		hp := net.JoinHostPort(host, p)
		switch b.Scheme {
		case "udp":
			stun = append(stun, "stun:"+hp)
			turnURLs = append(turnURLs, "turn:"+hp+"?transport=udp")
		case "tcp":
			turnURLs = append(turnURLs, "turn:"+hp+"?transport=tcp")
		case "tls":
			turnURLs = append(turnURLs, "turns:"+hp+"?transport=tcp")
			// dtls: none. Browsers take turns: over TLS only (RFC 7065's
			// turns:?transport=udp is DTLS, which they do not speak);
			// softphones that do are configured with the URL by hand.
		}
	}
	var out []ICEServer
	if len(stun) > 0 {
		out = append(out, ICEServer{URLs: stun[:1]})
	}
	if s.opts.Secret != "" && len(turnURLs) > 0 {
		u, pw := RESTCredentials(s.opts.Secret, user, now.Add(ttl))
		out = append(out, ICEServer{URLs: turnURLs, Username: u, Credential: pw})
	}
	return out
}

// slogFactory hands pion a logger that writes to slog: pion's errors and
// warnings at debug (a client's bad message is not the operator's error).
type slogFactory struct{ l *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLeveled{f.l.With("component", "turn/"+scope)}
}

type slogLeveled struct{ l *slog.Logger }

func (l slogLeveled) Trace(string)          {}
func (l slogLeveled) Tracef(string, ...any) {}
func (l slogLeveled) Debug(m string)        { l.l.Debug(m) }
func (l slogLeveled) Debugf(f string, a ...any) {
	if l.l.Enabled(context.Background(), slog.LevelDebug) {
		l.l.Debug(fmt.Sprintf(f, a...))
	}
}
func (l slogLeveled) Info(m string)             { l.l.Debug(m) }
func (l slogLeveled) Infof(f string, a ...any)  { l.Debugf(f, a...) }
func (l slogLeveled) Warn(m string)             { l.l.Debug(m) }
func (l slogLeveled) Warnf(f string, a ...any)  { l.Debugf(f, a...) }
func (l slogLeveled) Error(m string)            { l.l.Debug(m) }
func (l slogLeveled) Errorf(f string, a ...any) { l.Debugf(f, a...) }
