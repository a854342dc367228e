package cstaxml

// ECMA-323 services, responses and events the simulators use, each with
// its elements in the schema's sequence order (extensions last). Fields
// the simulators never read or write are left out: the decoder refuses a
// document carrying them, which is what a test of the drivers wants.

// MonitorObject is monitor.xsd CSTAObject: a choice of deviceObject or
// callObject.
type MonitorObject struct {
	DeviceObject *DeviceID     `xml:"deviceObject,omitempty"`
	CallObject   *ConnectionID `xml:"callObject,omitempty"`
}

// MonitorStart (monitor.xsd).
type MonitorStart struct {
	MonitorObject          MonitorObject `xml:"monitorObject"`
	RequestedMonitorFilter *Raw          `xml:"requestedMonitorFilter,omitempty"`
	MonitorType            string        `xml:"monitorType,omitempty" enum:"call device"`
	Extensions             *Raw          `xml:"extensions,omitempty"`
}

// MonitorStartResponse (monitor.xsd).
type MonitorStartResponse struct {
	MonitorCrossRefID   string `xml:"monitorCrossRefID"`
	ActualMonitorFilter *Raw   `xml:"actualMonitorFilter,omitempty"`
	Extensions          *Raw   `xml:"extensions,omitempty"`
}

// MonitorStop (monitor.xsd).
type MonitorStop struct {
	MonitorCrossRefID string `xml:"monitorCrossRefID"`
	Extensions        *Raw   `xml:"extensions,omitempty"`
}

// MonitorStopResponse (monitor.xsd).
type MonitorStopResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// MakeCall (call-control.xsd).
type MakeCall struct {
	CallingDevice         DeviceID `xml:"callingDevice"`
	CalledDirectoryNumber DeviceID `xml:"calledDirectoryNumber"`
	AccountCode           string   `xml:"accountCode,omitempty"`
	AuthCode              string   `xml:"authCode,omitempty"`
	AutoOriginate         string   `xml:"autoOriginate,omitempty" enum:"prompt doNotPrompt"`
	CorrelatorData        string   `xml:"correlatorData,omitempty"`
	UserData              *Raw     `xml:"userData,omitempty"`
	CallCharacteristics   *Raw     `xml:"callCharacteristics,omitempty"`
	Extensions            *Raw     `xml:"extensions,omitempty"`
}

// MakeCallResponse (call-control.xsd).
type MakeCallResponse struct {
	CallingDevice ConnectionID `xml:"callingDevice"`
	Extensions    *Raw         `xml:"extensions,omitempty"`
}

// AnswerCall (call-control.xsd).
type AnswerCall struct {
	CallToBeAnswered ConnectionID `xml:"callToBeAnswered"`
	CorrelatorData   string       `xml:"correlatorData,omitempty"`
	UserData         *Raw         `xml:"userData,omitempty"`
	Extensions       *Raw         `xml:"extensions,omitempty"`
}

// AnswerCallResponse (call-control.xsd).
type AnswerCallResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// ClearConnection (call-control.xsd).
type ClearConnection struct {
	ConnectionToBeCleared ConnectionID `xml:"connectionToBeCleared"`
	CorrelatorData        string       `xml:"correlatorData,omitempty"`
	UserData              *Raw         `xml:"userData,omitempty"`
	Reason                string       `xml:"reason,omitempty"`
	Extensions            *Raw         `xml:"extensions,omitempty"`
}

// ClearConnectionResponse (call-control.xsd).
type ClearConnectionResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// HoldCall (call-control.xsd).
type HoldCall struct {
	CallToBeHeld ConnectionID `xml:"callToBeHeld"`
	Reservation  string       `xml:"reservation,omitempty" enum:"true false"`
	Extensions   *Raw         `xml:"extensions,omitempty"`
}

// HoldCallResponse (call-control.xsd).
type HoldCallResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// RetrieveCall (call-control.xsd).
type RetrieveCall struct {
	CallToBeRetrieved ConnectionID `xml:"callToBeRetrieved"`
	Extensions        *Raw         `xml:"extensions,omitempty"`
}

// RetrieveCallResponse (call-control.xsd).
type RetrieveCallResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// ConsultationCall (call-control.xsd).
type ConsultationCall struct {
	ExistingCall    ConnectionID `xml:"existingCall"`
	ConsultedDevice DeviceID     `xml:"consultedDevice"`
	ConsultOptions  string       `xml:"consultOptions,omitempty" enum:"unrestricted consultOnly transferOnly conferenceOnly"`
	AccountCode     string       `xml:"accountCode,omitempty"`
	AuthCode        string       `xml:"authCode,omitempty"`
	CorrelatorData  string       `xml:"correlatorData,omitempty"`
	UserData        *Raw         `xml:"userData,omitempty"`
	Extensions      *Raw         `xml:"extensions,omitempty"`
}

