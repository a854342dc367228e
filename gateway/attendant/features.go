package attendant

import (
	"context"
	"fmt"

	"github.com/switchboard-gw/switchboard/plugins"
)

// The attendant services beyond call control ([plugins.Features]): group
// pickup with a group id, the busy treatments (camp-on, call back,
// intrusion) and account codes. A source that lacks them (the gateway's
// own users) answers plugins.ErrNotSupported, which the API turns into
// 501 like any other service the source does not declare.

// BusyActions are the actions of POST /api/v1/calls/{id}/{action} that
// treat a call to a busy (or unanswering) device: the connection acting
// is the caller's (ECMA-269 §17.1.4 CallBackCallRelated, §17.1.6
// CampOnCall, §17.1.16 IntrudeCall).
var BusyActions = []string{"camp-on", "callback", "intrude"}

// featuresOf returns src's attendant services, or ErrNotSupported.
func featuresOf(src Source, op string) (plugins.Features, error) {
	f, ok := src.(plugins.Features)
	if !ok {
		return nil, fmt.Errorf("source %s: %s: %w", src.Name(), op, plugins.ErrNotSupported)
	}
	return f, nil
}

// GroupPickup picks up, at dev (API id), a call ringing in pickup group
// group ("" = dev's own group). It returns dev's source and its
// connection in the picked call.
func (m *Model) GroupPickup(ctx context.Context, dev, group string) (Source, plugins.ConnectionRef, error) {
	source, local, ok := SplitID(dev)
	if !ok {
		return nil, plugins.ConnectionRef{}, fmt.Errorf("device %s: %w", dev, ErrUnknownDevice)
	}
	src, ok := m.Source(source)
	if !ok {
		return nil, plugins.ConnectionRef{}, fmt.Errorf("device %s: %w %q", dev, ErrUnknownSource, source)
	}
	f, err := featuresOf(src, "group pickup")
	if err != nil {
		return src, plugins.ConnectionRef{}, err
	}
	ref, err := f.GroupPickup(ctx, local, group)
	return src, ref, err
}

// BusyTreatment runs action (one of BusyActions) on call (API id) at dev
// (API id), the caller's device. intrude answers dev's connection in the
// joined call; the others answer an empty ConnectionRef.
func (m *Model) BusyTreatment(ctx context.Context, action, call, dev string) (Source, plugins.ConnectionRef, error) {
	src, ref, err := m.Connection(call, dev)
	if err != nil {
		return nil, plugins.ConnectionRef{}, err
	}
	f, err := featuresOf(src, action)
	if err != nil {
		return src, plugins.ConnectionRef{}, err
	}
	switch action {
	case "camp-on":
		return src, plugins.ConnectionRef{}, f.CampOn(ctx, ref)
	case "callback":
		return src, plugins.ConnectionRef{}, f.CallBack(ctx, ref)
	case "intrude":
		res, err := f.Intrude(ctx, ref)
		return src, res, err
	}
	return src, plugins.ConnectionRef{}, fmt.Errorf("%w: unknown action %q", ErrBadRequest, action)
}

// Consult is src.Consultation charging account (CSTA accountCode); an
// account code on a source that cannot pass it on is refused
// (ErrNotSupported), never dropped.
func Consult(ctx context.Context, src Source, existing plugins.ConnectionRef, to, account string) (plugins.ConnectionRef, error) {
	if account == "" {
		return src.Consultation(ctx, existing, to)
	}
	f, err := featuresOf(src, "consultation with an account code")
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	return f.ConsultationAccount(ctx, existing, to, account)
}

// MakeCallAccount is src.MakeCall with r's account code, refused by a
// source that cannot pass account codes on.
func MakeCallAccount(ctx context.Context, src Source, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	if r.AccountCode != "" {
		if _, err := featuresOf(src, "make call with an account code"); err != nil {
			return plugins.ConnectionRef{}, err
		}
	}
	return src.MakeCall(ctx, r)
}

// watchRecallLocked maps a recall the PBX makes itself (an unanswered
// transfer or park coming back: an event at a watched device with cause
// recall, ECMA-269 §12.2.8) to the same recall message the model sends
// for its own safe-transfer recalls.
func (m *Model) watchRecallLocked(source string, ev plugins.Event) {
	if ev.Cause != plugins.CauseRecall || ev.CallID == "" ||
		ev.Type != plugins.EventDelivered && ev.Type != plugins.EventDiverted && ev.Type != plugins.EventQueued {
		return
	}
	to := ev.Device
	if ev.Type == plugins.EventDiverted && ev.Other != "" {
		to = ev.Other
	}
	m.publishLocked(Message{Type: "recall", Source: source, CallID: ID(source, ev.CallID),
		Detail: "recalled by the PBX to " + to}, ID(source, to), "")
}
