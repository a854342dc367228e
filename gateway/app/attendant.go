package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/plugins"
)

// newAttendant makes the attendant model (issue 14); the CTI manager's
// events feed it (cti.go).
func (a *App) newAttendant(cfg *config.Config) {
	at := cfg.Attendant
	a.att = attendant.New(attendant.Options{
		RingSize: at.EventRing, ClientQueue: at.ClientQueue,
		ParkRecall: at.ParkRecall.D(), SafeTransfer: at.SafeTransfer.D(),
		Logger: a.log.With("component", "attendant"),
	})
	a.restoreUserPresence() // operators_state.go
}

// Attendant returns the attendant model.
func (a *App) Attendant() *attendant.Model { return a.att }

// attendantRoutes adds the attendant API: devices, presence, calls, park,
// the event stream and the call history.
func (s *adminServer) attendantRoutes(mux *http.ServeMux) {
	op := accounts.RoleOperator
	s.route(mux, "GET /api/v1/devices", op, s.listDevices)
	s.route(mux, "GET /api/v1/devices/names", op, s.deviceNames) // attendant_names.go
	s.route(mux, "GET /api/v1/devices/{id}", op, s.getDevice)
	s.route(mux, "PUT /api/v1/devices/{id}/dnd", op, s.putDND)
	s.route(mux, "PUT /api/v1/devices/{id}/forwarding", op, s.putForwarding)
	s.route(mux, "POST /api/v1/devices/{id}/pickup", op, s.pickup)
	s.route(mux, "GET /api/v1/presence/{id}", op, s.getPresence)
	s.route(mux, "PUT /api/v1/presence/{id}", op, s.putPresence)
	s.route(mux, "GET /api/v1/calls", op, s.listCalls)
	s.route(mux, "POST /api/v1/calls", op, s.makeCall)
	s.route(mux, "GET /api/v1/calls/{id}", op, s.getCall)
	for _, action := range attendant.Actions {
		s.route(mux, "POST /api/v1/calls/{id}/"+action, op, func(w http.ResponseWriter, r *http.Request) { s.callAction(w, r, action) })
	}
	s.route(mux, "GET /api/v1/parked", op, s.listParked)
	s.route(mux, "POST /api/v1/parked/{slot}/retrieve", op, s.retrieveParked)
	s.route(mux, "GET /api/v1/events", op, s.events)
}

// caller is the principal of an authenticated request.
func caller(r *http.Request) accounts.Principal {
	p, _ := accounts.PrincipalFrom(r.Context())
	return p
}

// mayAct reports whether p may act on device id: supervisors and admins
// always; operators when no groups are configured, else on the devices of
// their groups and their own.
func (s *adminServer) mayAct(p accounts.Principal, id string) bool {
	at := &s.app.cfg.Attendant
	if p.Role.Allows(accounts.RoleSupervisor) || len(at.Groups) == 0 || at.OperatorDevice(p.Account) == id {
		return true
	}
	for _, g := range p.Groups {
		if slices.Contains(at.GroupDevices(g), id) {
			return true
		}
	}
	return false
}

// mayConfigure reports whether p may change the DND and forwarding of
// device id: supervisors any, operators their own device only.
func (s *adminServer) mayConfigure(p accounts.Principal, id string) bool {
	return p.Role.Allows(accounts.RoleSupervisor) || s.app.cfg.Attendant.OperatorDevice(p.Account) == id
}

// masked applies the forwarding mask to a device an operator sees that is
// not theirs (seed 004).
func (s *adminServer) masked(p accounts.Principal, d attendant.Device) attendant.Device {
	n := s.app.cfg.Attendant.ForwardingMask
	if n == 0 || p.Role.Allows(accounts.RoleSupervisor) || s.app.cfg.Attendant.OperatorDevice(p.Account) == d.ID {
		return d
	}
	fw := make([]plugins.Forwarding, len(d.Forwarding))
	for i, f := range d.Forwarding {
		f.To = attendant.MaskDigits(f.To, n)
		fw[i] = f
	}
	d.Forwarding = fw
	return d
}

