package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/provision"
	"github.com/switchboard-gw/switchboard/gateway/webphone"
)

// provisioning serves the settings files (seed 003) on the HTTPS side and
// on the listeners of provisioning.listen (HTTPS) and
// provisioning.http_listen (plain HTTP), and the per-user account
// settings.
type provisioning struct {
	files *provision.Files
	tls   *tls.Config // the HTTPS side's certificate

	mu      sync.Mutex
	servers []*http.Server
	httpsLn net.Listener
	plainLn net.Listener
}

// qrSize is the side of the QR code PNGs, in pixels.
const qrSize = 320

// provisionRoutes mounts the settings files (no credentials: clients fetch
// them before they log in) and the provisioning API on the HTTPS side.
func (s *adminServer) provisionRoutes(mux *http.ServeMux) {
	a := s.app
	p := a.provisioningState()
	if s.conf != nil {
		// Copied now, before the HTTPS side serves: net/http edits its
		// config (NextProtos) when it starts.
		p.tls = s.conf.Clone()
	}
	p.files.Register(mux)
	s.route(mux, "GET /api/v1/provisioning/status", accounts.RoleAdmin, s.provisionStatus)
	s.route(mux, "GET /api/v1/provisioning/users/{user}", accounts.RoleAdmin, s.provisionUser)
	s.route(mux, "GET /api/v1/provisioning/users/{user}/qr.png", accounts.RoleAdmin, s.provisionQR)
	if s.phone != nil {
		// The user's own settings with its credentials, behind the web
		// phone's login (session cookie or Basic, same bans).
		mux.HandleFunc("GET /phone/api/provisioning", s.phone.Authed(s.provisionSelf))
	}
}

// provisioningState returns the provisioning part, making it on first use.
func (a *App) provisioningState() *provisioning {
	a.provOnce.Do(func() {
		a.prov = &provisioning{files: provision.NewFiles(provision.FilesOptions{
			DataDir: a.cfg.DataDir, Input: a.provisionInput,
			AvayaClientsOnly: a.cfg.Provisioning.AvayaClientsOnly,
			Logger:           a.log.With("component", "provision"),
		})}
	})
	return a.prov
}

// startProvisioning opens provisioning.listen and provisioning.http_listen
// (after the HTTPS side, whose certificate they share).
func (a *App) startProvisioning() error {
	pc := a.cfg.Provisioning
	if pc.Listen == "" && pc.HTTPListen == "" {
		return nil
	}
	p := a.provisioningState()
	mux := http.NewServeMux()
	p.files.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	newServer := func() *http.Server {
		// Each server gets its own copy: net/http adds h2 to NextProtos.
		return &http.Server{Handler: mux, TLSConfig: p.tls.Clone(), ReadHeaderTimeout: httpReadHeaderTimeout,
			IdleTimeout: httpIdleTimeout, MaxHeaderBytes: httpMaxHeaderBytes,
			WriteTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	open := func(addr string, useTLS bool) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen provisioning %s: %w", addr, err)
		}
		srv := newServer()
		p.servers = append(p.servers, srv)
		go func() {
			var err error
			if useTLS {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("provisioning listener failed", "addr", ln.Addr().String(), "error", err)
			}
		}()
		a.log.Info("provisioning listening", "addr", ln.Addr().String(), "tls", useTLS)
		return ln, nil
	}
	var err error
	if pc.Listen != "" {
		if p.httpsLn, err = open(pc.Listen, true); err != nil {
			return err
		}
	}
	if pc.HTTPListen != "" {
		if p.plainLn, err = open(pc.HTTPListen, false); err != nil {
			p.closeLocked()
			return err
		}
	}
	return nil
}

// stopProvisioning closes the provisioning listeners.
func (a *App) stopProvisioning() {
	if a.prov == nil {
		return
	}
	a.prov.mu.Lock()
	defer a.prov.mu.Unlock()
	a.prov.closeLocked()
}

func (p *provisioning) closeLocked() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range p.servers {
		_ = s.Shutdown(ctx)
	}
	p.servers = nil
}

// ProvisioningAddrs returns the bound addresses of provisioning.listen
// and provisioning.http_listen ("" when not configured).
func (a *App) ProvisioningAddrs() (https, plain string) {
	if a.prov == nil {
		return "", ""
	}
	a.prov.mu.Lock()
	defer a.prov.mu.Unlock()
	if a.prov.httpsLn != nil {
		https = a.prov.httpsLn.Addr().String()
	}
	if a.prov.plainLn != nil {
		plain = a.prov.plainLn.Addr().String()
	}
	return https, plain
}

// boundPort returns the port of a bound address, 0 if none.
func boundPort(addr string) int {
	_, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(ps)
	return p
}

// settingsURL is where clients fetch 46xxsettings.txt over HTTPS: the
// provisioning listener, else the HTTPS side.
func (a *App) settingsURL() string {
	httpsAddr, _ := a.ProvisioningAddrs()
	port := boundPort(httpsAddr)
	if port == 0 {
		port = boundPort(a.AdminAddr())
	}
	if port == 0 {
		return ""
	}
	return "https://" + net.JoinHostPort(a.cfg.ProvisioningHost(), strconv.Itoa(port)) + "/" + provision.SettingsFile
}

