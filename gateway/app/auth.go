package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
)

// sessionCookie is the name of the browser session cookie.
const sessionCookie = "sb_session"

// ensureFirstRunAdmin makes the accounts service and, when the account
// store is empty, the first-run admin (issue 15): a random password
// printed once and written to data_dir/admin.password (0600), or the
// password of that file when it exists (restored data). It returns the
// password in that file, "" once the admin has changed it.
func (a *App) ensureFirstRunAdmin() (string, error) {
	svc, err := newAccounts(a.cfg, a.store)
	if err != nil {
		return "", err
	}
	a.acct = svc
	a.ops = newOperators(a.cfg, a.log.With("component", "operators"))
	a.restoreOperatorStates() // operators_state.go
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fr, err := svc.EnsureFirstRun(ctx, a.cfg.DataDir)
	if err != nil {
		return "", err
	}
	switch {
	case fr.Created && fr.FromFile:
		a.log.Warn("account store was empty: admin account recreated with the password in "+fr.Path,
			"account", accounts.FirstRunAccount)
	case fr.Created:
		fmt.Fprintf(os.Stderr, "\nFirst start: admin account %q created with password %s\n"+
			"(also in %s, mode 0600, until the password is changed)\nAdmin UI: %s\n\n",
			accounts.FirstRunAccount, fr.Password, fr.Path, adminURL(a.cfg.HTTP.Listen))
	}
	return fr.Password, nil
}

// adminURL is the admin UI's URL for an http.listen address: this host's
// name when the listener is on every interface.
func adminURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "https://" + listen + "/admin"
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		} else {
			host = "localhost"
		}
	}
	return "https://" + net.JoinHostPort(host, port) + "/admin"
}

// sessionKey carries the session id of a cookie-authenticated request.
type sessionKey struct{}

// sessionOf returns the session id a request was authenticated with.
func sessionOf(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(sessionKey{}).(string)
	return id, ok
}

// sourceOf is the client's address without port.
func sourceOf(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return r.RemoteAddr
}

// require wraps h so that only an authenticated caller whose role allows
// need reaches it; h finds the caller with accounts.PrincipalFrom.
//
// The caller proves who it is with, in this order: an Authorization
// header (Bearer API token, or HTTP Basic for scripts), or the session
// cookie of a browser login. Without credentials, or with expired or
// revoked ones: 401. Cookie requests with an unsafe method also need the
// session's CSRF token in X-CSRF-Token and, when the browser sends them,
// a same-origin Origin and Sec-Fetch-Site: else 403. A role that does not
// allow need: 403. Sources outside http.api_allow: 403 whatever they send.
func (s *adminServer) require(need accounts.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sourceAllowed(w, r) {
			return
		}
		p, r, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !p.Role.Allows(need) {
			problem(w, http.StatusForbidden, "forbidden", "this needs the "+string(need)+" role")
			return
		}
		h(w, r.WithContext(accounts.WithPrincipal(r.Context(), p)))
	}
}

// sourceAllowed applies http.api_allow.
func (s *adminServer) sourceAllowed(w http.ResponseWriter, r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.apiAllowed(ap.Addr().Unmap()) {
		problem(w, http.StatusForbidden, "forbidden", "the API answers the sources of http.api_allow only")
		return false
	}
	return true
}

