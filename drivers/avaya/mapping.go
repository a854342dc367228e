package avaya

import (
	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/plugins"
)

// agentEvents maps the ECMA-269 agent events to the model's agent states.
var agentEvents = map[string]plugins.AgentState{
	"AgentLoggedOnEvent":         plugins.AgentLoggedOn,
	"AgentLoggedOffEvent":        plugins.AgentLoggedOff,
	"AgentReadyEvent":            plugins.AgentReady,
	"AgentNotReadyEvent":         plugins.AgentNotReady,
	"AgentWorkingAfterCallEvent": plugins.AgentWorkingAfterCall,
	"AgentBusyEvent":             plugins.AgentBusy,
}

func agentFromEvent(name string) plugins.AgentState { return agentEvents[name] } // unknown → unspecified

// agentRequests maps the model's settable agent states to ECMA-269
// requestedAgentState values. AgentBusy is not settable: the switch sets it.
var agentRequests = map[plugins.AgentState]string{
	plugins.AgentLoggedOn:         dmcc.AgentLoggedOn,
	plugins.AgentLoggedOff:        dmcc.AgentLoggedOff,
	plugins.AgentReady:            dmcc.AgentReady,
	plugins.AgentNotReady:         dmcc.AgentNotReady,
	plugins.AgentWorkingAfterCall: dmcc.AgentWorkingAfterCall,
}

// agentStates maps ECMA-269 AgentState values (GetAgentState's answer) to
// the model's agent states; agentNull of a logged-on agent is "logged on".
var agentStates = map[string]plugins.AgentState{
	dmcc.StateAgentNull:             plugins.AgentLoggedOn,
	dmcc.StateAgentReady:            plugins.AgentReady,
	dmcc.StateAgentNotReady:         plugins.AgentNotReady,
	dmcc.StateAgentBusy:             plugins.AgentBusy,
	dmcc.StateAgentWorkingAfterCall: plugins.AgentWorkingAfterCall,
}

// agentFromResponse returns the agent state a GetAgentStateResponse
// reports: the first entry's, logged off when it is not logged on.
// Unspecified when the answer names no state the model knows.
func agentFromResponse(r *dmcc.GetAgentStateResponse) plugins.AgentState {
	if len(r.Entries) == 0 {
		return agentStates[r.AgentState] // edition 2 form
	}
	e := r.Entries[0]
	if !e.LoggedOnState {
		return plugins.AgentLoggedOff
	}
	for _, it := range e.Info {
		if a, ok := agentStates[it.AgentState]; ok {
			return a
		}
	}
	return plugins.AgentLoggedOn
}
