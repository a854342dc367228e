package app

import (
	"context"
	"net/http"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
)

// configPage is the answer of GET /api/v1/config.
type configPage struct {
	// Config is the config in force, keyed as in the file, secrets masked.
	Config map[string]any `json:"config"`
	// File is the config file a reload reads ("" when the gateway runs on
	// its built-in defaults).
	File string `json:"file"`
	// Started is when the gateway started.
	Started string `json:"started"`
	// LastReload is the last reload's result; absent before the first.
	LastReload *ReloadResult `json:"last_reload,omitempty"`
}

// configRoutes adds GET /api/v1/config and POST /api/v1/reload (admin).
func (s *adminServer) configRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/config", accounts.RoleAdmin, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, configPage{Config: configView(s.app.Config(), true), File: s.app.cfgPath,
			Started: s.app.started.UTC().Format("2006-01-02T15:04:05Z"), LastReload: s.app.LastReload()})
	})
	s.route(mux, "POST /api/v1/reload", accounts.RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		// A client that goes away must not leave a reload half done.
		res := s.app.ReloadAs(context.WithoutCancel(r.Context()), "api")
		if !res.OK && len(res.Applied) == 0 {
			problem(w, http.StatusUnprocessableEntity, "reload refused: the running config is kept", res.Error)
			return
		}
		writeJSON(w, res) // a commit that failed: ok false, error set
	})
}
