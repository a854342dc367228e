package avaya

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/cstamodel"
	"github.com/switchboard-gw/switchboard/plugins"
)

func TestMapping(t *testing.T) {
	for _, tc := range []struct {
		wire string
		want plugins.ConnectionState
	}{
		{"null", plugins.StateNull}, {"initiated", plugins.StateInitiated}, {"alerting", plugins.StateAlerting},
		{"connected", plugins.StateConnected}, {"hold", plugins.StateHold}, {"queued", plugins.StateQueued},
		{"fail", plugins.StateFail}, {"bogus", plugins.StateUnspecified},
	} {
		if got := cstamodel.State(csta.ParseConnectionState(tc.wire)); got != tc.want {
			t.Errorf("state %s → %s, want %s", tc.wire, got, tc.want)
		}
	}
	for _, tc := range []struct {
		wire string
		want plugins.Cause
	}{
		{"newCall", plugins.CauseNewCall}, {"callNotAnswered", plugins.CauseNoAnswer},
		{"destNotObtainable", plugins.CauseDestinationNotObtainable}, {"singleStepTransfer", plugins.CauseSingleStepTransfer},
		{"redirected", plugins.CauseRedirected}, {"parkedCall", plugins.CausePark}, {"whatever", plugins.CauseUnspecified},
	} {
		if got := cstamodel.Cause(csta.ParseCause(tc.wire)); got != tc.want {
			t.Errorf("cause %s → %s, want %s", tc.wire, got, tc.want)
		}
	}
	// Every settable agent state has a request and an event that maps back.
	for st, req := range agentRequests {
		if got := agentFromEvent(dmcc.AgentEventName(req)); got != st {
			t.Errorf("agent %s → %s → %s", st, req, got)
		}
	}
	if agentFromEvent("AgentBusyEvent") != plugins.AgentBusy || agentFromEvent("AgentOddEvent") != plugins.AgentUnspecified {
		t.Error("agent events")
	}
	for _, ft := range []plugins.ForwardingType{plugins.ForwardImmediate, plugins.ForwardBusy, plugins.ForwardNoAnswer} {
		if cstamodel.ForwardType(cstamodel.ForwardName(ft)) != ft {
			t.Errorf("forwarding %s does not round-trip", ft)
		}
	}
}

func TestAgentFromResponse(t *testing.T) {
	entry := func(on bool, states ...string) *dmcc.GetAgentStateResponse {
		e := dmcc.AgentStateEntry{LoggedOnState: on}
		for _, s := range states {
			e.Info = append(e.Info, dmcc.AgentInfoItem{AgentState: s})
		}
		return &dmcc.GetAgentStateResponse{Entries: []dmcc.AgentStateEntry{e}}
	}
	for _, tc := range []struct {
		name string
		resp *dmcc.GetAgentStateResponse
		want plugins.AgentState
	}{
		{"logged off", entry(false, dmcc.StateAgentNull), plugins.AgentLoggedOff},
		{"logged on, null", entry(true, dmcc.StateAgentNull), plugins.AgentLoggedOn},
		{"ready", entry(true, dmcc.StateAgentReady), plugins.AgentReady},
		{"not ready", entry(true, dmcc.StateAgentNotReady), plugins.AgentNotReady},
		{"busy", entry(true, dmcc.StateAgentBusy), plugins.AgentBusy},
		{"after call", entry(true, dmcc.StateAgentWorkingAfterCall), plugins.AgentWorkingAfterCall},
		{"unknown state, logged on", entry(true, "bogus"), plugins.AgentLoggedOn},
		{"no info", entry(true), plugins.AgentLoggedOn},
		{"edition 2 form", &dmcc.GetAgentStateResponse{AgentState: dmcc.StateAgentReady}, plugins.AgentReady},
		{"empty", &dmcc.GetAgentStateResponse{}, plugins.AgentUnspecified},
	} {
		if got := agentFromResponse(tc.resp); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
