package dmcc

import (
	"encoding/xml"

	"github.com/switchboard-gw/switchboard/drivers/csta"
)

// ECMA-269 logical device feature services and events DMCC offers, in the
// CSTA namespace (ECMA-323 §"Logical device feature services"; ~ element
// names from ECMA-323 and the DMCC XML Programmer's Guide summaries).

// GetDoNotDisturb asks whether do-not-disturb is on at Device.
type GetDoNotDisturb struct {
	Device csta.DeviceID `xml:"device"`
}

// GetDoNotDisturbResponse answers GetDoNotDisturb.
type GetDoNotDisturbResponse struct {
	DoNotDisturbOn bool `xml:"doNotDisturbOn"`
}

// GetForwarding asks for Device's forwarding settings.
type GetForwarding struct {
	Device csta.DeviceID `xml:"device"`
}

// ForwardListItem is one forwarding setting.
type ForwardListItem struct {
	ForwardingType string `xml:"forwardingType"`
	ForwardStatus  bool   `xml:"forwardStatus"`
	ForwardDN      string `xml:"forwardDN,omitempty"`
}

// GetForwardingResponse lists the device's forwarding settings.
type GetForwardingResponse struct {
	Items []ForwardListItem `xml:"forwardingList>forwardListItem"`
}

// DoNotDisturbEvent reports a DND change at the monitored device.
type DoNotDisturbEvent struct {
	MonitorCrossRefID string     `xml:"monitorCrossRefID"`
	Device            csta.Party `xml:"device"`
	DoNotDisturbOn    bool       `xml:"doNotDisturbOn"`
}

// ForwardingEvent reports a forwarding change at the monitored device.
type ForwardingEvent struct {
	MonitorCrossRefID string     `xml:"monitorCrossRefID"`
	Device            csta.Party `xml:"device"`
	ForwardingType    string     `xml:"forwardingType"`
	ForwardStatus     bool       `xml:"forwardStatus"`
	ForwardTo         string     `xml:"forwardTo,omitempty"`
}

// Agent states of ECMA-269 SetAgentState's requestedAgentState.
const (
	AgentLoggedOn         = "loggedOn"
	AgentLoggedOff        = "loggedOff"
	AgentReady            = "ready"
	AgentNotReady         = "notReady"
	AgentWorkingAfterCall = "workingAfterCall"
)

// SetAgentState changes the ACD agent state at Device (f-me/dmcc sends
// device and requestedAgentState; agentID ~ for log-on).
type SetAgentState struct {
	Device              csta.DeviceID `xml:"device"`
	RequestedAgentState string        `xml:"requestedAgentState"`
	AgentID             string        `xml:"agentID,omitempty"`
}

// SetAgentStateResponse is the empty positive answer.
type SetAgentStateResponse struct{}

// GetAgentState asks the ACD agent state at Device (ECMA-269 Get Agent
// State; f-me/dmcc sends device only).
type GetAgentState struct {
	Device csta.DeviceID `xml:"device"`
}

// GetAgentStateResponse is ECMA-323 edition 3's answer: a list of agent
// entries, each logged on or not with the agent's state per ACD group.
// AgentState is the edition 2 form (a single agentState), read when AES
// writes it.
type GetAgentStateResponse struct {
	Entries    []AgentStateEntry `xml:"agentStateList>agentStateEntry"`
	AgentState string            `xml:"agentState,omitempty"`
}

// AgentStateEntry is one agentStateEntry of a GetAgentStateResponse.
type AgentStateEntry struct {
	AgentID       string          `xml:"agentID,omitempty"`
	LoggedOnState bool            `xml:"loggedOnState"`
	Info          []AgentInfoItem `xml:"agentInfo>agentInfoItem"`
}

// AgentInfoItem is an agent's state in one ACD group.
type AgentInfoItem struct {
	ACDGroup   string `xml:"acdGroup,omitempty"`
	AgentState string `xml:"agentState"`
}

// Agent states of ECMA-269 GetAgentState's answer.
const (
	StateAgentNull             = "agentNull"
	StateAgentReady            = "agentReady"
	StateAgentNotReady         = "agentNotReady"
	StateAgentBusy             = "agentBusy"
	StateAgentWorkingAfterCall = "agentWorkingAfterCall"
)

// AgentEvent is one of the ECMA-269 agent state events
// (AgentLoggedOnEvent, AgentReadyEvent...); Name is its root name.
type AgentEvent struct {
	Name              string        `xml:"-"`
	MonitorCrossRefID string        `xml:"monitorCrossRefID"`
	AgentDevice       csta.DeviceID `xml:"agentDevice"`
	AgentID           string        `xml:"agentID,omitempty"`
}

// AgentEventName maps a requestedAgentState to the event that reports it.
func AgentEventName(state string) string {
	switch state {
	case AgentLoggedOn:
		return "AgentLoggedOnEvent"
	case AgentLoggedOff:
		return "AgentLoggedOffEvent"
	case AgentReady:
		return "AgentReadyEvent"
	case AgentNotReady:
		return "AgentNotReadyEvent"
	case AgentWorkingAfterCall:
		return "AgentWorkingAfterCallEvent"
	}
	return ""
}

// UnmarshalXML keeps the root name.
func (e *AgentEvent) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain AgentEvent
	var p plain
	if err := d.DecodeElement(&p, &start); err != nil {
		return err
	}
	*e = AgentEvent(p)
	e.Name = start.Name.Local
	return nil
}

// RootName methods.
func (*GetDoNotDisturb) RootName() string         { return "GetDoNotDisturb" }
func (*GetDoNotDisturbResponse) RootName() string { return "GetDoNotDisturbResponse" }
func (*GetForwarding) RootName() string           { return "GetForwarding" }
func (*GetForwardingResponse) RootName() string   { return "GetForwardingResponse" }
func (*DoNotDisturbEvent) RootName() string       { return "DoNotDisturbEvent" }
func (*ForwardingEvent) RootName() string         { return "ForwardingEvent" }
func (*SetAgentState) RootName() string           { return "SetAgentState" }
func (*SetAgentStateResponse) RootName() string   { return "SetAgentStateResponse" }
func (*GetAgentState) RootName() string           { return "GetAgentState" }
func (*GetAgentStateResponse) RootName() string   { return "GetAgentStateResponse" }
func (e *AgentEvent) RootName() string            { return e.Name }

// ResponseName methods.
func (*GetDoNotDisturb) ResponseName() string { return "GetDoNotDisturbResponse" }
func (*GetForwarding) ResponseName() string   { return "GetForwardingResponse" }
func (*SetAgentState) ResponseName() string   { return "SetAgentStateResponse" }
func (*GetAgentState) ResponseName() string   { return "GetAgentStateResponse" }

// Interface guards.
var (
	_ csta.Request    = (*GetDeviceId)(nil)
	_ csta.Request    = (*GetThirdPartyDeviceId)(nil)
	_ csta.Request    = (*ReleaseDeviceId)(nil)
	_ csta.Request    = (*TransferMonitorObjects)(nil)
	_ csta.Request    = (*GetDoNotDisturb)(nil)
	_ csta.Request    = (*GetForwarding)(nil)
	_ csta.Request    = (*SetAgentState)(nil)
	_ csta.Request    = (*GetAgentState)(nil)
	_ csta.Namespacer = (*GetDeviceId)(nil)
	_ csta.Namespacer = (*GetDeviceIdResponse)(nil)
)
