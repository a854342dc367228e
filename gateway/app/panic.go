package app

import (
	"errors"
	"net/http"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/plugins"
)

// panicRoutes adds the operator console's panic button (issue 14, seed
// 004): POST /api/v1/operators/me/panic.
func (s *adminServer) panicRoutes(mux *http.ServeMux) {
	s.route(mux, "POST /api/v1/operators/me/panic", accounts.RoleOperator, s.pressPanic)
}

// pressPanic places the call App.PanicCall describes from the caller's
// device through the device's source: click-to-dial for a gateway user
// (gwcti), the driver's MakeCall for a PBX device. 404 when the button is
// not enabled, 409 when the caller has no device. Every press is logged
// with the operator (audit).
func (s *adminServer) pressPanic(w http.ResponseWriter, r *http.Request) {
	p := caller(r)
	pc, err := s.app.PanicCall(r.Context(), p.Account)
	switch {
	case errors.Is(err, accounts.ErrPanicOff):
		problem(w, http.StatusNotFound, "panic button disabled", err.Error())
		return
	case errors.Is(err, accounts.ErrNoDevice):
		problem(w, http.StatusConflict, "no device", "account "+p.Account+" has no device to call from")
		return
	case err != nil:
		accountsError(w, err)
		return
	}
	log := s.app.log.With("component", "panic", "operator", p.Account, "via", p.Via, "from", pc.From, "to", pc.To)
	source, dev, ok := attendant.SplitID(pc.From)
	src, found := s.app.att.Source(source)
	if !ok || !found {
		log.Error("panic button pressed: the operator's device has no running source", "source", source)
		problem(w, http.StatusServiceUnavailable, "source unavailable", "source "+source+" of device "+pc.From+" is not running")
		return
	}
	ref, err := src.MakeCall(r.Context(), plugins.MakeCallRequest{Calling: dev, Called: pc.To})
	if err != nil {
		log.Error("panic button pressed: call not placed", "error", err)
		ctiProblem(w, source, err)
		return
	}
	log.Warn("panic button pressed: call placed", "call", attendant.ID(source, ref.CallID))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, connView(source, ref))
}
