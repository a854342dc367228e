package app

import (
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/webphone"
)

// webphoneRoutes mounts the web phone (/phone and /phone/api/) on the
// HTTPS side. Its API authenticates SIP users itself (session cookie or
// Basic), so it is not behind http.api_allow; its login failures count in
// the same guard as SIP digest failures.
func (s *adminServer) webphoneRoutes(mux *http.ServeMux) error {
	a := s.app
	domain := ""
	if ds := a.cfg.Domains(); len(ds) > 0 {
		domain = ds[0]
	}
	h, err := webphone.New(webphone.Options{
		Realm:  a.cfg.Realm(),
		Domain: domain,
		Accounts: func(username string) (webphone.Account, bool) {
			p := a.users.users.Load()
			if p == nil {
				return webphone.Account{}, false
			}
			u, ok := (*p)[username]
			if !ok {
				return webphone.Account{}, false
			}
			return webphone.Account{Username: u.Username, DisplayName: u.DisplayName, Extension: u.Extension, HA1MD5: u.HA1MD5}, true
		},
		History: a.store,
		Listeners: func() []webphone.Listener {
			var out []webphone.Listener
			for _, b := range a.sip.Bound() {
				if b.Scheme == "wss" {
					out = append(out, webphone.Listener{Scheme: b.Scheme, Addr: b.Addr, Path: b.Path})
				}
			}
			return out
		},
		// TURN REST credentials for the browser (media/turn), none when
		// the STUN/TURN server is off.
		ICEServers: func(user string) []webphone.ICEServer {
			if a.turn == nil {
				return nil
			}
			var out []webphone.ICEServer
			for _, s := range a.turn.ICEServers(user, time.Now()) {
				out = append(out, webphone.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
			}
			return out
		},
		Guard:  a.guard,
		Logger: a.log.With("component", "webphone"),
	})
	if err != nil {
		return err
	}
	h.Register(mux)
	s.phone = h
	return nil
}

// webphoneMetrics registers the web phone's login counters.
func (s *adminServer) webphoneMetrics(counter, gauge func(name, help string, f func() float64)) {
	h := s.phone
	if h == nil {
		return
	}
	counter("webphone_logins_total", "Web phone logins and Basic credentials accepted.", func() float64 { return float64(h.Stats().LoginsOK) })
	counter("webphone_login_failures_total", "Web phone logins with a wrong username or password.", func() float64 { return float64(h.Stats().LoginsFailed) })
	counter("webphone_login_refused_total", "Web phone logins refused: the source failed too often or is banned.", func() float64 { return float64(h.Stats().Limited) })
	gauge("webphone_sessions", "Web phone login sessions kept.", func() float64 { return float64(h.Stats().Sessions) })
}
