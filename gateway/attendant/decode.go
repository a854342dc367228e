package attendant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-gw/switchboard/plugins"
)

// MaxBody is the largest request body the API reads (64 KiB).
const MaxBody = 64 << 10

// Decoding errors: ErrTooLarge maps to 413, ErrBadRequest to 400.
var (
	ErrTooLarge   = errors.New("request body too large")
	ErrBadRequest = errors.New("bad request")
)

// Decode reads one JSON object from r into v strictly: unknown fields,
// wrong types, trailing data and bodies over MaxBody are errors.
func Decode(r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return fmt.Errorf("%w: reading body: %v", ErrBadRequest, err)
	}
	if len(b) > MaxBody {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxBody)
	}
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: body is not UTF-8", ErrBadRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON object", ErrBadRequest)
	}
	return nil
}

// maxID bounds ids, numbers and digits in requests.
const maxID = 256

func checkField(name, v string, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("%w: %s is required", ErrBadRequest, name)
	case len(v) > maxID:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrBadRequest, name, maxID)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: %s has control characters", ErrBadRequest, name)
	}
	return nil
}

// DNDRequest is the body of PUT /api/v1/devices/{id}/dnd.
type DNDRequest struct {
	Enabled *bool `json:"enabled"`
}

// Validate checks the request.
func (r *DNDRequest) Validate() error {
	if r.Enabled == nil {
		return fmt.Errorf("%w: enabled is required", ErrBadRequest)
	}
	return nil
}

// ForwardingRequest is the body of PUT /api/v1/devices/{id}/forwarding.
type ForwardingRequest struct {
	Type    string `json:"type"`
	To      string `json:"to"`
	Enabled *bool  `json:"enabled"`
}

// Forwarding validates the request and returns the setting.
func (r *ForwardingRequest) Forwarding() (plugins.Forwarding, error) {
	var t plugins.ForwardingType
	if err := t.UnmarshalText([]byte(r.Type)); err != nil || t == plugins.ForwardUnspecified {
		return plugins.Forwarding{}, fmt.Errorf("%w: type must be immediate, busy or no_answer", ErrBadRequest)
	}
	if r.Enabled == nil {
		return plugins.Forwarding{}, fmt.Errorf("%w: enabled is required", ErrBadRequest)
	}
	if err := checkField("to", r.To, *r.Enabled); err != nil {
		return plugins.Forwarding{}, err
	}
	return plugins.Forwarding{Type: t, To: r.To, Enabled: *r.Enabled}, nil
}

// PresenceRequest is the body of PUT /api/v1/presence/{id}: the user's
// own presence (available, away, busy, dnd or a MiVO400 state name); ""
// clears it.
type PresenceRequest struct {
	Presence *string `json:"presence"`
}

// Value validates the request and returns the presence ("" clears).
func (r *PresenceRequest) Value() (Presence, error) {
	if r.Presence == nil {
		return "", fmt.Errorf("%w: presence is required (\"\" clears it)", ErrBadRequest)
	}
	if *r.Presence == "" {
		return "", nil
	}
	p, err := ParseUserPresence(*r.Presence)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return p, nil
}

// MakeCallRequest is the body of POST /api/v1/calls: From (a device API
// id) calls To (a number or device as its source dials it).
type MakeCallRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	// AccountCode is charged for the call (CSTA accountCode) where the
	// source can pass it on; elsewhere the request is refused (501).
	AccountCode string `json:"account_code,omitempty"`
}

// Validate checks the request.
func (r *MakeCallRequest) Validate() error {
	if err := checkField("from", r.From, true); err != nil {
		return err
	}
	if _, _, ok := SplitID(r.From); !ok {
		return fmt.Errorf("%w: from must be a device id <source>:<device>", ErrBadRequest)
	}
	if err := checkField("account_code", r.AccountCode, false); err != nil {
		return err
	}
	return checkField("to", r.To, true)
}

