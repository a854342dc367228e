package attendant

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchboard-gw/switchboard/plugins"
)

// The fake's attendant services: recorded like its call control.

func (f *fakeSource) GroupPickup(_ context.Context, device, group string) (plugins.ConnectionRef, error) {
	f.record("group pickup %s %s", device, group)
	return plugins.ConnectionRef{Device: device, CallID: "g1"}, nil
}
func (f *fakeSource) CampOn(_ context.Context, c plugins.ConnectionRef) error {
	f.record("camp on %s %s %s", c.Device, c.CallID, c.ConnectionID)
	return nil
}
func (f *fakeSource) CallBack(_ context.Context, c plugins.ConnectionRef) error {
	f.record("call back %s %s %s", c.Device, c.CallID, c.ConnectionID)
	return nil
}
func (f *fakeSource) Intrude(_ context.Context, c plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	f.record("intrude %s %s %s", c.Device, c.CallID, c.ConnectionID)
	return plugins.ConnectionRef{Device: c.Device, CallID: "i1"}, nil
}
func (f *fakeSource) ConsultationAccount(_ context.Context, c plugins.ConnectionRef, to, account string) (plugins.ConnectionRef, error) {
	f.record("consult %s %s %s account %s", c.Device, c.CallID, to, account)
	return plugins.ConnectionRef{Device: c.Device, CallID: "k1"}, nil
}

// plainSource is a source without the attendant services (as the
// gateway's own): only the Source methods of the fake show.
type plainSource struct{ Source }

// TestBusyTreatments: camp-on, call back and intrusion act on the
// caller's connection to the busy device, as the model knows it; group
// pickup names the group; a source without them answers not supported.
func TestBusyTreatments(t *testing.T) {
	f := newFake("pbx1", "201")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("pbx1", "201", plugins.CallSnapshot{CallID: "c1", ConnectionID: "x1", State: plugins.StateFail, Other: "202"}))
	ctx := context.Background()
	cases := []struct {
		action, want string
		res          string
	}{
		{"camp-on", "camp on 201 c1 x1", ""},
		{"callback", "call back 201 c1 x1", ""},
		{"intrude", "intrude 201 c1 x1", "i1"},
	}
	for _, c := range cases {
		src, res, err := m.BusyTreatment(ctx, c.action, "pbx1:c1", "pbx1:201")
		if err != nil || src.Name() != "pbx1" || res.CallID != c.res {
			t.Errorf("%s: %+v %v", c.action, res, err)
		}
		if got := f.recorded(); !slices.Contains(got, c.want) {
			t.Errorf("%s: source got %v, want %q", c.action, got, c.want)
		}
	}
	if _, _, err := m.BusyTreatment(ctx, "intrude", "pbx1:c9", "pbx1:201"); !errors.Is(err, ErrUnknownCall) {
		t.Errorf("intrude into an unknown call: %v", err)
	}
	if _, ref, err := m.GroupPickup(ctx, "pbx1:201", "g7"); err != nil || ref.CallID != "g1" || !slices.Contains(f.recorded(), "group pickup 201 g7") {
		t.Errorf("group pickup: %+v %v %v", ref, err, f.recorded())
	}

	p := newModel(t, Options{}, plainSource{newFake("gw", "u1")})
	p.Apply(snapEv("gw", "u1", plugins.CallSnapshot{CallID: "c1", State: plugins.StateFail}))
	for _, a := range BusyActions {
		if _, _, err := p.BusyTreatment(ctx, a, "gw:c1", "gw:u1"); !errors.Is(err, plugins.ErrNotSupported) {
			t.Errorf("%s on a source without it: %v", a, err)
		}
	}
	if _, _, err := p.GroupPickup(ctx, "gw:u1", ""); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("group pickup on a source without it: %v", err)
	}
}

// TestAccountCodes: an account code reaches a source that passes it on,
// and is refused (not dropped) by one that cannot.
func TestAccountCodes(t *testing.T) {
	ctx := context.Background()
	f := newFake("pbx1", "201")
	if _, err := Consult(ctx, f, plugins.ConnectionRef{Device: "201", CallID: "c1"}, "300", "4711"); err != nil ||
		!slices.Contains(f.recorded(), "consult 201 c1 300 account 4711") {
		t.Errorf("consult with an account code: %v %v", err, f.recorded())
	}
	plain := plainSource{newFake("gw", "u1")}
	if _, err := Consult(ctx, plain, plugins.ConnectionRef{Device: "u1", CallID: "c1"}, "300", "4711"); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("consult with an account code on a source without them: %v", err)
	}
	if _, err := MakeCallAccount(ctx, plain, plugins.MakeCallRequest{Calling: "u1", Called: "300", AccountCode: "4711"}); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("make call with an account code on a source without them: %v", err)
	}
}

// TestNativeRecall: a call the PBX itself recalls to the operator (an
// unanswered transfer or park coming back, cause recall) reaches the
// operator's stream as a recall message, as the model's own safe
// transfer recall does.
func TestNativeRecall(t *testing.T) {
	f := newFake("pbx1", "201")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("pbx1", "201"))
	sub, _ := m.Subscribe(m.Seq(), true, Filter{Devices: map[string]bool{"pbx1:201": true}})
	defer sub.Close()
	e := ev("pbx1", "201", 1, plugins.EventDelivered, "c5", plugins.StateAlerting)
	e.Cause = plugins.CauseRecall
	m.Apply(e)
	g := recvUntil(t, sub, func(m Message) bool { return m.Type == "recall" })
	if g.CallID != "pbx1:c5" || g.Source != "pbx1" {
		t.Fatalf("recall message: %+v", g)
	}
}
