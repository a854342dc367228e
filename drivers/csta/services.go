package csta

// ECMA-269 services used by the CTI model, as ECMA-323 XML (cti-protocols.md
// §2.5). A request's response root is the request name plus "Response"; any
// request may instead be answered with a CSTAErrorCode. Field order follows
// ECMA-323 because encoding/xml writes fields in declaration order.
// Every type carries Extensions for vendor private data (Avaya's
// <extensions><privateData>...), kept as raw XML.

// MonitorObject is what a monitor watches: a device, or (~, rarely
// supported) a call.
type MonitorObject struct {
	DeviceObject *DeviceID     `xml:"deviceObject,omitempty"`
	CallObject   *ConnectionID `xml:"callObject,omitempty"`
}

// MonitorStart asks for events about a device. A Mitel 400 needs a "CSTA
// Sessions" licence per monitored terminal and answers
// overallMonitorLimitExceeded when they run out.
type MonitorStart struct {
	MonitorObject          MonitorObject `xml:"monitorObject"`
	RequestedMonitorFilter *RawXML       `xml:"requestedMonitorFilter,omitempty"`
	MonitorType            string        `xml:"monitorType,omitempty"` // "device" or "call"
	Extensions             *RawXML       `xml:"extensions,omitempty"`
}

// MonitorStartResponse carries the cross reference ID that events of the
// new monitor will carry.
type MonitorStartResponse struct {
	MonitorCrossRefID   string  `xml:"monitorCrossRefID"`
	ActualMonitorFilter *RawXML `xml:"actualMonitorFilter,omitempty"`
	Extensions          *RawXML `xml:"extensions,omitempty"`
}

// MonitorStop ends a monitor.
type MonitorStop struct {
	MonitorCrossRefID string  `xml:"monitorCrossRefID"`
	Extensions        *RawXML `xml:"extensions,omitempty"`
}

// MonitorStopResponse is the empty positive response to MonitorStop.
type MonitorStopResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// MakeCall places a call from CallingDevice to CalledDirectoryNumber.
type MakeCall struct {
	CallingDevice         DeviceID `xml:"callingDevice"`
	CalledDirectoryNumber DeviceID `xml:"calledDirectoryNumber"`
	// AccountCode is charged for the call (ECMA-269 AccountInfo; after
	// calledDirectoryNumber as ECMA-285 MakeCallArgument orders it).
	AccountCode   string  `xml:"accountCode,omitempty"`
	AutoOriginate string  `xml:"autoOriginate,omitempty"` // "prompt" or "doNotPrompt"
	Extensions    *RawXML `xml:"extensions,omitempty"`
}

// MakeCallResponse names the calling device's connection to the new call.
type MakeCallResponse struct {
	CallingDevice ConnectionID `xml:"callingDevice"`
	Extensions    *RawXML      `xml:"extensions,omitempty"`
}

// AnswerCall answers an alerting connection.
type AnswerCall struct {
	CallToBeAnswered ConnectionID `xml:"callToBeAnswered"`
	Extensions       *RawXML      `xml:"extensions,omitempty"`
}

// AnswerCallResponse is the empty positive response to AnswerCall.
type AnswerCallResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// ClearConnection releases one connection from a call.
type ClearConnection struct {
	ConnectionToBeCleared ConnectionID `xml:"connectionToBeCleared"`
	Extensions            *RawXML      `xml:"extensions,omitempty"`
}

// ClearConnectionResponse is the empty positive response to ClearConnection.
type ClearConnectionResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// HoldCall puts a connection on hold.
type HoldCall struct {
	CallToBeHeld ConnectionID `xml:"callToBeHeld"`
	Extensions   *RawXML      `xml:"extensions,omitempty"`
}

// HoldCallResponse is the empty positive response to HoldCall.
type HoldCallResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// RetrieveCall takes a held connection back.
type RetrieveCall struct {
	CallToBeRetrieved ConnectionID `xml:"callToBeRetrieved"`
	Extensions        *RawXML      `xml:"extensions,omitempty"`
}

// RetrieveCallResponse is the empty positive response to RetrieveCall.
type RetrieveCallResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// ConsultationCall holds ExistingCall and calls ConsultedDevice.
type ConsultationCall struct {
	ExistingCall    ConnectionID `xml:"existingCall"`
	ConsultedDevice DeviceID     `xml:"consultedDevice"`
	// AccountCode is charged for the consultation call (ECMA-285
	// ConsultationCallArgument: after consultedDevice).
	AccountCode string  `xml:"accountCode,omitempty"`
	Extensions  *RawXML `xml:"extensions,omitempty"`
}

