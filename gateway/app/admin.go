package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/webphone"
)

// adminServer is the HTTPS side: health, readiness, Prometheus metrics and
// the JSON API, whose routes need an account (auth.go: sessions, API tokens,
// Basic) and answer the sources of http.api_allow.
type adminServer struct {
	app   *App
	srv   *http.Server
	ln    net.Listener
	conf  *tls.Config
	want  string
	allow []netip.Prefix    // http.api_allow
	phone *webphone.Handler // /phone (webphone.go)

	adminPassword string      // data_dir/admin.password's at start (auth.go), for the tests
	routes        []string    // patterns registered with route (auth.go)
	console       consoleLink // attendant_console.go

	panics atomic.Uint64 // HTTP handler panics recovered
}

func newAdminServer(a *App, listen string, conf *tls.Config, adminPassword string) *adminServer {
	s := &adminServer{app: a, conf: conf, want: listen, allow: a.cfg.APIAllowPrefixes(), adminPassword: adminPassword}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry(), promhttp.HandlerOpts{}))
	s.route(mux, "GET /api/v1/registrations", accounts.RoleAdmin, s.registrations)
	s.route(mux, "GET /api/v1/bans", accounts.RoleAdmin, s.bans)
	s.route(mux, "GET /api/v1/trunks", accounts.RoleAdmin, s.trunks)
	s.route(mux, "DELETE /api/v1/bans/{ip}", accounts.RoleAdmin, s.unban)
	s.recordRoutes(mux)
	s.accountRoutes(mux)   // accounts.go
	s.attendantRoutes(mux) // attendant.go
	s.openapiRoutes(mux)   // attendant_openapi.go
	s.ctiRoutes(mux)
	s.adminUIRoutes(mux)
	s.configRoutes(mux)                           // config_api.go
	s.turnRoutes(mux)                             // turn.go
	s.ladderRoutes(mux)                           // ladder.go
	if err := s.webphoneRoutes(mux); err != nil { // webphone.go
		a.log.Error("web phone not served", "error", err)
	}
	s.provisionRoutes(mux) // provision.go (after webphoneRoutes: it uses the web phone's login)
	s.directoryRoutes(mux) // directory_api.go
	s.consoleRoutes(mux)   // console.go
	s.panicRoutes(mux)     // panic.go
	s.queueRoutes(mux)     // queue.go
	// attendant_features.go: PBX queues, group pickup, busy treatments.
	s.attendantFeatureRoutes(mux)
	s.route(mux, "GET /debug/pprof/", accounts.RoleAdmin, pprof.Index)
	s.route(mux, "GET /debug/pprof/profile", accounts.RoleAdmin, pprof.Profile)
	s.srv = &http.Server{
		Handler:   s.recoverPanics(mux),
		TLSConfig: conf,
		// A client may not hold a connection by sending its headers
		// slowly, by sending huge ones, or by idling between requests.
		// No WriteTimeout: the CTI event stream and pprof's profile are
		// long responses.
		ReadHeaderTimeout: httpReadHeaderTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	return s
}

// Limits of the HTTPS server's connections.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 64 << 10
)

