package app

import (
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
)

// operatorState "offline": an operator without a live browser session.
const stateOffline = "offline"

// operatorView is one operator in GET /api/v1/operators.
type operatorView struct {
	Name        string        `json:"name"`
	DisplayName string        `json:"display_name"`
	Role        accounts.Role `json:"role"`
	Groups      []string      `json:"groups"`
	Device      string        `json:"device"`
	LoggedIn    bool          `json:"logged_in"`
	// State is available, paused or offline (no live session).
	State  string     `json:"state"`
	Reason string     `json:"reason,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
}

// operatorPanel is GET /api/v1/operators/me: the caller as an operator
// and what the console needs to show (pause reasons, panic button).
type operatorPanel struct {
	operatorView
	PauseMode    accounts.PauseMode `json:"pause_mode"`
	PauseReasons []string           `json:"pause_reasons"`
	Panic        accounts.Panic     `json:"panic"`
}

func (s *adminServer) operatorRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/operators", accounts.RoleOperator, s.listOperators)
	s.route(mux, "GET /api/v1/operators/me", accounts.RoleOperator, s.operatorMe)
	s.route(mux, "PUT /api/v1/operators/{name}/state", accounts.RoleOperator, s.setOperatorState)
}

func (s *adminServer) operatorOf(a accounts.Account, live map[string]int) operatorView {
	v := operatorView{Name: a.Name, DisplayName: a.DisplayName, Role: a.Role, Groups: a.Groups, Device: a.Device,
		LoggedIn: live[a.Name] > 0, State: stateOffline}
	st := s.app.ops.State(a.Name)
	if v.LoggedIn {
		v.State, v.Reason = st.State, st.Reason
	}
	if !st.Since.IsZero() {
		v.Since = &st.Since
	}
	return v
}

// listOperators: every enabled operator and supervisor account, with
// whether it is logged in (a live browser session) and its state.
func (s *adminServer) listOperators(w http.ResponseWriter, r *http.Request) {
	as, err := s.app.acct.List(r.Context())
	if err != nil {
		accountsError(w, err)
		return
	}
	live, err := s.app.acct.LoggedIn(r.Context())
	if err != nil {
		accountsError(w, err)
		return
	}
	out := make([]operatorView, 0, len(as))
	for _, a := range as {
		if a.Disabled || a.Role == accounts.RoleAdmin {
			continue
		}
		out = append(out, s.operatorOf(a, live))
	}
	writeJSON(w, out)
}

func (s *adminServer) operatorMe(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	a, err := s.app.acct.Get(r.Context(), p.Account)
	if err != nil {
		accountsError(w, err)
		return
	}
	live, err := s.app.acct.LoggedIn(r.Context())
	if err != nil {
		accountsError(w, err)
		return
	}
	v := s.operatorOf(a, live)
	if p.Via != "session" { // a script or server speaking for the operator
		st := s.app.ops.State(a.Name)
		v.State, v.Reason = st.State, st.Reason
	}
	writeJSON(w, operatorPanel{operatorView: v, PauseMode: s.app.ops.Mode(), PauseReasons: s.app.ops.Reasons(),
		Panic: s.app.ops.PanicButton()})
}

type stateRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// setOperatorState: operators set their own state; supervisors and
// admins anyone's. A pause without a listed reason when reasons are
// mandatory, or with an unknown one, is 422.
func (s *adminServer) setOperatorState(w http.ResponseWriter, r *http.Request) {
	p, _ := accounts.PrincipalFrom(r.Context())
	name := r.PathValue("name")
	if name == "me" {
		name = p.Account
	}
	if name != p.Account && !p.Role.Allows(accounts.RoleSupervisor) {
		problem(w, http.StatusForbidden, "forbidden", "operators set their own state only")
		return
	}
	var req stateRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	a, err := s.app.acct.Get(r.Context(), name)
	if err != nil {
		accountsError(w, err)
		return
	}
	if a.Disabled {
		accountsError(w, accounts.ErrNotFound)
		return
	}
	st, err := s.app.ops.SetState(name, req.State, req.Reason)
	if err != nil {
		accountsError(w, err)
		return
	}
	s.app.saveOperatorState(r.Context(), name, st) // operators_state.go
	s.operatorChanged(r.Context(), name, p.Account)
	live, err := s.app.acct.LoggedIn(r.Context())
	if err != nil {
		accountsError(w, err)
		return
	}
	v := s.operatorOf(a, live)
	st = s.app.ops.State(name)
	v.State, v.Reason = st.State, st.Reason
	writeJSON(w, v)
}
