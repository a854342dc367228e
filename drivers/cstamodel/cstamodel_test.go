package cstamodel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

func TestMaps(t *testing.T) {
	for wire, want := range map[string]plugins.ConnectionState{
		"null": plugins.StateNull, "initiated": plugins.StateInitiated, "alerting": plugins.StateAlerting,
		"connected": plugins.StateConnected, "hold": plugins.StateHold, "queued": plugins.StateQueued,
		"fail": plugins.StateFail, "bogus": plugins.StateUnspecified,
	} {
		if got := State(csta.ParseConnectionState(wire)); got != want {
			t.Errorf("state %s → %s, want %s", wire, got, want)
		}
	}
	for wire, want := range map[string]plugins.Cause{
		"newCall": plugins.CauseNewCall, "callNotAnswered": plugins.CauseNoAnswer,
		"callForward": plugins.CauseCallForwardImmediate, "parkedCall": plugins.CausePark, "whatever": plugins.CauseUnspecified,
	} {
		if got := Cause(csta.ParseCause(wire)); got != want {
			t.Errorf("cause %s → %s, want %s", wire, got, want)
		}
	}
	for _, ft := range []plugins.ForwardingType{plugins.ForwardImmediate, plugins.ForwardBusy, plugins.ForwardNoAnswer} {
		if ForwardType(ForwardName(ft)) != ft {
			t.Errorf("forwarding %s does not round-trip", ft)
		}
	}
	if ConnID("", "201") != "" || ConnID("7", "201") != "7@201" {
		t.Error("ConnID")
	}
}

func TestMapError(t *testing.T) {
	errLimit := errors.New("vendor: monitor limit")
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&csta.CSTAErrorCode{Category: csta.CategoryOperation, Value: "overallMonitorLimitExceeded"}, errLimit},
		{&csta.CSTAErrorCode{Category: csta.CategoryOperation, Value: "invalidDeviceID"}, plugins.ErrNotFound},
		{&csta.CSTAErrorCode{Category: csta.CategoryStateIncompatibility, Value: "invalidObjectState"}, plugins.ErrFailedPrecondition},
		{&csta.CSTAErrorCode{Category: csta.CategoryOperation, Value: "generic"}, plugins.ErrInvalidArgument},
		{csta.ErrClosed, plugins.ErrUnavailable},
	} {
		got := MapError(tc.err, errLimit)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.err) {
			t.Errorf("%v → %v, want %v wrapping it", tc.err, got, tc.want)
		}
	}
	other := errors.New("other")
	if MapError(other, errLimit) != other {
		t.Error("other errors pass as they are")
	}
}

// TestTranslator: device IDs are named by DeviceOf, the calls follow the
// events, a transfer joins the device's two calls into one, and the
// vendor switches (PBXTime, InitiatorCalls) take effect.
func TestTranslator(t *testing.T) {
	stamp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := &Translator{
		DeviceOf:       func(id string) string { ext, _, _ := strings.Cut(id, ":"); return ext },
		PBXTime:        func(csta.Message) time.Time { return stamp },
		InitiatorCalls: true,
	}
	calls := Calls{}
	base := plugins.Event{MonitorID: "m1", Device: "201"}
	party := func(ext string) *csta.Party { return csta.KnownParty(ext + ":CM1:10.0.0.5:0") }
	conn := func(call, ext string) csta.ConnectionID {
		return csta.ConnectionID{CallID: call, DeviceID: &csta.DeviceID{Value: ext + ":CM1:10.0.0.5:0"}}
	}

	ev, ok := tr.Event(calls, base, &csta.ServiceInitiatedEvent{InitiatedConnection: conn("1", "201"),
		InitiatingDevice: party("201"), LocalConnectionInfo: "initiated", Cause: "newCall"})
	if !ok || ev.Type != plugins.EventServiceInitiated || ev.Calling != "201" || ev.ConnectionID != "1@201" ||
		ev.State != plugins.StateInitiated || ev.Cause != plugins.CauseNewCall || ev.RawCause != "newCall" || !ev.PBXTime.Equal(stamp) {
		t.Fatalf("service initiated: %+v %v", ev, ok)
	}
	ev, _ = tr.Event(calls, base, &csta.EstablishedEvent{EstablishedConnection: conn("1", "202"), AnsweringDevice: party("202"),
		CallingDevice: party("201"), CalledDevice: party("202"), LocalConnectionInfo: "connected"})
	if ev.Type != plugins.EventEstablished || ev.Other != "202" || calls["1"].State != plugins.StateConnected || calls["1"].Other != "202" {
		t.Fatalf("established: %+v, calls %v", ev, calls)
	}
	calls["2"] = plugins.CallSnapshot{CallID: "2", ConnectionID: "2@201", State: plugins.StateConnected, Other: "203"}
	ev, _ = tr.Event(calls, base, &csta.TransferedEvent{PrimaryOldCall: conn("1", "201"), SecondaryOldCall: &csta.ConnectionID{CallID: "2"},
		TransferredToDevice: party("203"), LocalConnectionInfo: "null", Cause: "transfer"})
	if ev.Type != plugins.EventTransferred || ev.CallID != "2" || ev.OldCallID != "1" || ev.Other != "203" || len(calls) != 0 {
		t.Fatalf("transferred: %+v, calls %v", ev, calls)
	}
	if _, ok := tr.Event(calls, base, &csta.MonitorStartResponse{}); ok {
		t.Fatal("a response is no call event")
	}
	// Without the switches: no Calling on ServiceInitiated, no PBX time.
	plain := &Translator{}
	ev, _ = plain.Event(Calls{}, base, &csta.ServiceInitiatedEvent{InitiatedConnection: conn("1", "201"), InitiatingDevice: party("201")})
	if ev.Calling != "" || !ev.PBXTime.IsZero() {
		t.Fatalf("plain translator: %+v", ev)
	}
}

