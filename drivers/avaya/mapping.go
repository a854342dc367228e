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
