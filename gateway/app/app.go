// Package app assembles the gateway from its configuration: the store, the
// user directory, digest authentication, the input guard, the registrar, the
// SIP listeners, the trunks, the B2BUA with its RTP relay and the HTTPS admin
// side. It owns their lifecycle: New opens and checks everything, Run serves
// until the context ends and then closes every part in reverse order.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/gateway/callpolicy"
	"github.com/switchboard-gw/switchboard/gateway/certs"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/cti"
	"github.com/switchboard-gw/switchboard/gateway/digest"
	"github.com/switchboard-gw/switchboard/gateway/gwcti"
	"github.com/switchboard-gw/switchboard/gateway/opqueue"
	"github.com/switchboard-gw/switchboard/gateway/registrar"
	"github.com/switchboard-gw/switchboard/gateway/sipguard"
	"github.com/switchboard-gw/switchboard/gateway/sipserver"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/gateway/store/sqlite"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/turn"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// ErrPostgresUnavailable is returned for a postgres:// store until the
// PostgreSQL store lands.
var ErrPostgresUnavailable = errors.New("postgresql store is not available yet")

// settingDigestSecret is the store setting holding the nonce HMAC key, so
// nonces stay valid across restarts and across nodes sharing the store.
const settingDigestSecret = "digest.secret"

// App is a running gateway.
type App struct {
	cfg      *config.Config
	cfgPath  string
	log      *slog.Logger
	store    store.Store
	writer   *store.Writer
	users    *Directory
	guard    *sipguard.Guard
	banq     chan sipguard.Ban // bans to persist (trust.go)
	reg      *registrar.Registrar
	sip      *sipserver.Server
	dns      *dnssrv.Manager
	relay    *relay.Relay
	webrtc   *webrtc.Engine // browsers' media bridge (webrtc.go); nil when off
	calls    *b2bua.B2BUA
	live     *liveCalls         // what the B2BUA reaches through Router, Numbering, Divert (reload_calls.go)
	policy   *callpolicy.Policy // call admission (callpolicy.go)
	cdrs     *records
	tregs    *trunkRegs
	cti      *cti.Manager
	att      *attendant.Model // the attendant API's model (attendant.go)
	turn     *turn.Server     // STUN/TURN (turn.go)
	obs      *observe         // capture, ladder, HEP, call histograms (ladder.go)
	admin    *adminServer
	acct     *accounts.Service   // HTTPS logins (accounts.go)
	ops      *accounts.Operators // operators' state, pause reasons (accounts.go)
	queues   *opqueue.Manager    // operator queues (queue.go)
	prov     *provisioning       // settings files, per-user provisioning (provision.go)
	provOnce sync.Once
	started  time.Time
	reloadMu sync.Mutex
	reload   reloadState   // reload.go
	stats    statsSeries   // the admin UI's last hour (adminui_stats.go)
	ready    chan struct{} // closed when Run has opened every listener

	// gwsrc is the gateway as a CTI source (gwcti.go).
	gwsrc atomic.Pointer[gwcti.Source]
}

