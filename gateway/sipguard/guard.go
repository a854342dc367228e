// Package sipguard screens SIP traffic before sipgo sees it.
//
// sipgo drops unparsable messages silently, has no size answer, no rate
// limits or bans, and its WebSocket reader mishandles control and binary
// frames. Rather than fork sipgo, the gateway wraps the sockets it hands to
// sipgo's transport layer:
//
//	srv.ServeUDP(g.PacketConn(pc))
//	srv.ServeTCP(g.StreamListener(ln))
//	srv.ServeTLS(g.StreamListener(tls.NewListener(g.AcceptListener(ln), conf)))
//	srv.ServeWS(g.WebSocketListener(ln))
//	srv.ServeWSS(g.WebSocketListener(tls.NewListener(g.AcceptListener(ln), conf)))
//
// Everything that reaches sipgo has passed Check; malformed requests are
// answered 400, oversize ones 513 (RFC 3261 §21.4.1, §21.5.14), floods and
// banned sources are dropped without an answer.
//
// Set sip.TransportBufferReadSize to 65535 (its maximum) before serving:
// sipgo reads each UDP datagram and each WebSocket message with one Read
// into a buffer of that size and would truncate larger ones.
package sipguard

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultMaxMessageSize    = 65535
	DefaultStreamIdleTimeout = 2 * time.Hour
	DefaultPartialTimeout    = 30 * time.Second
	DefaultMaxConnsPerIP     = 256
	DefaultMaxConns          = 10000
	DefaultUnprovenIdle      = 2 * time.Minute
	DefaultWSPath            = "/ws"
)

// Options configure a Guard. Zero values take the defaults given.
type Options struct {
	// MaxMessageSize is the largest SIP message accepted; larger ones are
	// answered 513 Message Too Large (RFC 3261 §21.5.14). Default and
	// upper bound 65535 (sipgo refuses anything larger).
	MaxMessageSize int
	// RatePerSecond and Burst set a token bucket per source IP; messages
	// over it are dropped silently and counted. 0 disables the limit.
	// Burst defaults to max(1, RatePerSecond).
	RatePerSecond float64
	Burst         int
	// BanFailures auth failures (AuthFailed) of one username from one
	// source (an IPv4 address or IPv6 /64) within BanWindow ban the source
	// for BanDuration; see bans.go for the other rules. 0 disables
	// automatic bans.
	BanFailures int
	BanWindow   time.Duration
	BanDuration time.Duration
	// ScanUsers distinct usernames failing (AuthFailed) or unknown (Probe)
	// from one source within BanWindow ban it as a scanner (at most 16).
	// 0 disables this rule.
	ScanUsers int
	// ScannerAgents ban on first sight a source whose request over TCP,
	// TLS or WebSocket has a User-Agent containing one of these
	// (case-insensitive), and drop such requests over UDP unanswered
	// (scanner.go). nil: DefaultScannerAgents; empty non-nil: off.
	ScannerAgents []string
	// MaxTracked bounds the failure records; default DefaultMaxTracked.
	MaxTracked int
	// MaxBans bounds the bans held; default DefaultMaxBans.
	MaxBans int
	// Trusted sources (security.exempt_sources) are never rate-limited,
	// connection-limited or banned.
	Trusted []netip.Prefix
	// ServerName is sent as the Server header of the guard's own answers.
	ServerName string
	// WSPath is the only HTTP path upgraded to SIP over WebSocket; default
	// "/ws". Other paths get 404.
	WSPath string
	// WSPingInterval: a WebSocket idle this long is sent a ping; if nothing
	// arrives within another interval it is closed. 0 disables pings.
	WSPingInterval time.Duration
	// WSOrigins, when not empty, are the web origins allowed to open a
	// WebSocket (compared case-insensitively, trailing "/" ignored); an
	// upgrade request with another Origin gets 403. Requests without
	// Origin pass (RFC 6455 §10.2: Origin guards against browsers).
	WSOrigins []string
	// StreamIdleTimeout closes TCP/TLS/WS connections that sent no byte for
	// this long. Default 2h (RFC 5626 keepalives keep flows open).
	StreamIdleTimeout time.Duration
	// PartialTimeout bounds how long a started message (and the first
	// message of a new connection, TLS handshake included) may take to
	// arrive in full (slow-loris). Default 30s.
	PartialTimeout time.Duration
	// UnprovenIdleTimeout replaces StreamIdleTimeout for a connection
	// that has not yet carried a 2xx to a REGISTER or INVITE (a scanner,
	// a client that never authenticated); trusted sources are exempt.
	// Default 2m.
	UnprovenIdleTimeout time.Duration
	// MaxConnsPerIP limits concurrent stream connections per source (an
	// IPv4 address, an IPv6 /64); further ones are closed at once.
	// Default 256.
	MaxConnsPerIP int
	// MaxConns limits concurrent stream connections over all sources;
	// further ones from untrusted sources are closed at once. Default
	// 10000.
	MaxConns int
	// MaxBuckets bounds the rate limiter's table of sources; default
	// DefaultMaxBuckets.
	MaxBuckets int
	// OnBan is called, not under a lock, whenever the guard bans an IP, so
	// the caller can persist the ban. It runs on the request's goroutine:
	// it must not block (queue the write).
	OnBan func(Ban)
	// Logger receives warnings (bans, slow-loris closes). Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for bans and rate limits. Default time.Now. I/O
	// deadlines always use the real clock.
	Now func() time.Time
}