// provisionInput is what 46xxsettings.txt is generated from now.
func (a *App) provisionInput() provision.Input {
	c := a.cfg
	host := c.ProvisioningHost()
	in := provision.Input{
		Version: c.SIP.ServerName, Host: host, SettingsURL: a.settingsURL(),
		CheckIntervalDays: c.Provisioning.SettingsCheckInterval,
	}
	if ds := c.Domains(); len(ds) > 0 {
		in.Domain = ds[0]
	}
	_, plain := a.ProvisioningAddrs()
	in.HTTPPort = boundPort(plain)
	var tcp []provision.Controller
	for _, l := range a.sipListeners(host) {
		switch l.Transport {
		case "tls":
			in.Controllers = append(in.Controllers, provision.Controller{Host: host, Port: l.Port, Transport: "tls"})
		case "tcp":
			tcp = append(tcp, provision.Controller{Host: host, Port: l.Port, Transport: "tcp"})
		}
	}
	in.Controllers = append(in.Controllers, tcp...)
	in.STUN, in.TURN = a.iceForFiles(host)
	var matches []string
	for _, t := range c.Trunks {
		matches = append(matches, t.Match...)
	}
	in.DialPlan = provision.DialPlan(a.users.Extensions(), matches)
	return in
}

// sipListeners are the bound SIP listeners as clients reach them at host.
func (a *App) sipListeners(host string) []provision.Listener {
	var out []provision.Listener
	if a.sip == nil {
		return nil
	}
	for _, b := range a.sip.Bound() {
		port := int(b.AddrPort.Port())
		if port == 0 {
			port = boundPort(b.Addr)
		}
		out = append(out, provision.Listener{Transport: b.Scheme, Host: host, Port: port, Path: b.Path})
	}
	return out
}

// iceForFiles returns the STUN (UDP) and TURN listeners of the gateway's
// STUN/TURN server, without credentials.
func (a *App) iceForFiles(host string) (stun, turnSrv []provision.ICEServer) {
	if a.turn == nil {
		return nil, nil
	}
	if a.cfg.TURN.PublicHost != "" {
		host = a.cfg.TURN.PublicHost
	}
	for _, b := range a.turn.Bound() {
		if b.Addr == nil {
			continue
		}
		port := boundPort(b.Addr.String())
		if b.Scheme == "udp" {
			stun = append(stun, provision.ICEServer{Host: host, Port: port, Transport: "udp"})
		}
		turnSrv = append(turnSrv, provision.ICEServer{Host: host, Port: port, Transport: b.Scheme})
	}
	return stun, turnSrv
}

// accountFor builds the provisioning document of a user (nil when the
// user does not exist); withSecrets adds its HA1 values and fresh TURN
// credentials (for the user itself only).
func (a *App) accountFor(username string, withSecrets bool) (*provision.Account, bool) {
	u, ok := a.users.User(username)
	if !ok {
		return nil, false
	}
	host := a.cfg.ProvisioningHost()
	in := provision.AccountInput{
		Username: u.Username, DisplayName: u.DisplayName, Extension: u.Extension,
		Realm: a.cfg.Realm(), Host: host, Listeners: a.sipListeners(host), SettingsURL: a.settingsURL(),
		WebPhoneBase: "https://" + net.JoinHostPort(host, strconv.Itoa(boundPort(a.AdminAddr()))) + "/phone",
	}
	if ds := a.cfg.Domains(); len(ds) > 0 {
		in.Domain = ds[0]
	}
	in.STUN, _ = a.iceForFiles(host)
	acct := provision.BuildAccount(in)
	if withSecrets {
		acct.Credentials = &provision.Credentials{AuthUsername: u.Username, Realm: u.Realm, HA1MD5: u.HA1MD5, HA1SHA256: u.HA1SHA256}
		if a.turn != nil {
			for _, s := range a.turn.ICEServers(u.Username, time.Now()) {
				acct.ICEServers = append(acct.ICEServers, provision.ICECredentials{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
			}
		}
	}
	return &acct, true
}

// provisionStatusView is the answer of GET /api/v1/provisioning/status.
type provisionStatusView struct {
	Specials    provision.Status `json:"specials"`
	SettingsURL string           `json:"settings_url,omitempty"`
	HTTPS       string           `json:"https_listen,omitempty"`
	HTTP        string           `json:"http_listen,omitempty"`
}

func (s *adminServer) provisionStatus(w http.ResponseWriter, _ *http.Request) {
	a := s.app
	httpsAddr, plain := a.ProvisioningAddrs()
	writeJSON(w, provisionStatusView{Specials: a.provisioningState().files.Status(), SettingsURL: a.settingsURL(), HTTPS: httpsAddr, HTTP: plain})
}

func (s *adminServer) provisionUser(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.app.accountFor(r.PathValue("user"), false)
	if !ok {
		problem(w, http.StatusNotFound, "no such user", "there is no user "+strconvQuote(r.PathValue("user")))
		return
	}
	writeJSON(w, acct)
}

func (s *adminServer) provisionQR(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.app.accountFor(r.PathValue("user"), false)
	if !ok {
		problem(w, http.StatusNotFound, "no such user", "there is no user "+strconvQuote(r.PathValue("user")))
		return
	}
	png, err := provision.QRPNG(acct.WebPhoneURL, qrSize)
	if err != nil {
		problem(w, http.StatusInternalServerError, "qr code", err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

func (s *adminServer) provisionSelf(w http.ResponseWriter, _ *http.Request, acct webphone.Account) {
	out, ok := s.app.accountFor(acct.Username, true)
	if !ok {
		problem(w, http.StatusNotFound, "no such user", "the user was deleted")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, out)
}

// strconvQuote quotes a user-supplied name for a message, cut to 64 bytes.
func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}
