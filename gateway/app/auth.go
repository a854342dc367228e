package app

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
)

// ensureFirstRunAdmin creates the first-run admin credentials when data_dir
// has none yet: a random password, written to data_dir/admin.password
// (0600) and printed once. It returns the password in force.
//
// PLACEHOLDER until the account store lands (issue 14/15): the admin is
// this one password, checked by require; there are no other accounts,
// sessions or tokens yet.
func (a *App) ensureFirstRunAdmin() (string, error) {
	path := filepath.Join(a.cfg.DataDir, accounts.FirstRunFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 18)
	_, _ = rand.Read(raw)
	pw := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(os.Stderr, "\nFirst start: admin account %q created with password %s\n(also in %s, mode 0600)\n\n",
		accounts.FirstRunAccount, pw, path)
	return pw, nil
}

// require wraps h so that only an authenticated caller whose role allows
// need reaches it; h finds the caller with accounts.PrincipalFrom.
//
// PLACEHOLDER until the account store lands: the source must be in
// http.api_allow and the request must carry HTTP Basic credentials of the
// first-run admin (account "admin", the password in data_dir/admin.password).
func (s *adminServer) require(need accounts.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !s.apiAllowed(ap.Addr().Unmap()) {
			problem(w, http.StatusForbidden, "forbidden", "the API answers the sources of http.api_allow only")
			return
		}
		user, pw, ok := r.BasicAuth()
		if !ok || user != accounts.FirstRunAccount ||
			subtle.ConstantTimeCompare([]byte(pw), []byte(s.adminPassword)) != 1 || s.adminPassword == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="switchboard", charset="UTF-8"`)
			problem(w, http.StatusUnauthorized, "unauthorized", "log in: HTTP Basic with an account and its password")
			return
		}
		p := accounts.Principal{Account: user, Role: accounts.RoleAdmin, Via: "basic"}
		if !p.Role.Allows(need) {
			problem(w, http.StatusForbidden, "forbidden", "this needs the "+string(need)+" role")
			return
		}
		h(w, r.WithContext(accounts.WithPrincipal(r.Context(), p)))
	}
}

// route registers h for pattern behind require(need) and records the
// pattern, so that a test can hold the OpenAPI document to the handlers.
// Every /api/ route is registered this way.
func (s *adminServer) route(mux *http.ServeMux, pattern string, need accounts.Role, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	mux.HandleFunc(pattern, s.require(need, h))
}
