package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// pauseReasonsFile is the default operators.pause_reasons_file in data_dir.
const pauseReasonsFile = "pause_reasons.txt"

// Background intervals of the accounts side.
const (
	sessionSweepEvery = time.Minute
	reasonsPollEvery  = 2 * time.Second
)

// NewAccounts returns the accounts service over st as cfg configures it
// (used by serve and by "switchboard accounts").
func NewAccounts(cfg *config.Config, st store.AccountStore) (*accounts.Service, error) {
	return newAccounts(cfg, st)
}

func newAccounts(cfg *config.Config, st store.AccountStore) (*accounts.Service, error) {
	failures := cfg.Accounts.LoginFailures
	if failures == 0 {
		failures = -1 // 0 in the config turns the limit off
	}
	return accounts.New(accounts.Options{
		Store:         st,
		SessionIdle:   cfg.Accounts.SessionIdle.D(),
		SessionMax:    cfg.Accounts.SessionMax.D(),
		LoginFailures: failures,
		LoginWindow:   cfg.Accounts.LoginWindow.D(),
		FirstRunFile:  accountsFirstRunPath(cfg),
	})
}

func accountsFirstRunPath(cfg *config.Config) string {
	if cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(cfg.DataDir, accounts.FirstRunFile)
}

func newOperators(cfg *config.Config, log *slog.Logger) *accounts.Operators {
	path := cfg.Operators.PauseReasonsFile
	if path == "" && cfg.DataDir != "" {
		path = filepath.Join(cfg.DataDir, pauseReasonsFile)
	}
	return accounts.NewOperators(accounts.OperatorOptions{
		ReasonsFile: path,
		Mode:        accounts.PauseMode(cfg.Operators.PauseReasons),
		Panic:       accounts.Panic{Enabled: cfg.Operators.Panic.Enabled, Number: cfg.Operators.Panic.Number},
		Logger:      log,
	})
}

// startAccounts runs the session sweeper and the pause reasons watcher
// until ctx ends.
func (a *App) startAccounts(ctx context.Context, wg *sync.WaitGroup) {
	if a.acct != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.acct.Run(ctx, sessionSweepEvery) }()
	}
	if a.ops != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.ops.Watch(ctx, reasonsPollEvery) }()
	}
}

// PanicCall returns the call the panic button of account places (from the
// operator's device to operators.panic.number); the call-control side
// places it. Errors: accounts.ErrPanicOff, accounts.ErrNoDevice,
// accounts.ErrNotFound.
func (a *App) PanicCall(ctx context.Context, account string) (accounts.PanicCall, error) {
	if a.acct == nil || a.ops == nil {
		return accounts.PanicCall{}, accounts.ErrPanicOff
	}
	acc, err := a.acct.Get(ctx, account)
	if err != nil {
		return accounts.PanicCall{}, err
	}
	return a.ops.PanicCallFor(acc)
}

// accountMetrics registers the login counters.
func (s *adminServer) accountMetrics(counter func(name, help string, f func() float64)) {
	svc := s.app.acct
	if svc == nil {
		return
	}
	counter("http_logins_total", "Password checks of HTTPS accounts accepted (session logins, Basic).", func() float64 { return float64(svc.Stats().OK) })
	counter("http_login_failures_total", "Password checks of HTTPS accounts with a wrong name or password.", func() float64 { return float64(svc.Stats().Failed) })
	counter("http_login_limited_total", "HTTPS logins refused with 429 (too many failures from the source or for the account).", func() float64 { return float64(svc.Stats().Limited) })
}

// accountRoutes mounts the session, accounts, tokens and operators API.
func (s *adminServer) accountRoutes(mux *http.ServeMux) {
	s.public(mux, "POST /api/v1/session", s.login)
	s.route(mux, "GET /api/v1/session", accounts.RoleOperator, s.whoami)
	s.route(mux, "DELETE /api/v1/session", accounts.RoleOperator, s.logout)

	s.route(mux, "GET /api/v1/accounts", accounts.RoleSupervisor, s.listAccounts)
	s.route(mux, "POST /api/v1/accounts", accounts.RoleAdmin, s.createAccount)
	s.route(mux, "GET /api/v1/accounts/{name}", accounts.RoleOperator, s.getAccount)
	s.route(mux, "PATCH /api/v1/accounts/{name}", accounts.RoleAdmin, s.patchAccount)
	s.route(mux, "DELETE /api/v1/accounts/{name}", accounts.RoleAdmin, s.deleteAccount)
	s.route(mux, "PUT /api/v1/accounts/{name}/password", accounts.RoleOperator, s.setPassword)

	s.route(mux, "GET /api/v1/tokens", accounts.RoleOperator, s.listTokens)
	s.route(mux, "POST /api/v1/tokens", accounts.RoleOperator, s.createToken)
	s.route(mux, "GET /api/v1/tokens/{id}", accounts.RoleOperator, s.getToken)
	s.route(mux, "DELETE /api/v1/tokens/{id}", accounts.RoleOperator, s.deleteToken)

	s.operatorRoutes(mux) // accounts_operators.go
}

