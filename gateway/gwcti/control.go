package gwcti

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-gw/switchboard/gateway/b2bua"
	"github.com/switchboard-gw/switchboard/plugins"
)

// The call-control services on the gateway's calls (b2bua control.go).
// A ConnectionRef names the call by its B2BUA call ID and the controlling
// device by username; the device must be a party of the call. Services
// the gateway does not carry out answer plugins.ErrNotSupported (not
// listed in Capabilities): Answer (no
// remote answer the phones honour), Consultation and Conference,
// SetAgentState (no ACD). Pickup is of parked calls
// only (park.go).

// notSupported is the error of a service the gateway does not offer.
func notSupported(service string) error {
	return fmt.Errorf("gateway source: %s: %w", service, plugins.ErrNotSupported)
}

// mapErr maps the B2BUA's control errors to the driver model's.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, b2bua.ErrNoCall):
		kind = plugins.ErrNotFound
	case errors.Is(err, b2bua.ErrNotParty), errors.Is(err, b2bua.ErrBadNumber), errors.Is(err, b2bua.ErrNoRoute):
		kind = plugins.ErrInvalidArgument
	case errors.Is(err, b2bua.ErrUnavailable):
		kind = plugins.ErrFailedPrecondition
	case errors.Is(err, b2bua.ErrCallState):
		kind = plugins.ErrFailedPrecondition
	default:
		return fmt.Errorf("gateway source: %s: %w", op, err)
	}
	return fmt.Errorf("gateway source: %s: %w: %w", op, kind, err)
}

// conn checks c: a known call and a device that resolves to a user.
func (s *Source) conn(c plugins.ConnectionRef) (string, error) {
	if c.CallID == "" {
		return "", fmt.Errorf("gateway source: %w: empty call id", plugins.ErrInvalidArgument)
	}
	return s.device(c.Device)
}

// Clear implements attendant.Source: the whole call ends (BYE on both
// legs with a Reason, RFC 3326; a ringing call's devices get CANCEL and
// its caller 603). The device must be on the call.
func (s *Source) Clear(_ context.Context, c plugins.ConnectionRef) error {
	u, err := s.conn(c)
	if err != nil {
		return err
	}
	if !s.onCall(c.CallID, u) {
		return fmt.Errorf("gateway source: clear: %w: %s is not on call %s", plugins.ErrNotFound, u, c.CallID)
	}
	return mapErr("clear", s.o.Calls.Hangup(c.CallID, ""))
}

// onCall reports whether user is a party of call id as the B2BUA has it
// (or rung by it).
func (s *Source) onCall(id, user string) bool {
	for _, ci := range s.o.Calls.Calls() {
		if ci.ID == id {
			return ci.A.User == user || ci.B.User == user || !ci.Answered && ci.Target == user
		}
	}
	return false
}

// Hold implements attendant.Source: the far party is re-INVITEd sendonly.
func (s *Source) Hold(_ context.Context, c plugins.ConnectionRef) error {
	u, err := s.conn(c)
	if err != nil {
		return err
	}
	return mapErr("hold", s.o.Calls.Hold(c.CallID, u))
}

// Retrieve implements attendant.Source: the far party is re-INVITEd
// sendrecv.
func (s *Source) Retrieve(_ context.Context, c plugins.ConnectionRef) error {
	u, err := s.conn(c)
	if err != nil {
		return err
	}
	return mapErr("retrieve", s.o.Calls.Retrieve(c.CallID, u))
}

// SingleStepTransfer implements attendant.Source: the far party of the
// device goes to to, as if the device's user transferred it blind (its
// routing and class of service). It returns once the transfer started;
// the Transferred events tell it succeeded, a Failed event that it did
// not (the call then goes on as it was).
func (s *Source) SingleStepTransfer(_ context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	u, err := s.conn(c)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if err := checkNumber(to); err != nil {
		return plugins.ConnectionRef{}, err
	}
	s.mu.Lock()
	s.sst[c.CallID] = true
	s.mu.Unlock()
	err = s.o.Calls.Transfer(c.CallID, u, to, s.transferDone(c.CallID, u, to))
	if err != nil {
		s.mu.Lock()
		delete(s.sst, c.CallID)
		s.mu.Unlock()
		return plugins.ConnectionRef{}, mapErr("single step transfer", err)
	}
	return plugins.ConnectionRef{Device: u, CallID: c.CallID}, nil
}

// transferDone reports a failed transfer as EventFailed at the
// transferring device.
func (s *Source) transferDone(id, user, to string) func(error) {
	return func(err error) {
		if err == nil {
			return
		}
		s.mu.Lock()
		delete(s.sst, id)
		s.mu.Unlock()
		s.emit(plugins.Event{Type: plugins.EventFailed, Device: user, CallID: id, State: plugins.StateConnected,
			Cause: plugins.CauseDestinationNotObtainable, Other: to, RawCause: err.Error()})
	}
}

// Deflect implements attendant.Source: a call ringing at the device is
// diverted to to (the device's users[] routing, RFC 5806 reason
// deflection); an answered one is transferred as by SingleStepTransfer.
func (s *Source) Deflect(_ context.Context, c plugins.ConnectionRef, to string) error {
	u, err := s.conn(c)
	if err != nil {
		return err
	}
	if err := checkNumber(to); err != nil {
		return err
	}
	return mapErr("deflect", s.o.Calls.Deflect(c.CallID, u, to, s.transferDone(c.CallID, u, to)))
}