// New opens the store, loads users, bans and bindings, and prepares the
// listeners without opening them. cfgPath is re-read on Reload ("" = none).
func New(ctx context.Context, cfg *config.Config, cfgPath string, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, cfgPath: cfgPath, log: log, users: &Directory{}, started: time.Now(),
		banq: make(chan sipguard.Ban, banQueueSize), ready: make(chan struct{})}
	logConfigWarnings(cfg, log)
	ok := false
	defer func() {
		if !ok {
			if a.relay != nil {
				_ = a.relay.Close()
			}
			if a.webrtc != nil {
				_ = a.webrtc.Close()
			}
			a.closeStore()
		}
	}()
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.store = st
	a.writer = store.NewWriter(st, store.WriterOptions{})
	a.newRecords()

	if err := a.syncInlineUsers(ctx, cfg); err != nil {
		return nil, err
	}
	if _, err := a.users.Reload(ctx, st); err != nil {
		return nil, err
	}
	secret, err := digestSecret(ctx, st)
	if err != nil {
		return nil, err
	}
	auth, err := digest.New(digest.Options{
		Realm:      cfg.Realm(),
		Secret:     secret,
		NonceTTL:   cfg.Registrar.NonceTTL.D(),
		Algorithms: cfg.Registrar.Algorithms,
		AllowNoQOP: !cfg.Registrar.RequireQOP,
		AnyURI:     !cfg.Registrar.CheckDigestURI,
	})
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}

	a.guard = sipguard.New(sipguard.Options{
		MaxMessageSize: cfg.SIP.MaxMessageSize,
		RatePerSecond:  float64(cfg.Security.RateLimit.RequestsPerSecond),
		Burst:          cfg.Security.RateLimit.Burst,
		BanFailures:    cfg.Security.Ban.Failures,
		BanWindow:      cfg.Security.Ban.Window.D(),
		BanDuration:    cfg.Security.Ban.Duration.D(),
		ScanUsers:      cfg.Security.Ban.ScanUsers,
		Trusted:        cfg.ExemptPrefixes(),
		ServerName:     cfg.SIP.ServerName,
		WSPath:         wsPath(cfg),
		WSPingInterval: cfg.SIP.WSPingInterval.D(),
		WSOrigins:      cfg.SIP.WSOrigins,
		MaxConns:       cfg.SIP.Limits.MaxConnections,
		MaxConnsPerIP:  cfg.SIP.Limits.MaxConnectionsPerIP,
		OnBan:          a.queueBan,

		UnprovenIdleTimeout: cfg.SIP.Limits.UnprovenIdleTimeout.D(),
		Logger:              log.With("component", "sipguard"),
	})
	if err := a.loadBans(ctx); err != nil {
		return nil, err
	}

	a.reg, err = registrar.New(registrar.Options{
		Domains:        cfg.Domains(),
		DefaultExpires: time.Duration(cfg.Registrar.DefaultExpires) * time.Second,
		MinExpires:     time.Duration(cfg.Registrar.MinExpires) * time.Second,
		MaxExpires:     time.Duration(cfg.Registrar.MaxExpires) * time.Second,
		MaxContacts:    cfg.Registrar.MaxContacts,
		Auth:           auth,
		Users:          a.users,
		Persist:        a.writer,
		Store:          st,
		Observer:       a.guard,
		EdgeProxies:    prefixSet(cfg.EdgeProxyPrefixes()),
		ServerName:     cfg.SIP.ServerName,
		Logger:         log.With("component", "registrar"),
		OnBindings:     a.gwctiBindings, // gwcti.go
	})
	if err != nil {
		return nil, err
	}
	n, err := a.reg.Load(ctx)
	if err != nil {
		return nil, err
	}
	log.Info("bindings restored", "count", n)

	tlsConf, self, err := certs.Load(cfg.SIP.TLS.Cert, cfg.SIP.TLS.Key, cfg.DataDir, cfg.Domains())
	if err != nil {
		return nil, err
	}
	if self {
		log.Info("using a self-signed certificate", "file", filepath.Join(cfg.DataDir, certs.SelfSignedCert))
	}
	a.newObserve(cfg) // ladder.go
	a.sip, err = sipserver.New(sipserver.Options{
		Listeners:  cfg.Listeners(),
		TLS:        tlsConf,
		Guard:      a.guard,
		ServerName: cfg.SIP.ServerName,
		Logger:     log.With("component", "sip"),
		Limits:     sipLimits(cfg.SIP.Limits),
		Capture:    a.obs.tap,
	})
	if err != nil {
		return nil, err
	}
	a.sip.HandleStateless("REGISTER", a.reg.Respond)

	a.dns, err = newDNSManager(cfg, a.sip.UserAgent(), a.sip.Bound, log.With("component", "dnssrv"))
	if err != nil {
		return nil, fmt.Errorf("trunks: %w", err)
	}
	if err := a.newCalls(cfg, auth); err != nil {
		return nil, err
	}
	if err := a.newGatewaySource(); err != nil { // gwcti.go
		return nil, err
	}
	a.guard.SetProtected(trunkAddress(a.dns.Trunks()))
	if err := a.newTrunkRegs(); err != nil {
		return nil, err
	}

	if err := a.newCTI(cfg); err != nil {
		return nil, err
	}
	a.wireGatewaySource() // attendant_gateway.go
	if err := a.newTURN(cfg, tlsConf); err != nil {
		return nil, err
	}
	if cfg.HTTP.Listen != "" {
		httpTLS := tlsConf
		if !cfg.HTTP.TLS.IsZero() {
			if httpTLS, _, err = certs.Load(cfg.HTTP.TLS.Cert, cfg.HTTP.TLS.Key, cfg.DataDir, nil); err != nil {
				return nil, err
			}
		}
		pw, err := a.ensureFirstRunAdmin()
		if err != nil {
			return nil, err
		}
		a.admin = newAdminServer(a, cfg.HTTP.Listen, httpTLS, pw)
	}
	a.addReloaders() // reload.go
	ok = true
	return a, nil
}

