package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/adminui"
	"github.com/switchboard-gw/switchboard/gateway/cti"
	"github.com/switchboard-gw/switchboard/gateway/registrar"
)

// adminUIRoutes mounts the admin UI (/admin, gateway/adminui) and the
// endpoints it needs that no other part of the API gives: forced
// unregistration, a CTI driver's restart, the last hour's statistics
// (adminui_stats.go), the active calls' media (admin_media.go) and the SIP
// users (adminui_users.go).
func (s *adminServer) adminUIRoutes(mux *http.ServeMux) {
	h, err := adminui.New()
	if err != nil {
		s.app.log.Error("admin UI not served", "error", err)
	} else {
		h.Register(mux)
	}
	s.route(mux, "DELETE /api/v1/registrations/{aor}", accounts.RoleAdmin, s.unregister)
	s.route(mux, "POST /api/v1/cti/drivers/{name}/restart", accounts.RoleAdmin, s.restartDriver)
	s.route(mux, "GET /api/v1/stats/series", accounts.RoleAdmin, s.statsSeries)
	s.route(mux, "GET /api/v1/media/calls", accounts.RoleAdmin, s.mediaCalls) // admin_media.go
	s.userRoutes(mux)
}

// unregister removes an AOR's bindings (all, or the one of ?key=):
// DELETE /api/v1/registrations/{aor}.
func (s *adminServer) unregister(w http.ResponseWriter, r *http.Request) {
	aor := r.PathValue("aor")
	if aor == "" || len(aor) > 512 {
		problem(w, http.StatusBadRequest, "bad address of record", "give the AOR as GET /api/v1/registrations shows it")
		return
	}
	n, err := s.app.reg.Unregister(r.Context(), aor, r.URL.Query().Get("key"))
	switch {
	case errors.Is(err, registrar.ErrNoBinding):
		problem(w, http.StatusNotFound, "not registered", aor+" has no such binding")
		return
	case err != nil:
		problem(w, http.StatusInternalServerError, "unregister failed", err.Error())
		return
	}
	p, _ := accounts.PrincipalFrom(r.Context())
	s.app.log.Info("forced unregistration", "aor", aor, "bindings", n, "by", p.Account)
	writeJSON(w, map[string]any{"aor": aor, "removed": n})
}

// restartDriver restarts one CTI driver's process:
// POST /api/v1/cti/drivers/{name}/restart.
func (s *adminServer) restartDriver(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.app.cti == nil {
		problem(w, http.StatusNotFound, "no such driver", "no CTI driver is configured")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	err := s.app.cti.Restart(ctx, name)
	switch {
	case errors.Is(err, cti.ErrUnknownDriver):
		problem(w, http.StatusNotFound, "no such driver", "no CTI driver is named "+name)
		return
	case err != nil:
		problem(w, http.StatusInternalServerError, "restart failed", err.Error())
		return
	}
	p, _ := accounts.PrincipalFrom(r.Context())
	s.app.log.Info("cti driver restarted", "driver", name, "by", p.Account)
	for _, st := range s.app.cti.Status() {
		if st.Name == name {
			writeJSON(w, st)
			return
		}
	}
	writeJSON(w, map[string]string{"name": name})
}

// healthCounts counts the trunks whose targets are all down (or not
// resolved) against all trunks, and the CTI drivers up against all.
func (s *adminServer) healthCounts() (trunksUp, trunks, driversUp, drivers int) {
	for _, t := range s.app.dns.Snapshot() {
		trunks++
		for _, tg := range t.Targets {
			if tg.Health.State != dnssrv.StateDown {
				trunksUp++
				break
			}
		}
	}
	if s.app.cti != nil {
		for _, st := range s.app.cti.Status() {
			drivers++
			if st.State == "up" {
				driversUp++
			}
		}
	}
	return trunksUp, trunks, driversUp, drivers
}