// ctiProblem answers err of a source or the model with its problem
// document: unsupported 501 naming the source, unavailable 503, invalid
// 400, unknown 404, wrong state 409.
func ctiProblem(w http.ResponseWriter, source string, err error) {
	switch {
	case errors.Is(err, plugins.ErrNotSupported):
		problem(w, http.StatusNotImplemented, "not supported", fmt.Sprintf("source %s does not support this: %v", source, err))
	case errors.Is(err, plugins.ErrUnavailable):
		problem(w, http.StatusServiceUnavailable, "source unavailable", fmt.Sprintf("source %s: %v", source, err))
	case errors.Is(err, attendant.ErrTooLarge):
		problem(w, http.StatusRequestEntityTooLarge, "request too large", err.Error())
	case errors.Is(err, plugins.ErrInvalidArgument), errors.Is(err, attendant.ErrBadRequest):
		problem(w, http.StatusBadRequest, "bad request", err.Error())
	case errors.Is(err, plugins.ErrNotFound), errors.Is(err, attendant.ErrUnknownDevice), errors.Is(err, attendant.ErrUnknownCall),
		errors.Is(err, attendant.ErrUnknownSource), errors.Is(err, attendant.ErrUnknownSlot):
		problem(w, http.StatusNotFound, "not found", err.Error())
	case errors.Is(err, plugins.ErrFailedPrecondition):
		problem(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		problem(w, http.StatusGatewayTimeout, "source timeout", fmt.Sprintf("source %s: %v", source, err))
	default:
		problem(w, http.StatusBadGateway, "source error", fmt.Sprintf("source %s: %v", source, err))
	}
}

// decode reads a strict JSON body into v and validates it with check; it
// answers the problem itself and reports false on error.
func decode(w http.ResponseWriter, r *http.Request, v any, check func() error) bool {
	err := attendant.Decode(r.Body, v)
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		ctiProblem(w, "", err)
		return false
	}
	return true
}

// device resolves the {id} path value to a known device and its source.
func (s *adminServer) device(w http.ResponseWriter, r *http.Request) (attendant.Device, attendant.Source, bool) {
	id := r.PathValue("id")
	d, err := s.app.att.Device(id)
	if err != nil {
		ctiProblem(w, "", err)
		return d, nil, false
	}
	src, ok := s.app.att.Source(d.Source)
	if !ok {
		problem(w, http.StatusServiceUnavailable, "source unavailable", "source "+d.Source+" is not running")
		return d, nil, false
	}
	return d, src, true
}

func (s *adminServer) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := caller(r)
	ds := s.app.att.Devices(attendant.DeviceQuery{Source: q.Get("source"), Q: q.Get("q")})
	for i := range ds {
		ds[i] = s.masked(p, ds[i])
	}
	writeJSON(w, map[string]any{"devices": ds})
}

func (s *adminServer) getDevice(w http.ResponseWriter, r *http.Request) {
	d, err := s.app.att.Device(r.PathValue("id"))
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	writeJSON(w, s.masked(caller(r), d))
}

