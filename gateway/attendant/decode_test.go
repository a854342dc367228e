package attendant

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestDecode: strict decoding of request bodies: unknown fields, wrong
// types, trailing data, oversized bodies and missing fields are errors
// of the right kind.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, body, action string
		want               error
	}{
		{"ok", `{"device":"pbx1:201"}`, "answer", nil},
		{"unknown field", `{"device":"pbx1:201","x":1}`, "answer", ErrBadRequest},
		{"wrong type", `{"device":201}`, "answer", ErrBadRequest},
		{"not json", `{device`, "answer", ErrBadRequest},
		{"trailing", `{"device":"pbx1:201"} {}`, "answer", ErrBadRequest},
		{"empty", ``, "answer", ErrBadRequest},
		{"too large", `{"device":"` + strings.Repeat("a", MaxBody) + `"}`, "answer", ErrTooLarge},
		{"no device", `{}`, "answer", ErrBadRequest},
		{"device not an id", `{"device":"201"}`, "answer", ErrBadRequest},
		{"consult without to", `{"device":"p:1"}`, "consult", ErrBadRequest},
		{"transfer both", `{"device":"p:1","to":"2","consult_call":"p:c"}`, "transfer", ErrBadRequest},
		{"transfer blind", `{"device":"p:1","to":"2"}`, "transfer", nil},
		{"dtmf bad digit", `{"device":"p:1","digits":"12x"}`, "dtmf", ErrBadRequest},
		{"dtmf", `{"device":"p:1","digits":"12*#A"}`, "dtmf", nil},
		{"control char", `{"device":"p:1","to":"2\u0000"}`, "deflect", ErrBadRequest},
		{"unknown action", `{"device":"p:1"}`, "explode", ErrBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r ActionRequest
			err := Decode(strings.NewReader(tc.body), &r)
			if err == nil {
				err = r.Validate(tc.action)
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	var d DNDRequest
	if err := Decode(strings.NewReader(`{"enabled":"yes"}`), &d); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("dnd wrong type: %v", err)
	}
	var d2 DNDRequest
	if err := Decode(strings.NewReader(`{}`), &d2); err != nil || !errors.Is(d2.Validate(), ErrBadRequest) {
		t.Fatalf("dnd without enabled: %v", err)
	}
	var fw ForwardingRequest
	if err := Decode(strings.NewReader(`{"type":"sideways","enabled":true,"to":"1"}`), &fw); err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Forwarding(); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("forwarding type sideways: %v", err)
	}
}

// FuzzDecodeAction: whatever the body, a request that decodes and
// validates re-encodes to the same request, names a device id, and holds
// only the digits RFC 4733 can send; nothing panics.
func FuzzDecodeAction(f *testing.F) {
	for _, s := range []string{`{"device":"pbx1:201"}`, `{"device":"p:1","digits":"12#"}`, `{"device":"p:1","to":"2","slot":"7"}`,
		`{"device":"p:1","consult_call":"p:c2"}`, `{"device":1}`, `[]`, `{"device":"p:1"}{}`, "\xff"} {
		f.Add([]byte(s), "dtmf")
		f.Add([]byte(s), "transfer")
	}
	f.Fuzz(func(t *testing.T, body []byte, action string) {
		var r ActionRequest
		if err := Decode(strings.NewReader(string(body)), &r); err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if err := r.Validate(action); err != nil {
			return
		}
		if _, _, ok := SplitID(r.Device); !ok {
			t.Fatalf("valid request with device %q", r.Device)
		}
		if action == "dtmf" && strings.Trim(r.Digits, "0123456789*#ABCDabcd") != "" {
			t.Fatalf("valid dtmf %q", r.Digits)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back ActionRequest
		if err := Decode(strings.NewReader(string(b)), &back); err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip %s: %+v %v", b, back, err)
		}
	})
}

// FuzzDecodeSettings: forwarding and presence bodies that decode and
// validate hold a real forwarding type (with a destination when enabled)
// and a presence a user may set (never offline or unknown).
func FuzzDecodeSettings(f *testing.F) {
	for _, s := range []string{`{"type":"immediate","to":"300","enabled":true}`, `{"type":"busy","enabled":false}`,
		`{"presence":"Absent"}`, `{"presence":""}`, `{"presence":"offline"}`, `{"type":"unspecified","enabled":true,"to":"1"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fw ForwardingRequest
		if Decode(strings.NewReader(string(body)), &fw) == nil {
			if got, err := fw.Forwarding(); err == nil {
				if got.Type.String() == "unspecified" || strings.HasPrefix(got.Type.String(), "unknown") {
					t.Fatalf("valid forwarding of type %s", got.Type)
				}
				if got.Enabled && got.To == "" {
					t.Fatalf("enabled forwarding without a destination: %+v", got)
				}
			}
		}
		var pr PresenceRequest
		if Decode(strings.NewReader(string(body)), &pr) == nil {
			if p, err := pr.Value(); err == nil && p != "" && (!p.Valid() || p == PresenceOffline || p == PresenceUnknown) {
				t.Fatalf("a user set presence %q", p)
			}
		}
	})
}