// ConsultationCallResponse names the new consultation connection.
type ConsultationCallResponse struct {
	InitiatedCall ConnectionID `xml:"initiatedCall"`
	Extensions    *RawXML      `xml:"extensions,omitempty"`
}

// TransferCall joins HeldCall's and ActiveCall's far ends and drops the
// transferring device.
type TransferCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
	Extensions *RawXML      `xml:"extensions,omitempty"`
}

// TransferCallResponse names the resulting call. ~ transferredCall (one
// source); transferredConnections ~ ECMA-323 optional list.
type TransferCallResponse struct {
	TransferredCall        *ConnectionID   `xml:"transferredCall,omitempty"`
	TransferredConnections *ConnectionList `xml:"transferredConnections,omitempty"`
	Extensions             *RawXML         `xml:"extensions,omitempty"`
}

// SingleStepTransferCall transfers ActiveCall to TransferredTo without
// consultation (blind transfer). ~ names from one standard-following source
// and two implementations.
type SingleStepTransferCall struct {
	ActiveCall    ConnectionID `xml:"activeCall"`
	TransferredTo DeviceID     `xml:"transferredTo"`
	Extensions    *RawXML      `xml:"extensions,omitempty"`
}

// SingleStepTransferCallResponse names the transferred call.
type SingleStepTransferCallResponse struct {
	TransferredCall *ConnectionID `xml:"transferredCall,omitempty"`
	Extensions      *RawXML       `xml:"extensions,omitempty"`
}

// ConferenceCall joins HeldCall and ActiveCall into one conference.
type ConferenceCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
	Extensions *RawXML      `xml:"extensions,omitempty"`
}

// ConferenceCallResponse names the conference. ~ conferenceCall (one
// source); connections ~ ECMA-323 optional list.
type ConferenceCallResponse struct {
	ConferenceCall *ConnectionID   `xml:"conferenceCall,omitempty"`
	Connections    *ConnectionList `xml:"connections,omitempty"`
	Extensions     *RawXML         `xml:"extensions,omitempty"`
}

// DeflectCall diverts an alerting call to NewDestination. ~
type DeflectCall struct {
	CallToBeDiverted ConnectionID `xml:"callToBeDiverted"`
	NewDestination   DeviceID     `xml:"newDestination"`
	Extensions       *RawXML      `xml:"extensions,omitempty"`
}

// DeflectCallResponse is the empty positive response to DeflectCall.
type DeflectCallResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// GenerateDigits sends DTMF on a connection.
type GenerateDigits struct {
	ConnectionToSendDigits ConnectionID `xml:"connectionToSendDigits"`
	CharactersToSend       string       `xml:"charactersToSend"`
	Extensions             *RawXML      `xml:"extensions,omitempty"`
}

// GenerateDigitsResponse is the empty positive response to GenerateDigits.
type GenerateDigitsResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// SetDoNotDisturb turns do-not-disturb on or off for a device.
type SetDoNotDisturb struct {
	Device         DeviceID `xml:"device"`
	DoNotDisturbOn bool     `xml:"doNotDisturbOn"`
	Extensions     *RawXML  `xml:"extensions,omitempty"`
}

// SetDoNotDisturbResponse is the empty positive response to SetDoNotDisturb.
type SetDoNotDisturbResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// Forwarding types of ECMA-269 used by the CTI model.
const (
	ForwardImmediate = "forwardImmediate"
	ForwardBusy      = "forwardBusy"
	ForwardNoAns     = "forwardNoAns"
)

// SetForwarding turns a forwarding type on or off for a device.
type SetForwarding struct {
	Device          DeviceID  `xml:"device"`
	ForwardingType  string    `xml:"forwardingType,omitempty"`
	ActivateForward bool      `xml:"activateForward"`
	ForwardDN       *DeviceID `xml:"forwardDN,omitempty"`
	Extensions      *RawXML   `xml:"extensions,omitempty"`
}

// SetForwardingResponse is the empty positive response to SetForwarding.
type SetForwardingResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// SnapshotDevice asks for the calls currently at a device.
type SnapshotDevice struct {
	SnapshotObject DeviceID `xml:"snapshotObject"`
	Extensions     *RawXML  `xml:"extensions,omitempty"`
}

// SnapshotDeviceResponse holds the device's calls, or a cross reference ID
// when the switch sends the data later in SnapshotDeviceData.
type SnapshotDeviceResponse struct {
	CrossRefIDorSnapshotData SnapshotResult `xml:"crossRefIDorSnapshotData"`
	Extensions               *RawXML        `xml:"extensions,omitempty"`
}