// authenticate finds the caller of r, or answers the request and
// returns false. For a session, the returned request's context carries
// the session id (see sessionOf).
func (s *adminServer) authenticate(w http.ResponseWriter, r *http.Request) (accounts.Principal, *http.Request, bool) {
	svc := s.app.acct
	cred, ok := accounts.ParseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		unauthorized(w, "", "the Authorization header is malformed or of an unknown scheme: use Basic or Bearer")
		return accounts.Principal{}, r, false
	}
	switch cred.Scheme {
	case "bearer":
		p, err := svc.TokenPrincipal(r.Context(), cred.Token)
		if err != nil {
			if !errors.Is(err, accounts.ErrBadCredentials) {
				problem(w, http.StatusInternalServerError, "internal error", "checking the token failed")
				return p, r, false
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard", error="invalid_token"`) // RFC 6750 §3
			problem(w, http.StatusUnauthorized, "unauthorized", "the API token is unknown, expired or revoked")
			return p, r, false
		}
		return p, r, true
	case "basic":
		p, err := svc.Authenticate(r.Context(), cred.User, cred.Password, sourceOf(r))
		if err != nil {
			loginFailed(w, err, true)
			return p, r, false
		}
		return p, r, true
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		via := ""
		if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
			via = "script" // a page's fetch (the console): no Basic dialog over the page's login form
		}
		unauthorized(w, via, "log in: POST /api/v1/session, an API token (Bearer), or HTTP Basic")
		return accounts.Principal{}, r, false
	}
	p, _, err := svc.SessionPrincipal(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, accounts.ErrSessionExpired) {
			problem(w, http.StatusInternalServerError, "internal error", "checking the session failed")
			return p, r, false
		}
		clearSessionCookie(w)
		unauthorized(w, "session", "the session has expired or was ended: log in again")
		return p, r, false
	}
	if unsafeMethod(r.Method) {
		if !sameOrigin(r) {
			problem(w, http.StatusForbidden, "cross-site request", "Origin or Sec-Fetch-Site names another site")
			return p, r, false
		}
		if !accounts.CheckCSRF(c.Value, r.Header.Get("X-CSRF-Token")) {
			problem(w, http.StatusForbidden, "CSRF token missing or wrong",
				"send the csrf_token of the session (POST or GET /api/v1/session) in X-CSRF-Token")
			return p, r, false
		}
	}
	return p, r.WithContext(context.WithValue(r.Context(), sessionKey{}, c.Value)), true
}

// unauthorized answers 401 with a challenge (RFC 9110 §11.6.1). A browser
// session gets only the Bearer challenge: a Basic one would make the
// browser pop up its own login dialog over the console's.
func unauthorized(w http.ResponseWriter, via, detail string) {
	if via != "session" && via != "script" {
		w.Header().Add("WWW-Authenticate", `Basic realm="switchboard", charset="UTF-8"`)
	}
	w.Header().Add("WWW-Authenticate", `Bearer realm="switchboard"`)
	title := "unauthorized"
	if via == "session" {
		title = "session expired"
	}
	problem(w, http.StatusUnauthorized, title, detail)
}

// loginFailed answers a failed password check: 429 with Retry-After when
// the source or account is rate-limited, else 401.
func loginFailed(w http.ResponseWriter, err error, challenge bool) {
	var le *accounts.LimitedError
	switch {
	case errors.As(err, &le):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(le.RetryAfter.Seconds()))))
		problem(w, http.StatusTooManyRequests, "too many failed logins",
			"too many failed logins from this address or for this account: try again after Retry-After seconds")
	case errors.Is(err, accounts.ErrBadCredentials):
		if challenge {
			unauthorized(w, "", "wrong account name or password")
		} else {
			problem(w, http.StatusUnauthorized, "unauthorized", "wrong account name or password")
		}
	default:
		problem(w, http.StatusInternalServerError, "internal error", "checking the password failed")
	}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// sameOrigin checks the browser's own statements about where a request
// comes from, when it makes them: Sec-Fetch-Site (same-origin or none)
// and Origin (this host, https).
func sameOrigin(r *http.Request) bool {
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Scheme == "https" && strings.EqualFold(u.Host, r.Host)
}

func setSessionCookie(w http.ResponseWriter, se accounts.Session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: se.ID, Path: "/", Expires: se.Expires,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// route registers h for pattern behind require(need) and records the
// pattern, so that a test can hold the OpenAPI document to the handlers.
// Every /api/ route is registered this way, or with public.
func (s *adminServer) route(mux *http.ServeMux, pattern string, need accounts.Role, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	mux.HandleFunc(pattern, s.require(need, h))
}

// public registers an /api/ route that needs no account (the login) and
// records its pattern like route. It still answers only http.api_allow.
func (s *adminServer) public(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if s.sourceAllowed(w, r) {
			h(w, r)
		}
	})
}
