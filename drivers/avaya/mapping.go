package avaya

import (
	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// states maps ECMA-269 localConnectionInfo to the model's states
// (cti-protocols.md §1).
var states = map[csta.ConnectionState]plugins.ConnectionState{
	csta.StateNull:      plugins.StateNull,
	csta.StateInitiated: plugins.StateInitiated,
	csta.StateAlerting:  plugins.StateAlerting,
	csta.StateConnected: plugins.StateConnected,
	csta.StateHold:      plugins.StateHold,
	csta.StateQueued:    plugins.StateQueued,
	csta.StateFail:      plugins.StateFail,
}

func mapState(s csta.ConnectionState) plugins.ConnectionState { return states[s] } // unknown → unspecified

// causes maps ECMA-269 event causes to the model's; the PBX's own text is
// kept in Event.RawCause.
var causes = map[csta.Cause]plugins.Cause{
	csta.CauseNewCall:               plugins.CauseNewCall,
	csta.CauseNormalClearing:        plugins.CauseNormalClearing,
	csta.CauseBusy:                  plugins.CauseBusy,
	csta.CauseCallNotAnswered:       plugins.CauseNoAnswer,
	csta.CauseDestNotObtainable:     plugins.CauseDestinationNotObtainable,
	csta.CauseConsultation:          plugins.CauseConsultation,
	csta.CauseTransfer:              plugins.CauseTransfer,
	csta.CauseSingleStepTransfer:    plugins.CauseSingleStepTransfer,
	csta.CauseConference:            plugins.CauseConference,
	csta.CauseRedirected:            plugins.CauseRedirected,
	csta.CauseCallForwardImmediate:  plugins.CauseCallForwardImmediate,
	csta.CauseCallForwardBusy:       plugins.CauseCallForwardBusy,
	csta.CauseCallForwardNoAnswer:   plugins.CauseCallForwardNoAnswer,
	csta.CauseCallForward:           plugins.CauseCallForwardImmediate,
	csta.CauseCallPickup:            plugins.CauseCallPickup,
	csta.CauseMakeCall:              plugins.CauseMakeCall,
	csta.CauseCallCancelled:         plugins.CauseCallCancelled,
	csta.CauseDoNotDisturb:          plugins.CauseDoNotDisturb,
	csta.CauseNetworkCongestion:     plugins.CauseNetworkCongestion,
	csta.CauseResourcesNotAvailable: plugins.CauseResourcesNotAvailable,
	csta.CauseParkedCall:            plugins.CausePark,
}

func mapCause(c csta.Cause) plugins.Cause { return causes[c] } // unknown → unspecified

// forwardTypes maps ECMA-269 forwardingType values to the model's.
var forwardTypes = map[string]plugins.ForwardingType{
	csta.ForwardImmediate: plugins.ForwardImmediate,
	csta.ForwardBusy:      plugins.ForwardBusy,
	csta.ForwardNoAns:     plugins.ForwardNoAnswer,
}

func forwardType(s string) plugins.ForwardingType { return forwardTypes[s] }

func forwardName(t plugins.ForwardingType) string {
	for k, v := range forwardTypes {
		if v == t {
			return k
		}
	}
	return ""
}

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
