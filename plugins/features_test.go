package plugins_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// The attendant services of testPBX (features.go of the SDK).

func (p *testPBX) GroupPickup(_ context.Context, device, group string) (plugins.ConnectionRef, error) {
	p.rec("group pickup %s %s", device, group)
	return plugins.ConnectionRef{Device: device, CallID: "c7"}, nil
}
func (p *testPBX) CampOn(_ context.Context, c plugins.ConnectionRef) error {
	p.rec("camp on %v", c)
	return nil
}
func (p *testPBX) CallBack(_ context.Context, c plugins.ConnectionRef) error {
	p.rec("call back %v", c)
	return nil
}
func (p *testPBX) Intrude(_ context.Context, c plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	p.rec("intrude %v", c)
	return plugins.ConnectionRef{Device: c.Device, CallID: "c8"}, nil
}
func (p *testPBX) ConsultationAccount(_ context.Context, c plugins.ConnectionRef, to, account string) (plugins.ConnectionRef, error) {
	p.rec("consult %v %s account %s", c, to, account)
	return plugins.ConnectionRef{Device: c.Device, CallID: "c2"}, nil
}
func (p *testPBX) ReportsQueues() bool { return true }

// callerPBX can make calls but has no account codes.
type callerPBX struct{ minimalPBX }

func (callerPBX) MakeCall(_ context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{Device: r.Calling, CallID: "c1"}, nil
}
func (callerPBX) Consultation(_ context.Context, c plugins.ConnectionRef, _ string) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{Device: c.Device, CallID: "c2"}, nil
}

// TestFeaturesDeclared: every attendant service testPBX implements is
// in its capabilities.
func TestFeaturesDeclared(t *testing.T) {
	d := inProcess(t, newTestPBX())
	caps, err := d.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []plugins.Service{plugins.ServiceQueueMonitor, plugins.ServiceGroupPickup, plugins.ServiceCampOn,
		plugins.ServiceCallBack, plugins.ServiceIntrude, plugins.ServiceAccountCode} {
		if !slices.Contains(caps.Services, s) {
			t.Errorf("%s not declared: %v", s, caps.Services)
		}
	}
}

// TestFeaturesNotSupported: a driver without the attendant services
// answers "not supported" through the plugin connection, and an account
// code reaches no driver that cannot honour it: the call is refused, not
// placed without it.
func TestFeaturesNotSupported(t *testing.T) {
	d := inProcess(t, callerPBX{minimalPBX{ev: sdk.NewEvents(0)}})
	ctx := t.Context()
	cr := plugins.ConnectionRef{Device: "1001", CallID: "c1"}
	if _, err := d.GroupPickup(ctx, "1001", "g1"); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("group pickup: %v", err)
	}
	if err := d.CampOn(ctx, cr); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("camp on: %v", err)
	}
	if err := d.CallBack(ctx, cr); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("call back: %v", err)
	}
	if _, err := d.Intrude(ctx, cr); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("intrude: %v", err)
	}
	if _, err := d.MakeCall(ctx, plugins.MakeCallRequest{Calling: "1001", Called: "1002", AccountCode: "4711"}); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("make call with an account code on a driver without them: %v", err)
	}
	if _, err := d.ConsultationAccount(ctx, cr, "1003", "4711"); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("consultation with an account code: %v", err)
	}
	if r, err := d.MakeCall(ctx, plugins.MakeCallRequest{Calling: "1001", Called: "1002"}); err != nil || r.CallID != "c1" {
		t.Errorf("make call without an account code: %+v %v", r, err)
	}
	if r, err := d.ConsultationAccount(ctx, cr, "1003", ""); err != nil || r.CallID != "c2" {
		t.Errorf("consultation without an account code: %+v %v", r, err)
	}
}