// ConsultationCallResponse (call-control.xsd).
type ConsultationCallResponse struct {
	InitiatedCall ConnectionID `xml:"initiatedCall"`
	Extensions    *Raw         `xml:"extensions,omitempty"`
}

// TransferCall (call-control.xsd).
type TransferCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
	UserData   *Raw         `xml:"userData,omitempty"`
	Extensions *Raw         `xml:"extensions,omitempty"`
}

// TransferCallResponse (call-control.xsd; ~ the connection list's
// element name).
type TransferCallResponse struct {
	TransferredCall        *ConnectionID   `xml:"transferredCall,omitempty"`
	TransferredConnections *ConnectionList `xml:"transferredConnections,omitempty"`
	Extensions             *Raw            `xml:"extensions,omitempty"`
}

// ReconnectCall (call-control.xsd): activeCall is cleared, heldCall
// retrieved.
type ReconnectCall struct {
	ActiveCall ConnectionID `xml:"activeCall"`
	HeldCall   ConnectionID `xml:"heldCall"`
	Extensions *Raw         `xml:"extensions,omitempty"`
}

// ReconnectCallResponse (call-control.xsd).
type ReconnectCallResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// AlternateCall (call-control.xsd): heldCall comes back, activeCall is
// held.
type AlternateCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
	Extensions *Raw         `xml:"extensions,omitempty"`
}

// AlternateCallResponse (call-control.xsd).
type AlternateCallResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// ConferenceCall (call-control.xsd).
type ConferenceCall struct {
	HeldCall   ConnectionID `xml:"heldCall"`
	ActiveCall ConnectionID `xml:"activeCall"`
	UserData   *Raw         `xml:"userData,omitempty"`
	Extensions *Raw         `xml:"extensions,omitempty"`
}

// ConferenceCallResponse (call-control.xsd).
type ConferenceCallResponse struct {
	ConferenceCall *ConnectionID   `xml:"conferenceCall,omitempty"`
	Connections    *ConnectionList `xml:"connections,omitempty"`
	Extensions     *Raw            `xml:"extensions,omitempty"`
}

// SingleStepTransferCall (call-control.xsd).
type SingleStepTransferCall struct {
	ActiveCall    ConnectionID `xml:"activeCall"`
	TransferredTo DeviceID     `xml:"transferredTo"`
	AccountCode   string       `xml:"accountCode,omitempty"`
	AuthCode      string       `xml:"authCode,omitempty"`
	UserData      *Raw         `xml:"userData,omitempty"`
	Extensions    *Raw         `xml:"extensions,omitempty"`
}

// SingleStepTransferCallResponse (call-control.xsd).
type SingleStepTransferCallResponse struct {
	TransferredCall *ConnectionID `xml:"transferredCall,omitempty"`
	Extensions      *Raw          `xml:"extensions,omitempty"`
}

// DeflectCall (call-control.xsd).
type DeflectCall struct {
	CallToBeDiverted ConnectionID `xml:"callToBeDiverted"`
	NewDestination   DeviceID     `xml:"newDestination"`
	UserData         *Raw         `xml:"userData,omitempty"`
	Extensions       *Raw         `xml:"extensions,omitempty"`
}

// DeflectCallResponse (call-control.xsd).
type DeflectCallResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// GenerateDigits (voice-unit / call-associated features).
type GenerateDigits struct {
	ConnectionToSendDigits ConnectionID `xml:"connectionToSendDigits"`
	CharactersToSend       string       `xml:"charactersToSend"`
	ToneDuration           string       `xml:"toneDuration,omitempty"`
	PulseDuration          string       `xml:"pulseDuration,omitempty"`
	Extensions             *Raw         `xml:"extensions,omitempty"`
}

// GenerateDigitsResponse.
type GenerateDigitsResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// Forwarding types (device-feature.xsd ForwardingType).
const (
	ForwardImmediate = "forwardImmediate"
	ForwardBusy      = "forwardBusy"
	ForwardNoAns     = "forwardNoAns"
)

// ForwardingTypes is device-feature.xsd's ForwardingType enumeration.
const ForwardingTypes = "forwardImmediate forwardBusy forwardNoAns forwardBusyInt forwardBusyExt " +
	"forwardDND forwardDNDInt forwardDNDExt forwardImmInt forwardImmExt forwardNoAnsInt forwardNoAnsExt"

// SetDoNotDisturb (device-feature.xsd).
type SetDoNotDisturb struct {
	Device            DeviceID `xml:"device"`
	DoNotDisturbOn    bool     `xml:"doNotDisturbOn"`
	CallOrigination   *Raw     `xml:"callOrigination,omitempty"`
	CallingDeviceList *Raw     `xml:"callingDeviceList,omitempty"`
	Extensions        *Raw     `xml:"extensions,omitempty"`
}

