package plugins

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The supervisor's calls: each goes to the current driver process with a
// deadline (Config.CallTimeout, or the caller's if earlier); a service the
// driver does not declare fails with ErrNotSupported without a call, and
// every call while the driver is down fails at once with ErrUnavailable.
// Calls run concurrently: one that blocks in the driver holds up no other.

var _ CallControl = (*Supervisor)(nil)

// call runs f on the current driver for service svc (ServiceUnspecified:
// always available).
func call[T any](s *Supervisor, ctx context.Context, op string, svc Service, f func(context.Context, Driver) (T, error)) (T, error) {
	var zero T
	inc := s.cur.Load()
	if inc == nil {
		return zero, fmt.Errorf("driver %s: %s: %w: driver not running", s.cfg.Name, op, ErrUnavailable)
	}
	if svc != ServiceUnspecified && !inc.caps.Supports(svc) {
		return zero, fmt.Errorf("driver %s: %s: %w", s.cfg.Name, op, ErrNotSupported)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	v, err := f(ctx, inc.drv)
	if err != nil {
		return zero, fmt.Errorf("driver %s: %s: %w", s.cfg.Name, op, err)
	}
	return v, nil
}

// call0 is call for services that return only an error.
func call0(s *Supervisor, ctx context.Context, op string, svc Service, f func(context.Context, Driver) error) error {
	_, err := call(s, ctx, op, svc, func(ctx context.Context, d Driver) (struct{}, error) {
		return struct{}{}, f(ctx, d)
	})
	return err
}

// Capabilities returns what the running driver declares.
func (s *Supervisor) Capabilities(context.Context) (Capabilities, error) {
	inc := s.cur.Load()
	if inc == nil {
		return Capabilities{}, fmt.Errorf("driver %s: %w: driver not running", s.cfg.Name, ErrUnavailable)
	}
	return inc.caps, nil
}

// MonitorStart adds device to the host's monitor list and starts the
// monitor on the driver. While the driver is down it returns ErrUnavailable
// but keeps the device: the monitor starts with the next process. A device
// the driver says does not exist (ErrNotFound, ErrInvalidArgument) is taken
// off the list; any other refusal or a timeout (a licence shortage, the
// PBX link down) keeps it, returns the error and retries with backoff
// ([Supervisor.MonitorStates] shows it).
func (s *Supervisor) MonitorStart(ctx context.Context, device string) (string, error) {
	if device == "" {
		return "", fmt.Errorf("driver %s: monitor start: %w: empty device", s.cfg.Name, ErrInvalidArgument)
	}
	s.mu.Lock()
	m, ok := s.monitors[device]
	if !ok {
		m = &mon{state: MonitorPending}
		s.monitors[device] = m
	}
	m.busy = true // no retry while this call runs
	s.mu.Unlock()
	running := s.cur.Load() != nil
	id, err := call(s, ctx, "monitor start", ServiceUnspecified, func(ctx context.Context, d Driver) (string, error) {
		return d.MonitorStart(ctx, device)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.monitors[device] != m {
		return id, err // stopped meanwhile
	}
	switch {
	case err == nil:
		m.activeLocked(id)
	case !running && errors.Is(err, ErrUnavailable):
		m.busy = false // restored with the next process
	case permanent(err):
		delete(s.monitors, device)
	default:
		s.refusedLocked(m, err)
		err = fmt.Errorf("%w (retried from %s)", err, m.next.Format(time.RFC3339Nano))
	}
	return id, err
}

// MonitorStop takes device off the host's list and stops the monitor on
// the driver; with the driver down there is nothing more to do.
func (s *Supervisor) MonitorStop(ctx context.Context, device string) error {
	s.mu.Lock()
	delete(s.monitors, device)
	s.mu.Unlock()
	err := call0(s, ctx, "monitor stop", ServiceUnspecified, func(ctx context.Context, d Driver) error {
		return d.MonitorStop(ctx, device)
	})
	if errors.Is(err, ErrUnavailable) {
		return nil
	}
	return err
}

// Snapshot returns device's calls and features from the driver.
func (s *Supervisor) Snapshot(ctx context.Context, device string) (DeviceSnapshot, error) {
	return call(s, ctx, "snapshot", ServiceUnspecified, func(ctx context.Context, d Driver) (DeviceSnapshot, error) {
		return d.Snapshot(ctx, device)
	})
}

// MakeCall implements [CallControl].
func (s *Supervisor) MakeCall(ctx context.Context, r MakeCallRequest) (ConnectionRef, error) {
	if r.AccountCode != "" {
		if err := s.needs("make call", ServiceAccountCode); err != nil {
			return ConnectionRef{}, err
		}
	}
	return call(s, ctx, "make call", ServiceMakeCall, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.MakeCall(ctx, r)
	})
}

// Answer implements [CallControl].
func (s *Supervisor) Answer(ctx context.Context, c ConnectionRef) error {
	return call0(s, ctx, "answer", ServiceAnswer, func(ctx context.Context, d Driver) error { return d.Answer(ctx, c) })
}

// Clear implements [CallControl].
func (s *Supervisor) Clear(ctx context.Context, c ConnectionRef) error {
	return call0(s, ctx, "clear", ServiceClear, func(ctx context.Context, d Driver) error { return d.Clear(ctx, c) })
}

// Hold implements [CallControl].
func (s *Supervisor) Hold(ctx context.Context, c ConnectionRef) error {
	return call0(s, ctx, "hold", ServiceHold, func(ctx context.Context, d Driver) error { return d.Hold(ctx, c) })
}

// Retrieve implements [CallControl].
func (s *Supervisor) Retrieve(ctx context.Context, c ConnectionRef) error {
	return call0(s, ctx, "retrieve", ServiceRetrieve, func(ctx context.Context, d Driver) error { return d.Retrieve(ctx, c) })
}

// Consultation implements [CallControl].
func (s *Supervisor) Consultation(ctx context.Context, existing ConnectionRef, to string) (ConnectionRef, error) {
	return call(s, ctx, "consultation", ServiceConsultation, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.Consultation(ctx, existing, to)
	})
}

// Transfer implements [CallControl].
func (s *Supervisor) Transfer(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return call(s, ctx, "transfer", ServiceTransfer, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.Transfer(ctx, held, active)
	})
}

