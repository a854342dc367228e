package app

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/gateway/users"
)

// maxUsersCSV bounds an import file (about 50 000 users).
const maxUsersCSV = 4 << 20

// userRoutes mounts the SIP users' API the admin UI manages them with.
// Adding and importing go through gateway/users' import (one CSV row for
// an add), so both check names and fields the same way as the CLI.
func (s *adminServer) userRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/users", accounts.RoleAdmin, s.listUsers)
	s.route(mux, "POST /api/v1/users", accounts.RoleAdmin, s.addUser)
	s.route(mux, "POST /api/v1/users/import", accounts.RoleAdmin, s.importUsers)
	s.route(mux, "PUT /api/v1/users/{name}/password", accounts.RoleAdmin, s.setUserPassword)
	s.route(mux, "DELETE /api/v1/users/{name}", accounts.RoleAdmin, s.deleteUser)
}

// userView is a SIP user as the API shows it: never a digest.
type userView struct {
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name,omitempty"`
	Extension   string    `json:"extension,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// userAdd is the body of POST /api/v1/users.
type userAdd struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
	Extension   string `json:"extension"`
}

// importView is the answer of an import: the failed-user report.
type importView struct {
	Imported int           `json:"imported"`
	Failed   []failureView `json:"failed"`
}

// failureView is one row of the failed-user report.
type failureView struct {
	Row      int    `json:"row"`
	Username string `json:"username"`
	Reason   string `json:"reason"`
}

func (s *adminServer) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.app.store.Users(r.Context())
	if err != nil {
		problem(w, http.StatusInternalServerError, "listing users failed", err.Error())
		return
	}
	q := strings.ToLower(r.URL.Query().Get("q"))
	out := make([]userView, 0, len(us))
	for _, u := range us {
		if q != "" && !strings.Contains(strings.ToLower(u.Username+" "+u.DisplayName+" "+u.Extension), q) {
			continue
		}
		out = append(out, userView{Username: u.Username, DisplayName: u.DisplayName, Extension: u.Extension,
			CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
	}
	writeJSON(w, out)
}

func (s *adminServer) addUser(w http.ResponseWriter, r *http.Request) {
	var in userAdd
	if !decodeJSON(w, r, &in) {
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{users.ColUsername, users.ColPassword, users.ColDisplayName, users.ColExtension})
	_ = cw.Write([]string{in.Username, in.Password, in.DisplayName, in.Extension})
	cw.Flush()
	rep, ok := s.runImport(w, r, &buf)
	if !ok {
		return
	}
	if len(rep.Failed) > 0 {
		status := http.StatusBadRequest
		if strings.HasPrefix(rep.Failed[0].Reason, users.ReasonExists) {
			status = http.StatusConflict
		}
		problem(w, status, "user not added", rep.Failed[0].Reason)
		return
	}
	s.logUserChange(r, "sip user added", in.Username)
	w.Header().Set("Location", "/api/v1/users/"+in.Username)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(userView{Username: in.Username, DisplayName: in.DisplayName, Extension: in.Extension})
}

// importUsers answers POST /api/v1/users/import: a CSV file (header
// username,password[,display_name][,extension]) in the body; the good
// rows are stored, the others come back in the report.
func (s *adminServer) importUsers(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.runImport(w, r, http.MaxBytesReader(w, r.Body, maxUsersCSV))
	if !ok {
		return
	}
	s.logUserChange(r, "sip users imported", "")
	out := importView{Imported: rep.Imported, Failed: make([]failureView, 0, len(rep.Failed))}
	for _, f := range rep.Failed {
		out.Failed = append(out.Failed, failureView{Row: f.Row, Username: f.Username, Reason: f.Reason})
	}
	writeJSON(w, out)
}

// runImport imports a CSV and reloads the users the SIP side sees.
func (s *adminServer) runImport(w http.ResponseWriter, r *http.Request, body io.Reader) (users.Report, bool) {
	rep, err := users.Import(r.Context(), s.app.store, s.app.Config().Realm(), body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		problem(w, http.StatusRequestEntityTooLarge, "file too large", "an import file may hold 4 MiB")
		return rep, false
	case errors.Is(err, users.ErrBadHeader), errors.Is(err, users.ErrBadCSV):
		problem(w, http.StatusBadRequest, "bad csv file", err.Error())
		return rep, false
	case err != nil:
		problem(w, http.StatusInternalServerError, "import failed", err.Error())
		return rep, false
	}
	if rep.Imported > 0 {
		if _, err := s.app.users.Reload(r.Context(), s.app.store); err != nil {
			problem(w, http.StatusInternalServerError, "users stored but not reloaded", err.Error())
			return rep, false
		}
	}
	return rep, true
}

func (s *adminServer) setUserPassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password string `json:"password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.Password == "" {
		problem(w, http.StatusBadRequest, "empty password", "give the new password in password")
		return
	}
	name := r.PathValue("name")
	u, err := s.app.store.User(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		problem(w, http.StatusNotFound, "no such user", name+" is not a SIP user")
		return
	}
	if err != nil {
		problem(w, http.StatusInternalServerError, "reading the user failed", err.Error())
		return
	}
	nu := store.NewUser(u.Username, s.app.Config().Realm(), in.Password, u.DisplayName, u.Extension)
	if err := s.app.store.PutUsers(r.Context(), []store.User{nu}); err != nil {
		problem(w, http.StatusInternalServerError, "storing the password failed", err.Error())
		return
	}
	if _, err := s.app.users.Reload(r.Context(), s.app.store); err != nil {
		problem(w, http.StatusInternalServerError, "password stored but users not reloaded", err.Error())
		return
	}
	s.logUserChange(r, "sip user password reset", name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminServer) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.app.store.DeleteUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		problem(w, http.StatusNotFound, "no such user", name+" is not a SIP user")
		return
	}
	if err != nil {
		problem(w, http.StatusInternalServerError, "deleting the user failed", err.Error())
		return
	}
	if _, err := s.app.users.Reload(r.Context(), s.app.store); err != nil {
		problem(w, http.StatusInternalServerError, "user deleted but users not reloaded", err.Error())
		return
	}
	s.logUserChange(r, "sip user deleted", name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminServer) logUserChange(r *http.Request, msg, user string) {
	p, _ := accounts.PrincipalFrom(r.Context())
	s.app.log.Info(msg, "user", user, "by", p.Account)
}