// SetDoNotDisturbResponse (device-feature.xsd).
type SetDoNotDisturbResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// GetDoNotDisturb (device-feature.xsd).
type GetDoNotDisturb struct {
	Device     DeviceID `xml:"device"`
	Extensions *Raw     `xml:"extensions,omitempty"`
}

// GetDoNotDisturbResponse (device-feature.xsd).
type GetDoNotDisturbResponse struct {
	DoNotDisturbOn bool `xml:"doNotDisturbOn"`
	Extensions     *Raw `xml:"extensions,omitempty"`
}

// SetForwarding (device-feature.xsd).
type SetForwarding struct {
	Device          DeviceID  `xml:"device"`
	ForwardingType  string    `xml:"forwardingType,omitempty" enum:"forwardImmediate forwardBusy forwardNoAns forwardBusyInt forwardBusyExt forwardDND forwardDNDInt forwardDNDExt forwardImmInt forwardImmExt forwardNoAnsInt forwardNoAnsExt"`
	ActivateForward bool      `xml:"activateForward"`
	ForwardDN       *DeviceID `xml:"forwardDN,omitempty"`
	RingCount       string    `xml:"ringCount,omitempty"`
	Extensions      *Raw      `xml:"extensions,omitempty"`
}

// SetForwardingResponse (device-feature.xsd).
type SetForwardingResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}

// GetForwarding (device-feature.xsd).
type GetForwarding struct {
	Device     DeviceID `xml:"device"`
	Extensions *Raw     `xml:"extensions,omitempty"`
}

// ForwardListItem is one entry of GetForwardingResponse's forwardingList.
type ForwardListItem struct {
	ForwardingType string `xml:"forwardingType"`
	ForwardStatus  bool   `xml:"forwardStatus"`
	ForwardDN      string `xml:"forwardDN,omitempty"`
}

// GetForwardingResponse (device-feature.xsd).
type GetForwardingResponse struct {
	Items      []ForwardListItem `xml:"forwardingList>forwardListItem"`
	Extensions *Raw              `xml:"extensions,omitempty"`
}

// SnapshotDevice (snapshot.xsd).
type SnapshotDevice struct {
	SnapshotObject DeviceID `xml:"snapshotObject"`
	Extensions     *Raw     `xml:"extensions,omitempty"`
}

// SnapshotDeviceResponse (snapshot.xsd): crossRefIDorSnapshotData is a
// choice of serviceCrossRefID (data follows in SnapshotDeviceData) or
// snapshotData.
type SnapshotDeviceResponse struct {
	CrossRefIDorSnapshotData SnapshotResult `xml:"crossRefIDorSnapshotData"`
	Extensions               *Raw           `xml:"extensions,omitempty"`
}

// SnapshotResult is the choice inside crossRefIDorSnapshotData.
type SnapshotResult struct {
	ServiceCrossRefID string        `xml:"serviceCrossRefID,omitempty"`
	SnapshotData      *SnapshotData `xml:"snapshotData,omitempty"`
}

// SnapshotData is a list of snapshotDeviceResponseInfo.
type SnapshotData struct {
	Items []SnapshotDeviceResponseInfo `xml:"snapshotDeviceResponseInfo"`
}

// SnapshotDeviceResponseInfo is one call at the device.
type SnapshotDeviceResponseInfo struct {
	ConnectionIdentifier ConnectionID `xml:"connectionIdentifier"`
	LocalCallState       *CallState   `xml:"localCallState,omitempty"`
}

// CallState is a choice of compoundCallState or simpleCallState.
type CallState struct {
	CompoundCallState *CompoundCallState `xml:"compoundCallState,omitempty"`
	SimpleCallState   string             `xml:"simpleCallState,omitempty"`
}

// CompoundCallState lists localConnectionState values.
type CompoundCallState struct {
	LocalConnectionState []string `xml:"localConnectionState"`
}

// SystemStatus values (status-reporting.xsd SystemStatus).
const (
	SystemStatusNormal       = "normal"
	SystemStatusMessagesLost = "messagesLost"
	SystemStatusDisabled     = "disabled"
)

// SystemStatus (status-reporting.xsd), sent by the switch or the
// application.
type SystemStatus struct {
	SystemStatus string `xml:"systemStatus" enum:"initializing enabled normal messagesLost disabled partiallyDisabled overloadImminent overloadReached overloadRelieved"`
	Extensions   *Raw   `xml:"extensions,omitempty"`
}

// SystemStatusResponse (status-reporting.xsd).
type SystemStatusResponse struct {
	Extensions *Raw `xml:"extensions,omitempty"`
}
