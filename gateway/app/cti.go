package app

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/gateway/cti"
)

// newCTI prepares the attendant model and the configured CTI drivers
// (none: no manager); every driver event feeds the model, and each
// driver is one of its sources.
func (a *App) newCTI(cfg *config.Config) error {
	a.newAttendant(cfg)
	if len(cfg.CTI.Drivers) == 0 {
		return nil
	}
	m, err := cti.New(cti.Options{Drivers: cfg.CTI.Drivers, Logger: a.log, OnEvent: a.att.Apply})
	if err != nil {
		return err
	}
	for _, d := range cfg.CTI.Drivers {
		if sup, ok := m.Driver(d.Name); ok {
			a.att.AddSource(sup, d.Monitor...)
		}
	}
	a.cti = m
	return nil
}

// startCTI starts the driver processes and their monitors; the returned
// func stops them and waits until every driver process is gone.
func (a *App) startCTI(ctx context.Context) (stop func()) {
	if a.cti == nil {
		return a.att.Close
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.cti.Run(ctx); err != nil {
			a.log.Error("cti drivers", "error", err)
		}
	}()
	a.log.Info("cti drivers starting", "drivers", len(a.cfg.CTI.Drivers))
	return func() { cancel(); <-done; a.att.Close() }
}

// CTI returns the CTI drivers, nil when none are configured.
func (a *App) CTI() *cti.Manager { return a.cti }

// ctiRoutes adds the read-only CTI status: GET /api/v1/cti/drivers.
func (s *adminServer) ctiRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/cti/drivers", accounts.RoleAdmin, func(w http.ResponseWriter, _ *http.Request) {
		if s.app.cti == nil {
			writeJSON(w, []cti.Status{})
			return
		}
		writeJSON(w, s.app.cti.Status())
	})
}

// ctiMetrics registers the CTI drivers' metrics.
func (s *adminServer) ctiMetrics(reg *prometheus.Registry) {
	if s.app.cti != nil {
		reg.MustRegister(s.app.cti.Collector())
	}
}