// recoverPanics ends a panicking handler's request with 500 (when nothing
// was written yet) instead of net/http's bare connection reset, logs the
// stack and counts it. http.ErrAbortHandler passes through: it is the way
// to abort a response on purpose.
func (s *adminServer) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &wroteWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.panics.Add(1)
			s.app.log.Error("http handler panicked; its request ends, the process goes on",
				"method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rw.wrote {
				problem(w, http.StatusInternalServerError, "internal error", "the request failed; see the gateway log")
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// wroteWriter notes whether a response was started.
type wroteWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *wroteWriter) WriteHeader(code int) { w.wrote = true; w.ResponseWriter.WriteHeader(code) }
func (w *wroteWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// hijacking for WebSockets).
func (w *wroteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *adminServer) start() error {
	ln, err := net.Listen("tcp", s.want)
	if err != nil {
		return fmt.Errorf("listen https %s: %w", s.want, err)
	}
	s.ln = ln
	s.app.log.Info("https listening", "addr", ln.Addr().String())
	if err := s.startConsoleLink(); err != nil { // attendant_console.go
		_ = ln.Close()
		return err
	}
	return nil
}

func (s *adminServer) serve() error {
	err := s.srv.ServeTLS(s.ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *adminServer) addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

func (s *adminServer) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.waitConsoleLink()
}

func (s *adminServer) ready(w http.ResponseWriter, _ *http.Request) {
	if len(s.app.sip.Bound()) == 0 {
		http.Error(w, "no sip listener open", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (s *adminServer) apiAllowed(ip netip.Addr) bool {
	for _, p := range s.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

type registrationView struct {
	AOR       string    `json:"aor"`
	Contact   string    `json:"contact"`
	Expires   time.Time `json:"expires"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	LocalAddr string    `json:"local_addr,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Instance  string    `json:"instance,omitempty"`
	RegID     int       `json:"reg_id,omitempty"`
	Path      []string  `json:"path,omitempty"`
}

func (s *adminServer) registrations(w http.ResponseWriter, _ *http.Request) {
	bs := s.app.reg.Location().All(time.Now())
	out := make([]registrationView, 0, len(bs))
	for _, b := range bs {
		out = append(out, registrationView{
			AOR: b.AOR, Contact: b.ContactURI, Expires: b.Expires, Source: b.Source, Transport: b.Transport, LocalAddr: b.LocalAddr,
			UserAgent: b.UserAgent, Instance: b.InstanceID, RegID: b.RegID, Path: b.Path,
		})
	}
	writeJSON(w, out)
}

type banView struct {
	IP     string    `json:"ip"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

func (s *adminServer) bans(w http.ResponseWriter, _ *http.Request) {
	bans := s.app.guard.Bans()
	out := make([]banView, 0, len(bans))
	for _, b := range bans {
		out = append(out, banView{IP: b.IP.String(), Reason: b.Reason, Until: b.Until})
	}
	writeJSON(w, out)
}

func (s *adminServer) unban(w http.ResponseWriter, r *http.Request) {
	ip, err := netip.ParseAddr(r.PathValue("ip"))
	if err != nil {
		problem(w, http.StatusBadRequest, "bad address", err.Error())
		return
	}
	found := s.app.guard.Unban(ip)
	if err := s.app.store.DeleteBan(r.Context(), ip.String()); err == nil {
		found = true
	}
	if !found {
		problem(w, http.StatusNotFound, "not banned", ip.String()+" is not banned")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminServer) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := s.app
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	gauge("registrar_bindings", "Unexpired registered contacts.", func() float64 {
		n, _ := a.reg.Location().Count(time.Now())
		return float64(n)
	})
	gauge("registrar_aors", "Addresses-of-record with at least one contact.", func() float64 {
		_, n := a.reg.Location().Count(time.Now())
		return float64(n)
	})
	gauge("users", "Users in the directory.", func() float64 { return float64(a.users.Len()) })
	counter("registrar_registered_total", "REGISTER requests answered 200 that left bindings.", func() float64 { return float64(a.reg.Stats().Registered) })
	counter("registrar_unregistered_total", "REGISTER requests that removed the last binding.", func() float64 { return float64(a.reg.Stats().Unregistered) })
	counter("registrar_challenged_total", "REGISTER requests answered with a digest challenge.", func() float64 { return float64(a.reg.Stats().Challenged) })
	counter("registrar_auth_failed_total", "REGISTER requests with wrong credentials.", func() float64 { return float64(a.reg.Stats().AuthFailed) })
	counter("registrar_store_errors_total", "Binding changes the store refused (answered 503).", func() float64 { return float64(a.reg.Stats().StoreErrors) })
	counter("sip_malformed_total", "Messages refused as malformed.", func() float64 { return float64(a.guard.Stats().Malformed) })
	counter("sip_oversize_total", "Messages refused as too large.", func() float64 { return float64(a.guard.Stats().Oversize) })
	counter("sip_rate_limited_total", "Messages dropped by the per-source rate limit.", func() float64 { return float64(a.guard.Stats().RateLimited) })
	counter("sip_banned_dropped_total", "Messages and connections dropped from banned sources.", func() float64 { return float64(a.guard.Stats().BannedDropped) })
	counter("sip_foreign_in_dialog_total", "In-dialog requests that named a call's dialog but came from another party than its peer (answered 481).", func() float64 {
		if a.calls == nil {
			return 0
		}
		return float64(a.calls.ForeignRequests())
	})
	counter("sip_stray_2xx_foreign_total", "Stray 2xx to an INVITE whose Call-ID the gateway did not make (ignored).", func() float64 {
		if a.calls == nil {
			return 0
		}
		return float64(a.calls.StrayForeign())
	})
	reg.MustRegister(a.dns.Collector())
	gauge("sip_bans", "Sources banned now.", func() float64 { return float64(len(a.guard.Bans())) })
	s.floodMetrics(counter, gauge)
	s.webphoneMetrics(counter, gauge) // webphone.go
	s.accountMetrics(counter)         // accounts.go
	s.recordMetrics(reg)
	callPolicyMetrics(reg, a.policy) // callpolicy.go
	s.trunkRegMetrics(reg)
	s.ctiMetrics(reg)
	s.mediaMetrics(reg)
	s.turnMetrics(reg)    // turn.go
	s.webrtcMetrics(reg)  // webrtc.go
	s.observeMetrics(reg) // ladder.go
	return reg
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// problem writes an RFC 9457 problem document.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