// SingleStepTransfer implements [CallControl].
func (s *Supervisor) SingleStepTransfer(ctx context.Context, c ConnectionRef, to string) (ConnectionRef, error) {
	return call(s, ctx, "single step transfer", ServiceSingleStepTransfer, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.SingleStepTransfer(ctx, c, to)
	})
}

// Conference implements [CallControl].
func (s *Supervisor) Conference(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return call(s, ctx, "conference", ServiceConference, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.Conference(ctx, held, active)
	})
}

// Deflect implements [CallControl].
func (s *Supervisor) Deflect(ctx context.Context, c ConnectionRef, to string) error {
	return call0(s, ctx, "deflect", ServiceDeflect, func(ctx context.Context, d Driver) error { return d.Deflect(ctx, c, to) })
}

// GenerateDigits implements [CallControl].
func (s *Supervisor) GenerateDigits(ctx context.Context, c ConnectionRef, digits string) error {
	return call0(s, ctx, "generate digits", ServiceGenerateDigits, func(ctx context.Context, d Driver) error {
		return d.GenerateDigits(ctx, c, digits)
	})
}

// Park implements [CallControl].
func (s *Supervisor) Park(ctx context.Context, c ConnectionRef, slot string) (string, error) {
	return call(s, ctx, "park", ServicePark, func(ctx context.Context, d Driver) (string, error) { return d.Park(ctx, c, slot) })
}

// Pickup implements [CallControl].
func (s *Supervisor) Pickup(ctx context.Context, device, from string) (ConnectionRef, error) {
	return call(s, ctx, "pickup", ServicePickup, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.Pickup(ctx, device, from)
	})
}

