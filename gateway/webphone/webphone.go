// Package webphone serves the browser phone at /phone on the gateway's
// HTTPS port: the page and its script (JsSIP bundled at build time and
// embedded, never fetched at run time), and the small JSON API the page
// needs once a SIP user has logged in: the phone's configuration (the
// gateway's WSS URLs, domain, realm, display name, ICE servers), the user's
// own call history, and fresh TURN credentials.
//
// The browser registers to the gateway's SIP-over-WebSocket listener
// (RFC 7118) with the same username and password; this package only
// proves them for its API. Credentials are checked against the store's
// digest HA1 (MD5 of user:realm:password, RFC 7616 §3.4.2) in constant
// time, with the same work for unknown users and wrong passwords, and every
// failure is reported to the same observer as SIP digest failures, so a
// source guessing passwords here is banned there too.
package webphone

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Account is what the phone needs to know of a SIP user.
type Account struct {
	Username    string
	DisplayName string
	Extension   string
	// HA1MD5 is the stored digest HA1 for the realm (store.User.HA1MD5).
	HA1MD5 string
}

// History reads call records (store.Store implements it).
type History interface {
	CallHistory(ctx context.Context, q store.CallQuery) ([]cdr.Record, error)
}

// Guard is told of login outcomes per source, like SIP digest outcomes
// (sipauth.Observer), and says whether a source is banned.
// *sipguard.Guard implements it.
type Guard interface {
	AuthFailed(ip netip.Addr, user string)
	AuthSucceeded(ip netip.Addr, user string)
	Banned(ip netip.Addr) bool
}

// Listener is a SIP-over-WebSocket listener the page may register to.
type Listener struct {
	Scheme string // "wss" (a page served over HTTPS may not open ws://)
	Addr   string // host:port as bound; an unspecified host means every address
	Path   string // the HTTP path of the WebSocket upgrade, e.g. /ws
}

// ICEServer is one entry of RTCConfiguration.iceServers (W3C WebRTC
// §4.2.1): a STUN or TURN server and, for TURN, credentials.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Options configure a Handler. Zero values take the defaults noted.
type Options struct {
	// Realm is the digest realm the stored HA1 values were computed for.
	Realm string
	// Domain is the SIP domain users register in (sip:user@Domain).
	Domain string
	// Accounts looks a user up by username (required).
	Accounts func(username string) (Account, bool)
	// History serves the user's own call history; nil: none.
	History History
	// Listeners returns the bound SIP listeners of scheme wss (required
	// for the page to register; called per request, ports may be 0 in
	// the config and known only once bound).
	Listeners func() []Listener
	// ICEServers returns the STUN/TURN servers with fresh credentials for
	// user; nil: the page uses none (host candidates only).
	ICEServers func(user string) []ICEServer
	// Guard counts failures and bans; nil: no bans (the per-source
	// failure limit below still applies).
	Guard Guard
	// SessionTTL is how long a login cookie lasts; default 12h.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions kept (oldest evicted); default 10,000.
	MaxSessions int
	// MaxSessionsPerUser bounds one user's sessions; default 20.
	MaxSessionsPerUser int
	// FailureBurst failed logins from one source (IPv6: its /64) are
	// allowed at once, then one per FailureRefill; defaults 10 and 6s.
	FailureBurst  int
	FailureRefill time.Duration
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler serves /phone. Create it with New and mount it with Register.
type Handler struct {
	o        Options
	sessions *sessions
	limit    *failLimiter
	dummyHA1 string // compared for unknown users: the same work as a wrong password
	log      *slog.Logger

	loginsOK, loginsFailed, limited atomic.Uint64
}

// Stats are the handler's counters.
type Stats struct {
	LoginsOK     uint64 // logins and Basic credentials accepted
	LoginsFailed uint64 // wrong username or password
	Limited      uint64 // refused: the source failed too often or is banned
	Sessions     int    // live sessions
}

// New returns a Handler for o.
func New(o Options) (*Handler, error) {
	if o.Accounts == nil {
		return nil, ErrNoAccounts
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10000
	}
	if o.MaxSessionsPerUser <= 0 {
		o.MaxSessionsPerUser = 20
	}
	if o.FailureBurst <= 0 {
		o.FailureBurst = 10
	}
	if o.FailureRefill <= 0 {
		o.FailureRefill = 6 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Listeners == nil {
		o.Listeners = func() []Listener { return nil }
	}
	sum := sha256.Sum256([]byte("webphone dummy " + o.Realm))
	h := &Handler{
		o:        o,
		sessions: newSessions(o.MaxSessions, o.MaxSessionsPerUser),
		limit:    newFailLimiter(o.FailureBurst, o.FailureRefill, maxLimiterEntries),
		dummyHA1: store.HA1MD5(string(sum[:8]), o.Realm, "x"),
		log:      o.Logger,
	}
	return h, nil
}

// Register adds the routes of the web phone to mux:
//
//	GET  /phone                  the page
//	GET  /phone/static/...       its script, style and the vendored JsSIP
//	POST /phone/api/login        {"username","password"} → session cookie + config
//	POST /phone/api/logout       ends the session
//	GET  /phone/api/config       WSS URLs, domain, realm, display name, ICE servers
//	GET  /phone/api/calls        the user's own calls, newest first (?limit=&before=)
//	GET  /phone/api/ice          fresh ICE servers (TURN credentials)
//
// The /phone/api/ endpoints other than login take the session cookie or
// HTTP Basic credentials (RFC 7617).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /phone", h.page)
	mux.HandleFunc("GET /phone/{$}", h.page)
	mux.Handle("GET /phone/static/", h.static())
	mux.HandleFunc("POST /phone/api/login", h.login)
	mux.HandleFunc("POST /phone/api/logout", h.logout)
	mux.HandleFunc("GET /phone/api/config", h.authed(h.config))
	mux.HandleFunc("GET /phone/api/calls", h.authed(h.calls))
	mux.HandleFunc("GET /phone/api/ice", h.authed(h.ice))
	mux.HandleFunc("/phone/api/", h.notFound)
}

// Stats returns a snapshot of the counters.
func (h *Handler) Stats() Stats {
	return Stats{
		LoginsOK: h.loginsOK.Load(), LoginsFailed: h.loginsFailed.Load(), Limited: h.limited.Load(),
		Sessions: h.sessions.len(),
	}
}
