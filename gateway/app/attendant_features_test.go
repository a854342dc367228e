package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/plugins"
)

// featureSource is a testSource with the attendant services.
type featureSource struct{ *testSource }

func (s featureSource) GroupPickup(_ context.Context, dev, group string) (plugins.ConnectionRef, error) {
	s.did("group pickup %s %s", dev, group)
	return plugins.ConnectionRef{Device: dev, CallID: "c7"}, nil
}
func (s featureSource) CampOn(_ context.Context, c plugins.ConnectionRef) error {
	s.did("camp on %s/%s", c.Device, c.CallID)
	return nil
}
func (s featureSource) CallBack(_ context.Context, c plugins.ConnectionRef) error {
	s.did("call back %s/%s", c.Device, c.CallID)
	return nil
}
func (s featureSource) Intrude(_ context.Context, c plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	s.did("intrude %s/%s", c.Device, c.CallID)
	return plugins.ConnectionRef{Device: c.Device, CallID: "c8"}, nil
}
func (s featureSource) ConsultationAccount(_ context.Context, c plugins.ConnectionRef, to, account string) (plugins.ConnectionRef, error) {
	s.did("consult %s/%s %s account %s", c.Device, c.CallID, to, account)
	return plugins.ConnectionRef{Device: c.Device, CallID: "c9"}, nil
}

// TestAttendantQueuesAndBusyTreatments: the queue of an ACD device with
// its waiting calls in order; camp-on, call back and intrusion on the
// operator's call to a busy device, group pickup with a group id and an
// account code on a consultation reach the source; hostile bodies get
// 400.
func TestAttendantQueuesAndBusyTreatments(t *testing.T) {
	src := featureSource{&testSource{name: "pbx1", devs: []string{"201", "600"}}}
	a := runApp(t, "", func(a *App) { a.att.AddSource(src) })
	a.att.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Type: plugins.EventSnapshot, Device: "201",
		Snapshot: &plugins.DeviceSnapshot{Device: "201", Calls: []plugins.CallSnapshot{{CallID: "c1", ConnectionID: "x1", State: plugins.StateFail, Other: "202"}}}})
	a.att.Apply(plugins.Event{Driver: "pbx1", Incarnation: 1, Type: plugins.EventSnapshot, Device: "600",
		Snapshot: &plugins.DeviceSnapshot{Device: "600", Category: plugins.CategoryGroup, Calls: []plugins.CallSnapshot{
			{CallID: "q2", State: plugins.StateQueued, Calling: "0302", QueuePosition: 2},
			{CallID: "q1", State: plugins.StateQueued, Calling: "0301", QueuePosition: 1}}}})
	base := "https://" + a.AdminAddr()
	c := authClient(a, "127.0.0.1")

	code, _, body := attDo(t, c, "GET", base+"/api/v1/devices/queues", "")
	i1, i2 := strings.Index(body, `"call_id": "pbx1:q1"`), strings.Index(body, `"call_id": "pbx1:q2"`)
	if code != 200 || !strings.Contains(body, `"id": "pbx1:600"`) || !strings.Contains(body, `"length": 2`) || i1 < 0 || i2 < i1 ||
		strings.Contains(body, `"id": "pbx1:201"`) {
		t.Fatalf("queues: %d %s", code, body)
	}
	if code, _, body := attDo(t, c, "GET", base+"/api/v1/devices/pbx1:600", ""); code != 200 || !strings.Contains(body, `"category": "group"`) ||
		!strings.Contains(body, `"position": 2`) {
		t.Fatalf("device 600: %d %s", code, body)
	}

	for _, tc := range []struct {
		path, body string
		code       int
		inBody     string
		did        string
	}{
		{"/api/v1/calls/pbx1:c1/camp-on", `{"device":"pbx1:201"}`, 204, "", "camp on 201/c1"},
		{"/api/v1/calls/pbx1:c1/callback", `{"device":"pbx1:201"}`, 204, "", "call back 201/c1"},
		{"/api/v1/calls/pbx1:c1/intrude", `{"device":"pbx1:201"}`, 200, `"call_id": "pbx1:c8"`, "intrude 201/c1"},
		{"/api/v1/devices/pbx1:201/group-pickup", `{"group":"g7"}`, 200, `"call_id": "pbx1:c7"`, "group pickup 201 g7"},
		{"/api/v1/devices/pbx1:201/group-pickup", `{}`, 200, `"call_id": "pbx1:c7"`, "group pickup 201 "},
		{"/api/v1/calls/pbx1:c1/consult", `{"device":"pbx1:201","to":"300","account_code":"4711"}`, 200, `"call_id": "pbx1:c9"`, "consult 201/c1 300 account 4711"},
		{"/api/v1/calls/pbx1:c1/intrude", `{"device":"pbx1:201","x":1}`, 400, "", ""},
		{"/api/v1/calls/pbx1:c1/camp-on", `{}`, 400, "device", ""},
		{"/api/v1/calls/pbx1:c9/camp-on", `{"device":"pbx1:201"}`, 404, "", ""},
		{"/api/v1/devices/pbx1:201/group-pickup", `{"group":"g\u0001"}`, 400, "control", ""},
		{"/api/v1/devices/pbx1:201/group-pickup", `{"group":"` + strings.Repeat("9", 300) + `"}`, 400, "longer", ""},
		{"/api/v1/devices/pbx1:201/group-pickup", `{"group":`, 400, "", ""},
	} {
		code, _, body := attDo(t, c, "POST", base+tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.inBody) {
			t.Errorf("%s %.40s: %d %s, want %d with %q", tc.path, tc.body, code, body, tc.code, tc.inBody)
		}
		if tc.did != "" && !slices.Contains(src.calls(), tc.did) {
			t.Errorf("%s: the source got %v, want %q", tc.path, src.calls(), tc.did)
		}
	}
}

// TestAttendantFeaturesNotSupported: a source without the attendant
// services answers 501 naming it, and an account code it cannot pass on
// refuses the call instead of placing it without one.
func TestAttendantFeaturesNotSupported(t *testing.T) {
	a, src := attendantApp(t, "")
	base := "https://" + a.AdminAddr()
	c := authClient(a, "127.0.0.1")
	for _, tc := range []struct{ path, body string }{
		{"/api/v1/calls/pbx1:c1/camp-on", `{"device":"pbx1:201"}`},
		{"/api/v1/calls/pbx1:c1/callback", `{"device":"pbx1:201"}`},
		{"/api/v1/calls/pbx1:c1/intrude", `{"device":"pbx1:201"}`},
		{"/api/v1/devices/pbx1:201/group-pickup", `{"group":"g7"}`},
		{"/api/v1/calls", `{"from":"pbx1:201","to":"300","account_code":"4711"}`},
	} {
		code, h, body := attDo(t, c, "POST", base+tc.path, tc.body)
		if code != 501 || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, "pbx1") {
			t.Errorf("%s: %d %s, want 501 naming pbx1", tc.path, code, body)
		}
	}
	if got := src.calls(); len(got) != 0 {
		t.Errorf("the source got %v", got)
	}
}