// SetDND implements [CallControl].
func (s *Supervisor) SetDND(ctx context.Context, device string, enabled bool) error {
	return call0(s, ctx, "set dnd", ServiceSetDND, func(ctx context.Context, d Driver) error { return d.SetDND(ctx, device, enabled) })
}

// SetForwarding implements [CallControl].
func (s *Supervisor) SetForwarding(ctx context.Context, device string, f Forwarding) error {
	return call0(s, ctx, "set forwarding", ServiceSetForwarding, func(ctx context.Context, d Driver) error {
		return d.SetForwarding(ctx, device, f)
	})
}

// SetAgentState implements [CallControl].
func (s *Supervisor) SetAgentState(ctx context.Context, r AgentStateRequest) error {
	return call0(s, ctx, "set agent state", ServiceSetAgentState, func(ctx context.Context, d Driver) error {
		return d.SetAgentState(ctx, r)
	})
}

// Reconnect implements [CallControl].
func (s *Supervisor) Reconnect(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return call(s, ctx, "reconnect", ServiceReconnect, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.Reconnect(ctx, held, active)
	})
}

// Alternate implements [CallControl].
func (s *Supervisor) Alternate(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return call(s, ctx, "alternate", ServiceAlternate, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.Alternate(ctx, held, active)
	})
}

// ListDevices implements [CallControl].
func (s *Supervisor) ListDevices(ctx context.Context, token string, size int) (DevicePage, error) {
	return call(s, ctx, "list devices", ServiceListDevices, func(ctx context.Context, d Driver) (DevicePage, error) {
		return d.ListDevices(ctx, token, size)
	})
}

var _ Features = (*Supervisor)(nil)

// GroupPickup implements [Features].
func (s *Supervisor) GroupPickup(ctx context.Context, device, group string) (ConnectionRef, error) {
	return call(s, ctx, "group pickup", ServiceGroupPickup, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.GroupPickup(ctx, device, group)
	})
}

// CampOn implements [Features].
func (s *Supervisor) CampOn(ctx context.Context, c ConnectionRef) error {
	return call0(s, ctx, "camp on", ServiceCampOn, func(ctx context.Context, d Driver) error { return d.CampOn(ctx, c) })
}

// CallBack implements [Features].
func (s *Supervisor) CallBack(ctx context.Context, c ConnectionRef) error {
	return call0(s, ctx, "call back", ServiceCallBack, func(ctx context.Context, d Driver) error { return d.CallBack(ctx, c) })
}

// Intrude implements [Features].
func (s *Supervisor) Intrude(ctx context.Context, c ConnectionRef) (ConnectionRef, error) {
	return call(s, ctx, "intrude", ServiceIntrude, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.Intrude(ctx, c)
	})
}

// ConsultationAccount implements [Features]: an account code needs
// ServiceAccountCode (else ErrNotSupported, never dropped silently).
func (s *Supervisor) ConsultationAccount(ctx context.Context, existing ConnectionRef, to, account string) (ConnectionRef, error) {
	if account == "" {
		return s.Consultation(ctx, existing, to)
	}
	if err := s.needs("consultation", ServiceAccountCode); err != nil {
		return ConnectionRef{}, err
	}
	return call(s, ctx, "consultation", ServiceConsultation, func(ctx context.Context, d Driver) (ConnectionRef, error) {
		return d.ConsultationAccount(ctx, existing, to, account)
	})
}

// needs fails with ErrNotSupported when the running driver does not
// declare svc (a driver that is down fails later, in call).
func (s *Supervisor) needs(op string, svc Service) error {
	if inc := s.cur.Load(); inc != nil && !inc.caps.Supports(svc) {
		return fmt.Errorf("driver %s: %s: %s: %w", s.cfg.Name, op, svc, ErrNotSupported)
	}
	return nil
}
