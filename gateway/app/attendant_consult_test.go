package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/plugins"
)

// TestAttendantReconnectAlternate: the console's "cancel consultation"
// and "swap" reach the source with the held call and the consultation
// call at the device (CSTA ReconnectCall / AlternateCall); a source that
// cannot swap answers 501; the call shows the caller's name, where it was
// forwarded from and the PBX's global id.
func TestAttendantReconnectAlternate(t *testing.T) {
	a, src := attendantApp(t, "")
	e := plugins.Event{Driver: "pbx1", Incarnation: 1, Seq: 1, Device: "201", Type: plugins.EventOriginated,
		CallID: "c2", State: plugins.StateConnected, Calling: "201", Called: "300", CalledName: "Lager",
		LastRedirection: "301", OriginalCalled: "301", GlobalCallID: "g-77", PartyType: plugins.PartyInternal}
	a.att.Apply(e)
	base := "https://" + a.AdminAddr()
	c := authClient(a, "127.0.0.1")

	code, _, body := attDo(t, c, "GET", base+"/api/v1/calls/pbx1:c2", "")
	for _, want := range []string{`"called_name": "Lager"`, `"forwarded_from": "301"`, `"original_called": "301"`,
		`"global_call_id": "g-77"`, `"party_type": "internal"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("call c2: %d, no %s in %s", code, want, body)
		}
	}
	code, _, body = attDo(t, c, "POST", base+"/api/v1/calls/pbx1:c1/reconnect", `{"device":"pbx1:201","consult_call":"pbx1:c2"}`)
	if code != 200 || !strings.Contains(body, `"call_id": "pbx1:c1"`) {
		t.Fatalf("reconnect: %d %s", code, body)
	}
	if got := src.calls(); !slices.Equal(got, []string{"reconnect 201/c1 201/c2"}) {
		t.Fatalf("the source got %v", got)
	}
	for _, tc := range []struct {
		path, body string
		code       int
		inDetail   string
	}{
		{"/api/v1/calls/pbx1:c1/alternate", `{"device":"pbx1:201","consult_call":"pbx1:c2"}`, 501, "source pbx1"},
		{"/api/v1/calls/pbx1:c1/reconnect", `{"device":"pbx1:201"}`, 400, "consult_call"},
		{"/api/v1/calls/pbx1:c1/alternate", `{"device":"pbx1:201","consult_call":"pbx1:c9"}`, 404, "not in call"},
	} {
		code, h, body := attDo(t, c, "POST", base+tc.path, tc.body)
		if code != tc.code || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, tc.inDetail) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.path, tc.body, code, body, tc.code, tc.inDetail)
		}
	}
}