// OpenStore opens the store named in cfg (used by serve and the CLI).
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	if strings.HasPrefix(cfg.Store, "postgres://") || strings.HasPrefix(cfg.Store, "postgresql://") {
		return nil, ErrPostgresUnavailable
	}
	st, err := sqlite.Open(ctx, cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// Run opens the listeners and serves until ctx ends, then shuts down in
// order: listeners first (no new work), then the writer (flushes what was
// answered), then the store.
func (a *App) Run(ctx context.Context) error {
	defer a.closeStore()
	if err := a.sip.Start(ctx); err != nil {
		return err
	}
	if err := a.startTURN(ctx); err != nil { // turn.go
		a.sip.Close()
		return err
	}
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	if a.admin != nil {
		if err := a.admin.start(); err != nil {
			a.stopTURN()
			a.sip.Close()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.admin.serve(); err != nil {
				errc <- err
			}
		}()
		if err := a.startProvisioning(); err != nil { // provision.go
			a.admin.shutdown()
			a.stopTURN()
			a.sip.Close()
			wg.Wait()
			return err
		}
	}
	a.dns.Start(ctx)
	stopTrunkRegs := a.startTrunkRegs()
	stopCTI := a.startCTI(ctx)
	stopGW := a.startGatewaySource(ctx) // gwcti.go
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	a.runBanWriter(sweepCtx, &wg)
	wg.Add(1)
	go func() { defer wg.Done(); a.reg.Run(sweepCtx) }()
	a.startRetention(sweepCtx, &wg)
	a.startAccounts(sweepCtx, &wg) // accounts.go
	a.startObserve(sweepCtx, &wg)  // ladder.go: the HEP sender
	a.startStats(sweepCtx, &wg)    // adminui_stats.go: the dashboard's series

	close(a.ready)
	a.log.Info("switchboard ready", "domains", a.cfg.Domains(), "users", a.users.Len())
	if a.users.Len() == 0 {
		a.log.Warn("no users yet: phones cannot register until some exist " +
			"(switchboard users add/import, or users: in the config, then SIGHUP)")
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down")
	stopTrunkRegs()
	stopCTI()
	a.calls.Close()
	stopGW()
	a.dns.Stop()
	a.sip.Close()
	a.stopTURN()
	_ = a.relay.Close()
	if a.webrtc != nil {
		_ = a.webrtc.Close()
	}
	if a.admin != nil {
		a.stopProvisioning()
		a.admin.shutdown()
	}
	stopSweep()
	wg.Wait()
	return runErr
}

// Ready is closed once Run has opened every listener; AdminAddr and
// SIP().Bound() are final from then on.
func (a *App) Ready() <-chan struct{} { return a.ready }

// SIP returns the SIP server (tests read the bound addresses from it).
func (a *App) SIP() *sipserver.Server { return a.sip }

// Admin returns the bound HTTPS address, or "" when disabled.
func (a *App) AdminAddr() string {
	if a.admin == nil {
		return ""
	}
	return a.admin.addr()
}

// Trunks returns the trunk targets and their health.
func (a *App) Trunks() *dnssrv.Manager { return a.dns }

// Registrar returns the registrar.
func (a *App) Registrar() *registrar.Registrar { return a.reg }

func (a *App) closeStore() {
	a.closeRecords()
	if a.writer != nil {
		if err := a.writer.Close(); err != nil {
			a.log.Error("flushing bindings", "error", err)
		}
		a.writer = nil
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Error("closing store", "error", err)
		}
		a.store = nil
	}
}

// syncInlineUsers upserts the config file's users into the store.
func (a *App) syncInlineUsers(ctx context.Context, cfg *config.Config) error {
	if len(cfg.Users) == 0 {
		return nil
	}
	us := make([]store.User, 0, len(cfg.Users))
	for _, u := range cfg.Users {
		us = append(us, store.NewUser(u.Username, cfg.Realm(), u.Password, u.DisplayName, u.Extension))
	}
	if err := a.store.PutUsers(ctx, us); err != nil {
		return fmt.Errorf("store inline users: %w", err)
	}
	return nil
}

// digestSecret returns the persisted nonce key, making one at first start.
func digestSecret(ctx context.Context, st store.Store) ([]byte, error) {
	v, err := st.Setting(ctx, settingDigestSecret)
	if err == nil {
		b, derr := hex.DecodeString(v)
		if derr == nil && len(b) >= 32 {
			return b, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read digest secret: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("make digest secret: %w", err)
	}
	if err := st.PutSetting(ctx, settingDigestSecret, hex.EncodeToString(b)); err != nil {
		return nil, fmt.Errorf("store digest secret: %w", err)
	}
	return b, nil
}

func (a *App) persistBan(b sipguard.Ban) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := a.store.PutBan(ctx, store.Ban{IP: b.IP.String(), Reason: b.Reason, Until: b.Until, CreatedAt: time.Now()})
	if err != nil {
		a.log.Error("persisting ban", "ip", b.IP, "error", err)
	}
}

func (a *App) loadBans(ctx context.Context) error {
	bans, err := a.store.Bans(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("load bans: %w", err)
	}
	stored := map[netip.Addr]bool{}
	for _, b := range bans {
		ip, err := netip.ParseAddr(b.IP)
		if err != nil {
			continue
		}
		stored[ip] = true
		if d := time.Until(b.Until); d > 0 && !a.guard.Banned(ip) {
			a.guard.Restore(ip, d, b.Reason)
		}
	}
	// A ban lifted with "switchboard bans delete" is gone from the store:
	// lift it here too. Bans made in the last seconds may not be persisted
	// yet (OnBan runs after the guard bans), so they stay.
	for _, b := range a.guard.Bans() {
		if !stored[b.IP] && time.Until(b.Until) < a.cfg.Security.Ban.Duration.D()-5*time.Second {
			a.guard.Unban(b.IP)
		}
	}
	return nil
}

// sipLimits maps sip.limits to the SIP server's limits.
func sipLimits(l config.Limits) sipserver.Limits {
	return sipserver.Limits{
		Workers: l.Workers, Queue: l.Queue, MaxHandlers: l.MaxHandlers, MaxTransactions: l.MaxTransactions,
		CacheEntries: l.AnswerCacheEntries, CacheBytes: l.AnswerCacheBytes,
		RetryAfter: l.RetryAfter.D(),
	}
}

func wsPath(cfg *config.Config) string {
	for _, l := range cfg.Listeners() {
		if l.Scheme == "ws" || l.Scheme == "wss" {
			return l.Path
		}
	}
	return "/ws"
}
