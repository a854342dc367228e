package sdk

import (
	"context"

	"github.com/switchboard-gw/switchboard/plugins"
)

// The attendant services ([plugins.Features]): optional like the others,
// declared when implemented, "not supported" otherwise.
type (
	// GroupPicker picks up a call ringing in a named pickup group (CSTA
	// GroupPickupCall, ECMA-269 §17.1.14).
	GroupPicker interface {
		GroupPickup(ctx context.Context, device, group string) (plugins.ConnectionRef, error)
	}
	// CampOner camps a call on the busy device it called (CSTA
	// CampOnCall, ECMA-269 §17.1.6).
	CampOner interface {
		CampOn(ctx context.Context, c plugins.ConnectionRef) error
	}
	// CallBacker books a call back from a busy device (CSTA
	// CallBackCallRelated, ECMA-269 §17.1.4).
	CallBacker interface {
		CallBack(ctx context.Context, c plugins.ConnectionRef) error
	}
	// Intruder joins the caller into the busy device's call (CSTA
	// IntrudeCall, ECMA-269 §17.1.16).
	Intruder interface {
		Intrude(ctx context.Context, c plugins.ConnectionRef) (plugins.ConnectionRef, error)
	}
	// AccountCoder passes account codes to the PBX: MakeCallRequest.
	// AccountCode in MakeCall, and account here (CSTA accountCode,
	// ECMA-269 §17.1.10/§17.1.18). A driver that implements it declares
	// [plugins.ServiceAccountCode]; one that does not gets no request
	// carrying an account code (the SDK refuses it).
	AccountCoder interface {
		ConsultationAccount(ctx context.Context, existing plugins.ConnectionRef, to, account string) (plugins.ConnectionRef, error)
	}
	// QueueReporter is implemented by a driver that monitors ACD, hunt
	// and operator group devices with queue length and positions (QUEUED
	// events, snapshot categories); it has no call, only the capability.
	QueueReporter interface {
		ReportsQueues() bool
	}
)

// implementedFeatures lists the attendant services d implements.
func implementedFeatures(d Driver) []plugins.Service {
	var out []plugins.Service
	if q, ok := d.(QueueReporter); ok && q.ReportsQueues() {
		out = append(out, plugins.ServiceQueueMonitor)
	}
	if _, ok := d.(GroupPicker); ok {
		out = append(out, plugins.ServiceGroupPickup)
	}
	if _, ok := d.(CampOner); ok {
		out = append(out, plugins.ServiceCampOn)
	}
	if _, ok := d.(CallBacker); ok {
		out = append(out, plugins.ServiceCallBack)
	}
	if _, ok := d.(Intruder); ok {
		out = append(out, plugins.ServiceIntrude)
	}
	if _, ok := d.(AccountCoder); ok {
		out = append(out, plugins.ServiceAccountCode)
	}
	return out
}

func (a *adapter) GroupPickup(ctx context.Context, device, group string) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceGroupPickup); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(GroupPicker).GroupPickup(ctx, device, group)
}

func (a *adapter) CampOn(ctx context.Context, c plugins.ConnectionRef) error {
	if err := a.check(plugins.ServiceCampOn); err != nil {
		return err
	}
	return a.d.(CampOner).CampOn(ctx, c)
}

func (a *adapter) CallBack(ctx context.Context, c plugins.ConnectionRef) error {
	if err := a.check(plugins.ServiceCallBack); err != nil {
		return err
	}
	return a.d.(CallBacker).CallBack(ctx, c)
}

func (a *adapter) Intrude(ctx context.Context, c plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceIntrude); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(Intruder).Intrude(ctx, c)
}

func (a *adapter) ConsultationAccount(ctx context.Context, existing plugins.ConnectionRef, to, account string) (plugins.ConnectionRef, error) {
	if account == "" {
		return a.Consultation(ctx, existing, to)
	}
	if err := a.check(plugins.ServiceConsultation); err != nil {
		return plugins.ConnectionRef{}, err
	}
	if err := a.check(plugins.ServiceAccountCode); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(AccountCoder).ConsultationAccount(ctx, existing, to, account)
}