// ActionRequest is the body of POST /api/v1/calls/{id}/{action}. Device
// (API id) is the device whose connection acts; the other fields depend
// on the action: To (consult, deflect, blind transfer), ConsultCall
// (attended transfer, conference, reconnect, alternate: the consultation
// call's API id; the call in the path is the held one),
// Digits (dtmf), Slot (park; optional where the source chooses).
type ActionRequest struct {
	Device      string `json:"device"`
	To          string `json:"to,omitempty"`
	ConsultCall string `json:"consult_call,omitempty"`
	Digits      string `json:"digits,omitempty"`
	Slot        string `json:"slot,omitempty"`
	// AccountCode is charged for a consultation call (consult) where
	// the source can pass it on.
	AccountCode string `json:"account_code,omitempty"`
}

// Actions are the call actions of POST /api/v1/calls/{id}/{action}.
var Actions = []string{"answer", "hold", "retrieve", "clear", "consult", "transfer", "conference", "deflect", "dtmf", "park",
	"reconnect", "alternate"}

// Validate checks the request for action.
func (r *ActionRequest) Validate(action string) error {
	if err := checkField("device", r.Device, true); err != nil {
		return err
	}
	if _, _, ok := SplitID(r.Device); !ok {
		return fmt.Errorf("%w: device must be a device id <source>:<device>", ErrBadRequest)
	}
	for _, f := range []struct{ n, v string }{{"to", r.To}, {"consult_call", r.ConsultCall}, {"digits", r.Digits}, {"slot", r.Slot}, {"account_code", r.AccountCode}} {
		if err := checkField(f.n, f.v, false); err != nil {
			return err
		}
	}
	need := func(name, v string) error {
		if v == "" {
			return fmt.Errorf("%w: %s needs %s", ErrBadRequest, action, name)
		}
		return nil
	}
	switch action {
	case "answer", "hold", "retrieve", "clear", "park", "camp-on", "callback", "intrude":
		return nil
	case "consult", "deflect":
		return need("to", r.To)
	case "transfer":
		if (r.To == "") == (r.ConsultCall == "") {
			return fmt.Errorf("%w: transfer needs to (blind) or consult_call (attended), not both", ErrBadRequest)
		}
		return nil
	case "conference", "reconnect", "alternate":
		return need("consult_call", r.ConsultCall)
	case "dtmf":
		if err := need("digits", r.Digits); err != nil {
			return err
		}
		if strings.Trim(r.Digits, "0123456789*#ABCDabcd") != "" {
			return fmt.Errorf("%w: digits may hold 0-9, *, # and A-D only (RFC 4733 events)", ErrBadRequest)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown action %q", ErrBadRequest, action)
}

// PickupRequest is the body of POST /api/v1/devices/{id}/pickup: the
// device picks up the call ringing at From (a device as its source names
// it, or a park slot).
type PickupRequest struct {
	From string `json:"from"`
}

// Validate checks the request.
func (r *PickupRequest) Validate() error { return checkField("from", r.From, true) }

// RetrieveRequest is the body of POST /api/v1/parked/{slot}/retrieve: the
// device (API id) that takes the call.
type RetrieveRequest struct {
	Device string `json:"device"`
}

// Validate checks the request.
func (r *RetrieveRequest) Validate() error {
	if err := checkField("device", r.Device, true); err != nil {
		return err
	}
	if _, _, ok := SplitID(r.Device); !ok {
		return fmt.Errorf("%w: device must be a device id <source>:<device>", ErrBadRequest)
	}
	return nil
}

// GroupPickupRequest is the body of POST /api/v1/devices/{id}/group-pickup:
// the pickup group (CSTA pickGroup); empty picks from the device's own
// group.
type GroupPickupRequest struct {
	Group string `json:"group,omitempty"`
}

// Validate checks the request.
func (r *GroupPickupRequest) Validate() error { return checkField("group", r.Group, false) }