// Ban is a banned source.
type Ban struct {
	IP     netip.Addr
	Reason string
	Until  time.Time
}

// Stats are the guard's counters since New.
type Stats struct {
	Accepted       uint64 // messages handed to sipgo
	Malformed      uint64 // messages failing Check or framing
	Answered400    uint64 // 400 responses sent
	Oversize       uint64 // messages over MaxMessageSize
	Answered513    uint64 // 513 responses sent
	Unanswerable   uint64 // bad messages dropped: responses, ACKs, no Via
	RateLimited    uint64 // messages dropped by the rate limit
	BannedDropped  uint64 // datagrams/messages/connections from banned IPs
	Keepalives     uint64 // CRLF keepalives received
	KeepalivePongs uint64 // CRLF pongs sent (RFC 5626 §3.5.1)
	STUNDropped    uint64 // STUN-looking datagrams that were not Binding requests
	STUNAnswered   uint64 // STUN Binding requests answered (RFC 5626 §4.4.2 keepalives)
	WSPings        uint64 // WebSocket pings from clients, each answered with a pong
	WSPongs        uint64 // WebSocket pongs received from clients (liveness)
	WSServerPings  uint64 // WebSocket pings the guard sent to idle connections
	WSRejected     uint64 // WebSocket upgrade requests refused
	Conns          int64  // stream connections open now
	ConnsRefused   uint64 // connections refused (banned or over the limit)
	TimedOut       uint64 // connections closed for idleness or slow-loris
	Bans           uint64 // bans imposed
	Scanners       uint64 // requests dropped for a scanner User-Agent
}

type counters struct {
	accepted, malformed, answered400, oversize, answered513, unanswerable             atomic.Uint64
	rateLimited, bannedDropped, keepalives, keepalivePongs, stunDropped, stunAnswered atomic.Uint64
	wsPings, wsPongs, wsServerPings, wsRejected, connsRefused, timedOut, bans         atomic.Uint64
	scanners                                                                          atomic.Uint64
	conns                                                                             atomic.Int64
}

// Guard screens SIP traffic. It is safe for concurrent use.
type Guard struct {
	o   Options
	log *slog.Logger
	now func() time.Time
	c   counters
	lim atomic.Pointer[limiter]   // nil: no rate limit; SetLimits swaps it (reload.go)
	ban atomic.Pointer[banLimits] // the ban thresholds; SetLimits swaps them

	intercept atomic.Pointer[UDPIntercept]
	protected atomic.Pointer[func(netip.Addr) bool]
	scanners  scannerAgents

	bans  banTable  // bans.go
	fails failTable // bans.go

	mu    sync.Mutex
	conns *connTable
}