// TestDevice: a snapshot asked for before an event keeps the event's
// calls but takes the features; the device renders sorted.
func TestDevice(t *testing.T) {
	dv := NewDevice()
	dv.Calls["9"] = plugins.CallSnapshot{CallID: "9", State: plugins.StateAlerting}
	snap := &plugins.DeviceSnapshot{Device: "201", DND: true,
		Calls:      []plugins.CallSnapshot{{CallID: "2", State: plugins.StateConnected}, {CallID: "1", State: plugins.StateHold}},
		Forwarding: []plugins.Forwarding{{Type: plugins.ForwardBusy, To: "300", Enabled: true}}}
	dv.Touched = 1
	if dv.ApplySnapshot(snap, 0) { // an event came in after the snapshot was asked for
		t.Error("a late snapshot's calls taken: the driver would not ask again")
	}
	if _, ok := dv.Calls["9"]; !ok || len(dv.Calls) != 1 || !dv.DND || dv.Fwd[plugins.ForwardBusy].To != "300" {
		t.Fatalf("late snapshot: %+v", dv)
	}
	if !dv.ApplySnapshot(snap, 1) {
		t.Error("a snapshot no event overtook not taken")
	}
	got := dv.Snapshot("201", 7)
	if got.Seq != 7 || len(got.Calls) != 2 || got.Calls[0].CallID != "1" || !got.DND || len(got.Forwarding) != 1 {
		t.Fatalf("snapshot: %+v", got)
	}
	var none *Device
	if s := none.Snapshot("202", 3); s.Calls == nil || len(s.Calls) != 0 || s.Seq != 3 {
		t.Fatalf("nil device: %+v", s)
	}
}

// TestCallControl: requests name the connections as Conn does, errors of
// Conn come back as they are, answers are named by Ref.
func TestCallControl(t *testing.T) {
	var sent []csta.Message
	cc := CallControl{
		Send: func(_ context.Context, _ string, req csta.Message) (csta.Message, error) {
			sent = append(sent, req)
			switch req.(type) {
			case *csta.TransferCall:
				return &csta.TransferCallResponse{TransferredCall: &csta.ConnectionID{CallID: "9", DeviceID: &csta.DeviceID{Value: "x202"}}}, nil
			case *csta.ConferenceCall:
				return &csta.ConferenceCallResponse{}, nil
			}
			return &csta.AnswerCallResponse{}, nil
		},
		Conn: func(_ context.Context, what string, c plugins.ConnectionRef) (csta.ConnectionID, error) {
			if c.Device == "" {
				return csta.ConnectionID{}, fmt.Errorf("%s: %w", what, plugins.ErrInvalidArgument)
			}
			return csta.Conn(c.CallID, "x"+c.Device), nil
		},
		Ref: func(c csta.ConnectionID) plugins.ConnectionRef {
			return plugins.ConnectionRef{Device: strings.TrimPrefix(c.Device(), "x"), CallID: c.CallID}
		},
	}
	ctx := context.Background()
	a, b := plugins.ConnectionRef{Device: "201", CallID: "1"}, plugins.ConnectionRef{Device: "201", CallID: "2"}
	for _, f := range []func(context.Context, plugins.ConnectionRef) error{cc.Answer, cc.Clear, cc.Hold, cc.Retrieve} {
		if err := f(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if h, ok := sent[2].(*csta.HoldCall); !ok || h.CallToBeHeld.Device() != "x201" || h.CallToBeHeld.CallID != "1" {
		t.Fatalf("hold sent %#v", sent[2])
	}
	if r, err := cc.Transfer(ctx, a, b); err != nil || r.Device != "202" || r.CallID != "9" {
		t.Fatalf("transfer: %+v %v", r, err)
	}
	if r, err := cc.Conference(ctx, a, b); err != nil || r.Device != "201" || r.CallID != "2" {
		t.Fatalf("conference without conferenceCall: %+v %v", r, err)
	}
	if err := cc.Answer(ctx, plugins.ConnectionRef{CallID: "1"}); !errors.Is(err, plugins.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "answer: ") {
		t.Fatalf("bad connection: %v", err)
	}
	if _, err := cc.Transfer(ctx, a, plugins.ConnectionRef{}); !strings.HasPrefix(fmt.Sprint(err), "transfer: ") {
		t.Fatalf("bad pair: %v", err)
	}
}