// SnapshotResult is the choice inside SnapshotDeviceResponse.
type SnapshotResult struct {
	ServiceCrossRefID string        `xml:"serviceCrossRefID,omitempty"`
	SnapshotData      *SnapshotData `xml:"snapshotData,omitempty"`
}

// SnapshotData lists one entry per connection at the device.
type SnapshotData struct {
	Items []SnapshotDeviceResponseInfo `xml:"snapshotDeviceResponseInfo"`
}

// SnapshotDeviceResponseInfo is one call at the snapshot device.
type SnapshotDeviceResponseInfo struct {
	ConnectionIdentifier ConnectionID `xml:"connectionIdentifier"`
	LocalCallState       *CallState   `xml:"localCallState,omitempty"`
}

// CallState is the state of the call as seen from the device.
// ~ ECMA-269 CallState is a choice of compoundCallState (the local
// connection states, one per connection of the call, the device's own
// first), simpleCallState, or unknown. The child name localConnectionState
// comes from one implementation; check the XSD.
type CallState struct {
	CompoundCallState *CompoundCallState `xml:"compoundCallState,omitempty"`
	SimpleCallState   string             `xml:"simpleCallState,omitempty"`
	Unknown           *Empty             `xml:"unknown,omitempty"`
}

// CompoundCallState lists local connection states.
type CompoundCallState struct {
	LocalConnectionState []string `xml:"localConnectionState"`
}

// State returns the device's own connection state from a snapshot entry,
// StateUnknown when the switch did not say.
func (i SnapshotDeviceResponseInfo) State() ConnectionState {
	if i.LocalCallState == nil || i.LocalCallState.CompoundCallState == nil ||
		len(i.LocalCallState.CompoundCallState.LocalConnectionState) == 0 {
		return StateUnknown
	}
	return ParseConnectionState(i.LocalCallState.CompoundCallState.LocalConnectionState[0])
}

// System status values of ECMA-269 §12.2.
const (
	SystemStatusInitializing     = "initializing"
	SystemStatusEnabled          = "enabled"
	SystemStatusNormal           = "normal"
	SystemStatusMessagesLost     = "messagesLost"
	SystemStatusDisabled         = "disabled"
	SystemStatusOverloadImminent = "overloadImminent"
	SystemStatusOverloadReached  = "overloadReached"
	SystemStatusOverloadRelieved = "overloadRelieved"
)

// SystemStatus reports the switch's (or application's) state. Switches send
// it as a request, Avaya AES as a keep-alive; it must be answered with
// SystemStatusResponse and the same invoke ID. Client does that.
type SystemStatus struct {
	SystemStatus string  `xml:"systemStatus,omitempty"`
	Extensions   *RawXML `xml:"extensions,omitempty"`
}

// SystemStatusResponse is the empty answer to SystemStatus.
type SystemStatusResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// ReconnectCall (ECMA-269 §17.2.19) clears ActiveCall and retrieves
// HeldCall at the same device: cancel a consultation. Element order as
// ECMA-323: activeCall, then heldCall.
type ReconnectCall struct {
	ActiveCall ConnectionID `xml:"activeCall"`
	HeldCall   ConnectionID `xml:"heldCall"`
	Extensions *RawXML      `xml:"extensions,omitempty"`
}

// ReconnectCallResponse is the empty positive response to ReconnectCall.
type ReconnectCallResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// AlternateCall (ECMA-269 §17.2.2) holds ActiveCall and retrieves
// HeldCall at the same device: swap. Element order as ECMA-323: heldCall,
// then activeCall (the reverse of ReconnectCall).
type AlternateCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
	Extensions *RawXML      `xml:"extensions,omitempty"`
}

// AlternateCallResponse is the empty positive response to AlternateCall.
type AlternateCallResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// MessageWaiting reads the answer to a GetMessageWaitingIndicator query
// (ECMA-269 §22.1 ~, decoded as a RawMessage): the lamp's state, and
// whether m was such an answer at all (nil, an error's nil message, or
// an undecodable body: false, the lamp stays as events set it).
func MessageWaiting(m Message) (on, ok bool) {
	raw, isRaw := m.(*RawMessage)
	if !isRaw {
		return false, false
	}
	var v struct {
		On bool `xml:"messageWaitingOn"`
	}
	if raw.Unmarshal(&v) != nil {
		return false, false
	}
	return v.On, true
}