// New returns a Guard with the defaults applied to o.
func New(o Options) *Guard {
	if o.MaxMessageSize <= 0 || o.MaxMessageSize > MaxSIPMessage {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.StreamIdleTimeout <= 0 {
		o.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if o.PartialTimeout <= 0 {
		o.PartialTimeout = DefaultPartialTimeout
	}
	if o.MaxConnsPerIP <= 0 {
		o.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.UnprovenIdleTimeout <= 0 {
		o.UnprovenIdleTimeout = DefaultUnprovenIdle
	}
	if o.WSPath == "" {
		o.WSPath = DefaultWSPath
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = DefaultMaxTracked
	}
	if o.MaxBans <= 0 {
		o.MaxBans = DefaultMaxBans
	}
	if o.ScannerAgents == nil {
		o.ScannerAgents = DefaultScannerAgents
	}
	g := &Guard{
		o:     o,
		log:   o.Logger,
		now:   o.Now,
		conns: newConnTable(),
	}
	g.bans.init(o.MaxBans)
	g.fails.init(o.MaxTracked)
	g.scanners = newScannerAgents(o.ScannerAgents)
	g.SetLimits(Limits{RatePerSecond: o.RatePerSecond, Burst: o.Burst, BanFailures: o.BanFailures,
		BanWindow: o.BanWindow, BanDuration: o.BanDuration, ScanUsers: o.ScanUsers})
	return g
}

// Stats returns a snapshot of the counters.
func (g *Guard) Stats() Stats {
	c := &g.c
	return Stats{
		Accepted: c.accepted.Load(), Malformed: c.malformed.Load(),
		Answered400: c.answered400.Load(), Oversize: c.oversize.Load(),
		Answered513: c.answered513.Load(), Unanswerable: c.unanswerable.Load(),
		RateLimited: c.rateLimited.Load(), BannedDropped: c.bannedDropped.Load(),
		Keepalives: c.keepalives.Load(), KeepalivePongs: c.keepalivePongs.Load(),
		STUNDropped: c.stunDropped.Load(), STUNAnswered: c.stunAnswered.Load(), WSPings: c.wsPings.Load(),
		WSPongs: c.wsPongs.Load(), WSServerPings: c.wsServerPings.Load(), WSRejected: c.wsRejected.Load(),
		Conns: c.conns.Load(), ConnsRefused: c.connsRefused.Load(),
		TimedOut: c.timedOut.Load(), Bans: c.bans.Load(), Scanners: c.scanners.Load(),
	}
}

// Trusted reports whether ip is in Options.Trusted.
func (g *Guard) Trusted(ip netip.Addr) bool {
	for _, p := range g.o.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// admit applies bans and the rate limit to one message from ip. It counts
// what it drops.
func (g *Guard) admit(ip netip.Addr) bool {
	if g.bans.n.Load() > 0 && g.Banned(ip) {
		g.c.bannedDropped.Add(1)
		return false
	}
	// A trusted source may drain its bucket but is let through anyway.
	if lim := g.lim.Load(); lim != nil && !lim.allow(ip, g.now()) && !g.Trusted(ip) {
		g.c.rateLimited.Add(1)
		return false
	}
	return true
}

// addrIP returns the IP of a socket address, IPv4-mapped addresses unmapped.
func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// UDPIntercept sees every checked UDP request before sipgo does (msg is
// only valid during the call; conn is the raw socket for answers).
// Returning true consumes the datagram. It runs on the socket's reader
// goroutine, so it must not block.
type UDPIntercept func(conn net.PacketConn, msg []byte, h Head, from net.Addr) bool

// SetUDPIntercept installs f (nil removes it); safe while serving.
func (g *Guard) SetUDPIntercept(f UDPIntercept) {
	if f == nil {
		g.intercept.Store(nil)
		return
	}
	g.intercept.Store(&f)
}