func (s *adminServer) putDND(w http.ResponseWriter, r *http.Request) {
	var req attendant.DNDRequest
	if !decode(w, r, &req, req.Validate) {
		return
	}
	d, src, ok := s.device(w, r)
	if !ok {
		return
	}
	if !s.mayConfigure(caller(r), d.ID) {
		problem(w, http.StatusForbidden, "forbidden", "changing another device's DND needs the supervisor role")
		return
	}
	if err := src.SetDND(r.Context(), d.Device, *req.Enabled); err != nil {
		ctiProblem(w, d.Source, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminServer) putForwarding(w http.ResponseWriter, r *http.Request) {
	var req attendant.ForwardingRequest
	if !decode(w, r, &req, nil) {
		return
	}
	f, err := req.Forwarding()
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	d, src, ok := s.device(w, r)
	if !ok {
		return
	}
	if !s.mayConfigure(caller(r), d.ID) {
		problem(w, http.StatusForbidden, "forbidden", "changing another device's forwarding needs the supervisor role")
		return
	}
	if err := src.SetForwarding(r.Context(), d.Device, f); err != nil {
		ctiProblem(w, d.Source, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *adminServer) pickup(w http.ResponseWriter, r *http.Request) {
	var req attendant.PickupRequest
	if !decode(w, r, &req, req.Validate) {
		return
	}
	d, src, ok := s.device(w, r)
	if !ok {
		return
	}
	if !s.mayAct(caller(r), d.ID) {
		problem(w, http.StatusForbidden, "forbidden", "device "+d.ID+" is not in your groups")
		return
	}
	ref, err := src.Pickup(r.Context(), d.Device, req.From)
	if err != nil {
		ctiProblem(w, d.Source, err)
		return
	}
	writeJSON(w, connView(d.Source, ref))
}

// presenceView is the answer of GET /api/v1/presence/{id}.
type presenceView struct {
	ID           string              `json:"id"`
	Presence     attendant.Presence  `json:"presence"`
	UserPresence attendant.Presence  `json:"user_presence,omitempty"`
	MiVO400      string              `json:"mivo400,omitempty"`
	Line         attendant.LineState `json:"line"`
	DND          bool                `json:"dnd"`
	Stale        bool                `json:"stale"`
}

func presenceOf(d attendant.Device) presenceView {
	return presenceView{ID: d.ID, Presence: d.Presence, UserPresence: d.UserPresence, MiVO400: d.Presence.MiVO400(),
		Line: d.Line, DND: d.DND, Stale: d.Stale}
}

func (s *adminServer) getPresence(w http.ResponseWriter, r *http.Request) {
	d, err := s.app.att.Device(r.PathValue("id"))
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	writeJSON(w, presenceOf(d))
}

func (s *adminServer) putPresence(w http.ResponseWriter, r *http.Request) {
	var req attendant.PresenceRequest
	if !decode(w, r, &req, nil) {
		return
	}
	p, err := req.Value()
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	id := r.PathValue("id")
	if !s.mayConfigure(caller(r), id) {
		problem(w, http.StatusForbidden, "forbidden", "setting another user's presence needs the supervisor role")
		return
	}
	d, err := s.app.att.SetUserPresence(id, p)
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	s.app.saveUserPresence(r.Context(), id, p)
	writeJSON(w, presenceOf(d))
}

func (s *adminServer) listCalls(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"calls": s.app.att.Calls()})
}

func (s *adminServer) getCall(w http.ResponseWriter, r *http.Request) {
	c, err := s.app.att.Call(r.PathValue("id"))
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	writeJSON(w, c)
}

// connResult is the answer of services that make a connection.
type connResult struct {
	CallID       string `json:"call_id"`
	Device       string `json:"device"`
	ConnectionID string `json:"connection_id,omitempty"`
}

func connView(source string, ref plugins.ConnectionRef) connResult {
	out := connResult{Device: attendant.ID(source, ref.Device), ConnectionID: ref.ConnectionID}
	if ref.CallID != "" {
		out.CallID = attendant.ID(source, ref.CallID)
	}
	return out
}

func (s *adminServer) makeCall(w http.ResponseWriter, r *http.Request) {
	var req attendant.MakeCallRequest
	if !decode(w, r, &req, req.Validate) {
		return
	}
	source, dev, _ := attendant.SplitID(req.From)
	src, ok := s.app.att.Source(source)
	if !ok {
		problem(w, http.StatusNotFound, "not found", "no source "+source)
		return
	}
	if !s.mayAct(caller(r), req.From) {
		problem(w, http.StatusForbidden, "forbidden", "device "+req.From+" is not in your groups")
		return
	}
	ref, err := attendant.MakeCallAccount(r.Context(), src, plugins.MakeCallRequest{Calling: dev, Called: req.To, AccountCode: req.AccountCode})
	if err != nil {
		ctiProblem(w, source, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, connView(source, ref))
}

// callAction runs one of attendant.Actions on the call {id} at the
// device the body names.
func (s *adminServer) callAction(w http.ResponseWriter, r *http.Request, action string) {
	var req attendant.ActionRequest
	if !decode(w, r, &req, func() error { return req.Validate(action) }) {
		return
	}
	call := r.PathValue("id")
	p := caller(r)
	if !s.mayAct(p, req.Device) {
		problem(w, http.StatusForbidden, "forbidden", "device "+req.Device+" is not in your groups")
		return
	}
	at := s.app.att
	src, ref, err := at.Connection(call, req.Device)
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	ctx := r.Context()
	source := src.Name()
	var res plugins.ConnectionRef
	switch action {
	case "answer":
		err = src.Answer(ctx, ref)
	case "hold":
		err = src.Hold(ctx, ref)
	case "retrieve":
		err = src.Retrieve(ctx, ref)
	case "clear":
		err = src.Clear(ctx, ref)
	case "deflect":
		err = src.Deflect(ctx, ref, req.To)
	case "dtmf":
		err = src.GenerateDigits(ctx, ref, req.Digits)
	case "consult":
		res, err = attendant.Consult(ctx, src, ref, req.To, req.AccountCode)
	case "reconnect", "alternate":
		var active plugins.ConnectionRef
		if _, active, err = at.Connection(req.ConsultCall, req.Device); err != nil {
			break
		}
		if action == "reconnect" {
			res, err = src.Reconnect(ctx, ref, active)
		} else {
			res, err = src.Alternate(ctx, ref, active)
		}
	case "transfer", "conference":
		if action == "transfer" && req.To != "" {
			var id string
			id, err = at.BlindTransfer(ctx, call, req.Device, req.To, p.Account)
			if err == nil {
				writeJSON(w, connResult{CallID: id, Device: req.Device})
				return
			}
			break
		}
		var active plugins.ConnectionRef
		if _, active, err = at.Connection(req.ConsultCall, req.Device); err != nil {
			break
		}
		if action == "transfer" {
			res, err = src.Transfer(ctx, ref, active)
		} else {
			res, err = src.Conference(ctx, ref, active)
		}
	case "park":
		var parked attendant.Parked
		parked, err = at.Park(ctx, call, req.Device, req.Slot, p.Account)
		if err == nil {
			writeJSON(w, parked)
			return
		}
	}
	if err != nil {
		ctiProblem(w, source, err)
		return
	}
	if res != (plugins.ConnectionRef{}) {
		writeJSON(w, connView(source, res))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// seesAllParked reports whether p sees every parked call.
func (s *adminServer) seesAllParked(p accounts.Principal) bool {
	return s.app.cfg.Attendant.OperatorsSeeAllParked || p.Role.Allows(accounts.RoleSupervisor)
}

func (s *adminServer) listParked(w http.ResponseWriter, r *http.Request) {
	p := caller(r)
	writeJSON(w, map[string]any{"parked": s.app.att.ParkedCalls(p.Account, s.seesAllParked(p))})
}

func (s *adminServer) retrieveParked(w http.ResponseWriter, r *http.Request) {
	var req attendant.RetrieveRequest
	if !decode(w, r, &req, req.Validate) {
		return
	}
	p := caller(r)
	slot := r.PathValue("slot")
	parked, err := s.app.att.ParkedIn(slot)
	if err != nil {
		ctiProblem(w, "", err)
		return
	}
	if parked.Operator != p.Account && !s.seesAllParked(p) {
		problem(w, http.StatusForbidden, "forbidden", "the call in "+slot+" was parked by another operator")
		return
	}
	if !s.mayAct(p, req.Device) {
		problem(w, http.StatusForbidden, "forbidden", "device "+req.Device+" is not in your groups")
		return
	}
	ref, err := s.app.att.Unpark(r.Context(), slot, req.Device)
	if err != nil {
		source, _, _ := strings.Cut(slot, ":")
		ctiProblem(w, source, err)
		return
	}
	source, _, _ := strings.Cut(slot, ":")
	writeJSON(w, connView(source, ref))
}