// maxJSONBody is the largest request body the accounts API reads.
const maxJSONBody = 16 << 10

// decodeJSON reads one JSON object from r's body into v: application/json
// only (415), at most maxJSONBody bytes (413), no unknown fields and
// nothing after the object (400). It answers the request when it fails.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "unsupported media type", "send the body as application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, http.StatusRequestEntityTooLarge, "body too large", fmt.Sprintf("at most %d bytes", maxJSONBody))
			return false
		}
		problem(w, http.StatusBadRequest, "invalid JSON", err.Error())
		return false
	}
	return true
}

// accountsError maps the accounts package's errors to problems.
func accountsError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		problem(w, http.StatusNotFound, "not found", err.Error())
	case errors.Is(err, accounts.ErrExists):
		problem(w, http.StatusConflict, "already exists", err.Error())
	case errors.Is(err, accounts.ErrInvalid):
		problem(w, http.StatusBadRequest, "invalid value", err.Error())
	case errors.Is(err, accounts.ErrLastAdmin):
		problem(w, http.StatusConflict, "last admin", err.Error())
	case errors.Is(err, accounts.ErrRoleTooHigh), errors.Is(err, accounts.ErrForbidden):
		problem(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, accounts.ErrReasonRequired), errors.Is(err, accounts.ErrUnknownReason),
		errors.Is(err, accounts.ErrReasonsOff):
		problem(w, http.StatusUnprocessableEntity, "pause reason", err.Error())
	default:
		problem(w, http.StatusInternalServerError, "internal error", "the accounts store failed; see the gateway log")
	}
}

type loginRequest struct {
	Account  string `json:"account"`
	Password string `json:"password"`
}

// sessionView is what POST and GET /api/v1/session answer.
type sessionView struct {
	Account     string        `json:"account"`
	Role        accounts.Role `json:"role"`
	Groups      []string      `json:"groups"`
	Via         string        `json:"via"`
	CSRFToken   string        `json:"csrf_token,omitempty"`
	IdleExpires *time.Time    `json:"idle_expires,omitempty"`
	Expires     *time.Time    `json:"expires,omitempty"`
}

func newSessionView(p accounts.Principal, se *accounts.Session) sessionView {
	v := sessionView{Account: p.Account, Role: p.Role, Groups: p.Groups, Via: p.Via}
	if v.Groups == nil {
		v.Groups = []string{}
	}
	if se != nil {
		v.CSRFToken = se.CSRF
		v.IdleExpires, v.Expires = &se.IdleExpires, &se.Expires
	}
	return v
}

func (s *adminServer) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		problem(w, http.StatusForbidden, "cross-site request", "Origin or Sec-Fetch-Site names another site")
		return
	}
	var req loginRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Account == "" || req.Password == "" {
		problem(w, http.StatusBadRequest, "invalid value", "account and password are required")
		return
	}
	se, p, err := s.app.acct.Login(r.Context(), req.Account, req.Password, sourceOf(r))
	if err != nil {
		loginFailed(w, err, false)
		return
	}
	s.app.log.Info("login", "account", p.Account, "source", sourceOf(r))
	s.operatorChanged(r.Context(), p.Account, p.Account) // operators_state.go: offline → state
	setSessionCookie(w, se)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, newSessionView(p, &se))
}

func (s *adminServer) whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	var se *accounts.Session
	if id, ok := sessionOf(r.Context()); ok {
		if _, cur, err := s.app.acct.SessionPrincipal(r.Context(), id); err == nil {
			se = &cur
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, newSessionView(p, se))
}

func (s *adminServer) logout(w http.ResponseWriter, r *http.Request) {
	id, ok := sessionOf(r.Context())
	if !ok {
		problem(w, http.StatusBadRequest, "not a session", "only a browser session (cookie) can log out; revoke API tokens with DELETE /api/v1/tokens/{id}")
		return
	}
	if err := s.app.acct.Logout(r.Context(), id); err != nil && !errors.Is(err, accounts.ErrSessionExpired) {
		accountsError(w, err)
		return
	}
	if p, ok := accounts.PrincipalFrom(r.Context()); ok {
		s.operatorChanged(r.Context(), p.Account, p.Account) // operators_state.go: offline when no session is left
	}
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminServer) listAccounts(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	as, err := s.app.acct.List(r.Context())
	if err != nil {
		accountsError(w, err)
		return
	}
	out := make([]accounts.Account, 0, len(as))
	for _, a := range as {
		if mayRead(p, a) {
			out = append(out, a)
		}
	}
	writeJSON(w, out)
}

