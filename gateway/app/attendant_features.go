package app

import (
	"net/http"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
)

// The attendant's queue view and its services beyond call control
// (gateway/attendant features.go and queue.go): group pickup with a group
// id, camp-on, call back and intrusion on a busy device. A source without
// the service answers 501 (ctiProblem).
func (s *adminServer) attendantFeatureRoutes(mux *http.ServeMux) {
	op := accounts.RoleOperator
	s.route(mux, "GET /api/v1/devices/queues", op, s.listDeviceQueues)
	s.route(mux, "POST /api/v1/devices/{id}/group-pickup", op, s.groupPickup)
	for _, action := range attendant.BusyActions {
		s.route(mux, "POST /api/v1/calls/{id}/"+action, op, func(w http.ResponseWriter, r *http.Request) { s.busyAction(w, r, action) })
	}
}

// listDeviceQueues answers every PBX group device (ACD, hunt, operator
// group) with its waiting calls and their positions, as GET
// /api/v1/devices shows every lamp (the gateway's own operator queues are
// GET /api/v1/queues).
func (s *adminServer) listDeviceQueues(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"queues": s.app.att.Queues(nil)})
}

func (s *adminServer) groupPickup(w http.ResponseWriter, r *http.Request) {
	var req attendant.GroupPickupRequest
	if !decode(w, r, &req, req.Validate) {
		return
	}
	d, _, ok := s.device(w, r)
	if !ok {
		return
	}
	if !s.mayAct(caller(r), d.ID) {
		problem(w, http.StatusForbidden, "forbidden", "device "+d.ID+" is not in your groups")
		return
	}
	_, ref, err := s.app.att.GroupPickup(r.Context(), d.ID, req.Group)
	if err != nil {
		ctiProblem(w, d.Source, err)
		return
	}
	writeJSON(w, connView(d.Source, ref))
}

// busyAction runs camp-on, callback or intrude on the call {id} at the
// caller's device the body names.
func (s *adminServer) busyAction(w http.ResponseWriter, r *http.Request, action string) {
	var req attendant.ActionRequest
	if !decode(w, r, &req, func() error { return req.Validate(action) }) {
		return
	}
	if !s.mayAct(caller(r), req.Device) {
		problem(w, http.StatusForbidden, "forbidden", "device "+req.Device+" is not in your groups")
		return
	}
	src, res, err := s.app.att.BusyTreatment(r.Context(), action, r.PathValue("id"), req.Device)
	if err != nil {
		source := ""
		if src != nil {
			source = src.Name()
		}
		ctiProblem(w, source, err)
		return
	}
	if res.CallID != "" || res.Device != "" {
		writeJSON(w, connView(src.Name(), res))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