// GenerateDigits implements attendant.Source: SIP INFO
// (application/dtmf-relay) to the device's far party, one per digit.
func (s *Source) GenerateDigits(_ context.Context, c plugins.ConnectionRef, digits string) error {
	u, err := s.conn(c)
	if err != nil {
		return err
	}
	return mapErr("generate digits", s.o.Calls.SendDigits(c.CallID, u, digits))
}

// MakeCall implements attendant.Source: click-to-dial (RFC 3725 third
// party call control, b2bua dial.go). The calling user's devices ring
// first showing the called number; when one answers, the number is called
// as if the user dialled it. It returns at once with the call's id; the
// calling device gets EventServiceInitiated now, the call's events follow.
func (s *Source) MakeCall(_ context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	u, err := s.device(r.Calling)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if err := checkNumber(r.Called); err != nil {
		return plugins.ConnectionRef{}, err
	}
	id, err := s.o.Calls.Dial(u, r.Called)
	if err != nil {
		return plugins.ConnectionRef{}, mapErr("make call", err)
	}
	s.mu.Lock()
	cs := s.calls[id]
	if cs == nil {
		cs = &callState{conns: map[string]plugins.ConnectionState{}}
		s.calls[id] = cs
	}
	if _, ok := cs.conns[u]; !ok {
		cs.conns[u] = plugins.StateInitiated
		cs.calling, cs.called = u, r.Called
	}
	s.mu.Unlock()
	s.emit(plugins.Event{Type: plugins.EventServiceInitiated, Device: u, CallID: id, State: plugins.StateInitiated,
		Cause: plugins.CauseMakeCall, Calling: u, Called: r.Called})
	return plugins.ConnectionRef{Device: u, CallID: id}, nil
}

// Answer implements attendant.Source: not supported (no remote answer
// that the lab's phones honour).
func (s *Source) Answer(context.Context, plugins.ConnectionRef) error { return notSupported("answer") }

// Consultation implements attendant.Source: not supported.
func (s *Source) Consultation(context.Context, plugins.ConnectionRef, string) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, notSupported("consultation")
}

// Transfer implements attendant.Source: the attended transfer of a user
// with two calls (made from its phone, or one held): the far parties of
// held and active are connected on held's call, the user's legs on both
// end (b2bua Join: RFC 5589 §7 as the gateway carries REFER/Replaces
// out). The far party of active gets connection_cleared on active and
// transferred on held.
func (s *Source) Transfer(_ context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	u, err := s.conn(held)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	u2, err := s.conn(active)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if u != u2 {
		return plugins.ConnectionRef{}, fmt.Errorf("gateway source: transfer: %w: held and active are on devices %s and %s",
			plugins.ErrInvalidArgument, u, u2)
	}
	if err := s.o.Calls.Join(held.CallID, active.CallID, u); err != nil {
		return plugins.ConnectionRef{}, mapErr("transfer", err)
	}
	return plugins.ConnectionRef{CallID: held.CallID}, nil
}

// Conference implements attendant.Source: not supported.
func (s *Source) Conference(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, notSupported("conference")
}

// SetAgentState implements attendant.Source: not supported (no ACD).
func (s *Source) SetAgentState(context.Context, plugins.AgentStateRequest) error {
	return notSupported("set agent state")
}

// Reconnect implements attendant.Source: not supported (no consultation).
func (s *Source) Reconnect(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, notSupported("reconnect")
}

// Alternate implements attendant.Source: not supported.
func (s *Source) Alternate(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, notSupported("alternate")
}

// ListDevices implements attendant.Source: not supported (the users are
// the gateway's own directory).
func (s *Source) ListDevices(context.Context, string, int) (plugins.DevicePage, error) {
	return plugins.DevicePage{}, notSupported("list devices")
}

// Snapshot implements attendant.Source: the user's calls as the B2BUA
// has them, its DND and forwarding. Seq is the last event emitted before
// the snapshot was taken.
func (s *Source) Snapshot(_ context.Context, device string) (plugins.DeviceSnapshot, error) {
	u, err := s.device(device)
	if err != nil {
		return plugins.DeviceSnapshot{}, err
	}
	seq := s.lastSeq()
	snap := plugins.DeviceSnapshot{Device: u, Calls: []plugins.CallSnapshot{}, Seq: seq}
	for _, ci := range s.o.Calls.Calls() {
		cs := plugins.CallSnapshot{CallID: ci.ID}
		switch {
		case ci.A.User == u:
			cs.State, cs.Other = plugins.StateConnected, party(ci.B)
			if !ci.Answered {
				cs.Other = ci.Target
			}
		case ci.Answered && ci.B.User == u:
			cs.State, cs.Other = plugins.StateConnected, party(ci.A)
		case !ci.Answered && ci.Target == u:
			cs.State, cs.Other = plugins.StateAlerting, party(ci.A)
		default:
			continue
		}
		if slices.Contains(ci.Held, u) {
			cs.State = plugins.StateHold
		}
		snap.Calls = append(snap.Calls, cs)
	}
	slices.SortFunc(snap.Calls, func(a, b plugins.CallSnapshot) int {
		switch {
		case a.CallID < b.CallID:
			return -1
		case a.CallID > b.CallID:
			return 1
		}
		return 0
	})
	f := s.featuresOf(u)
	snap.DND, snap.Forwarding = f.DND, f.Forwarding
	return snap, nil
}