// mayRead: admins read every account, supervisors operators and
// themselves, operators themselves.
func mayRead(p accounts.Principal, a accounts.Account) bool {
	return p.Role.Allows(accounts.RoleAdmin) || a.Name == p.Account ||
		(p.Role.Allows(accounts.RoleSupervisor) && a.Role == accounts.RoleOperator)
}

type accountRequest struct {
	Name        string        `json:"name"`
	DisplayName string        `json:"display_name"`
	Role        accounts.Role `json:"role"`
	Groups      []string      `json:"groups"`
	Device      string        `json:"device"`
	Password    string        `json:"password"`
}

func (s *adminServer) createAccount(w http.ResponseWriter, r *http.Request) {
	var req accountRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	a, err := s.app.acct.Create(r.Context(), accounts.NewAccount(req))
	if err != nil {
		accountsError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/accounts/"+a.Name)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(a)
}

func (s *adminServer) getAccount(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	a, err := s.app.acct.Get(r.Context(), r.PathValue("name"))
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		accountsError(w, err)
		return
	}
	if err != nil || !mayRead(p, a) {
		// The same answer whether it exists or not, for whom may not see it.
		if p.Role.Allows(accounts.RoleAdmin) {
			accountsError(w, err)
			return
		}
		problem(w, http.StatusForbidden, "forbidden", "you may read your own account (supervisors: operators' accounts)")
		return
	}
	writeJSON(w, a)
}

type accountPatch struct {
	DisplayName *string        `json:"display_name"`
	Role        *accounts.Role `json:"role"`
	Groups      *[]string      `json:"groups"`
	Device      *string        `json:"device"`
	Disabled    *bool          `json:"disabled"`
}

func (s *adminServer) patchAccount(w http.ResponseWriter, r *http.Request) {
	var req accountPatch
	if !decodeJSON(w, r, &req) {
		return
	}
	a, err := s.app.acct.Update(r.Context(), r.PathValue("name"), accounts.Patch(req))
	if err != nil {
		accountsError(w, err)
		return
	}
	writeJSON(w, a)
}

func (s *adminServer) deleteAccount(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.app.acct.Delete(r.Context(), name); err != nil {
		accountsError(w, err)
		return
	}
	s.app.ops.Forget(name)
	w.WriteHeader(http.StatusNoContent)
}

type passwordRequest struct {
	OldPassword string `json:"old_password"`
	Password    string `json:"password"`
}

// setPassword: anyone may change their own password with the old one; an
// admin may set another account's without it. Every session of the
// account ends.
func (s *adminServer) setPassword(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	name := r.PathValue("name")
	self := name == p.Account
	if !self && !p.Role.Allows(accounts.RoleAdmin) {
		problem(w, http.StatusForbidden, "forbidden", "you may change your own password only")
		return
	}
	var req passwordRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	var err error
	if self {
		if p.Via == "token" {
			problem(w, http.StatusForbidden, "forbidden", "an API token cannot change its owner's password")
			return
		}
		err = s.app.acct.ChangeOwnPassword(r.Context(), name, req.OldPassword, req.Password, sourceOf(r))
	} else {
		err = s.app.acct.SetPassword(r.Context(), name, req.Password)
	}
	var le *accounts.LimitedError
	switch {
	case errors.As(err, &le), errors.Is(err, accounts.ErrBadCredentials):
		if errors.Is(err, accounts.ErrBadCredentials) {
			problem(w, http.StatusForbidden, "wrong password", "old_password is not the account's password")
			return
		}
		loginFailed(w, err, false)
		return
	case err != nil:
		accountsError(w, err)
		return
	}
	if self && p.Via == "session" {
		clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

type tokenRequest struct {
	Name    string        `json:"name"`
	Role    accounts.Role `json:"role"`
	Expires *time.Time    `json:"expires"`
}

// tokenCreated is POST /api/v1/tokens' answer: value is shown only here.
type tokenCreated struct {
	accounts.Token
	Value string `json:"value"`
}

func (s *adminServer) listTokens(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	ts, err := s.app.acct.Tokens(r.Context(), p)
	if err != nil {
		accountsError(w, err)
		return
	}
	writeJSON(w, ts)
}

func (s *adminServer) createToken(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	var req tokenRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	var exp time.Time
	if req.Expires != nil {
		exp = *req.Expires
	}
	t, value, err := s.app.acct.IssueToken(r.Context(), p, req.Name, req.Role, exp)
	if err != nil {
		accountsError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+t.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(tokenCreated{Token: t, Value: value})
}

func (s *adminServer) getToken(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	ts, err := s.app.acct.Tokens(r.Context(), p)
	if err != nil {
		accountsError(w, err)
		return
	}
	for _, t := range ts {
		if t.ID == r.PathValue("id") {
			writeJSON(w, t)
			return
		}
	}
	problem(w, http.StatusNotFound, "not found", "no such token")
}

func (s *adminServer) deleteToken(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	if err := s.app.acct.RevokeToken(r.Context(), p, r.PathValue("id")); err != nil {
		accountsError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
