package mitel_test

import (
	"testing"

	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestOutgoingExternalFlow: a call out to the public network, as the
// simulator sends it (DigitsDialed, Originated, NetworkReached over trunk
// T1, the far end answering), maps event by event: the dialled digits,
// the trunk as the other party, the far end external; the call's end
// gives call_cleared with its cause. The directory names the caller.
func TestOutgoingExternalFlow(t *testing.T) {
	e := newEnv(t, labmitel.Config{ExternalPrefix: "0"},
		map[string]any{"directory": []map[string]string{{"device": "201", "name": "Anna Alt"}}})
	e.monitor("201")
	ref, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "0301234567"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := e.Want(plugins.EventDigitsDialed, "201", plugins.StateInitiated); ev.Called != "0301234567" || ev.CallID != ref.CallID {
		t.Fatalf("digits dialed %+v", ev)
	}
	if ev := e.Want(plugins.EventOriginated, "201", plugins.StateConnected); ev.CallingName != "Anna Alt" {
		t.Fatalf("originated without the caller's name from the directory: %+v", ev)
	}
	ev := e.Want(plugins.EventNetworkReached, "201", plugins.StateConnected)
	if ev.Other != "T1" || ev.PartyType != plugins.PartyExternal || ev.Called != "0301234567" || ev.RawCause != "makeCall" {
		t.Fatalf("network reached %+v", ev)
	}
	e.Want(plugins.EventEstablished, "201", plugins.StateConnected)
	if s := e.snapshot("201"); len(s.Calls) != 1 || s.Calls[0].PartyType != plugins.PartyExternal || s.Calls[0].Other != "0301234567" {
		t.Fatalf("snapshot %+v", s)
	}
	if err := e.d.Clear(bg, ref); err != nil {
		t.Fatal(err)
	}
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	e.Want(plugins.EventConnectionCleared, "201", plugins.StateNull)
	if ev := e.Want(plugins.EventCallCleared, "201", plugins.StateNull); ev.Cause != plugins.CauseNormalClearing {
		t.Fatalf("call cleared %+v", ev)
	}
	e.Quiet()
}

// TestOfferedFlow: a PBX that offers calls before they alert
// (OfferedEvent, then DeliveredEvent): the lamp rings at the offer, with
// the parties, and the Delivered that follows keeps it ringing.
func TestOfferedFlow(t *testing.T) {
	e := newEnv(t, labmitel.Config{Offer: true}, nil)
	e.monitor("202")
	if _, err := e.d.MakeCall(bg, plugins.MakeCallRequest{Calling: "201", Called: "202"}); err != nil {
		t.Fatal(err)
	}
	offered := e.Want(plugins.EventDelivered, "202", plugins.StateAlerting)
	if offered.Calling != "201" || offered.Called != "202" || offered.GlobalCallID == "" {
		t.Fatalf("offered %+v", offered)
	}
	if d := e.Want(plugins.EventDelivered, "202", plugins.StateAlerting); d.CallID != offered.CallID {
		t.Fatalf("delivered %+v after offered %+v", d, offered)
	}
	e.Quiet()
}
