package csta

// ECMA-269 call control events as ECMA-323 XML (cti-protocols.md §2.6).
// Every event starts with monitorCrossRefID and ends with
// localConnectionInfo (the monitored device's connection state) and cause;
// LocalConnectionInfo and Cause keep the wire strings, and the Event methods
// map them to ConnectionState and Cause values. Switches send events with
// invoke ID 9999.

// Event is implemented by every event type.
type Event interface {
	Message
	// Monitor returns the monitorCrossRefID the event belongs to.
	Monitor() string
	// Subject returns the event's main connection (connection,
	// establishedConnection, droppedConnection, primaryOldCall...).
	Subject() ConnectionID
	// ConnectionState maps localConnectionInfo; StateUnknown if absent or
	// not a known value.
	ConnectionState() ConnectionState
	// CauseCode maps cause; CauseUnknown if absent or not a known value.
	CauseCode() Cause
}

// ServiceInitiatedEvent: the device went off-hook or a service started a
// call there (own phone rung first for click-to-dial).
type ServiceInitiatedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	InitiatedConnection ConnectionID `xml:"initiatedConnection"`
	InitiatingDevice    *Party       `xml:"initiatingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *RawXML      `xml:"extensions,omitempty"`
}

// OriginatedEvent: the calling device's call is being set up.
type OriginatedEvent struct {
	MonitorCrossRefID    string       `xml:"monitorCrossRefID"`
	OriginatedConnection ConnectionID `xml:"originatedConnection"`
	CallingDevice        *Party       `xml:"callingDevice,omitempty"`
	CalledDevice         *Party       `xml:"calledDevice,omitempty"`
	LocalConnectionInfo  string       `xml:"localConnectionInfo,omitempty"`
	Cause                string       `xml:"cause,omitempty"`
	Extensions           *RawXML      `xml:"extensions,omitempty"`
}

// DeliveredEvent: the call is alerting at AlertingDevice.
type DeliveredEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	Connection            ConnectionID `xml:"connection"`
	AlertingDevice        *Party       `xml:"alertingDevice,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	CorrelatorData        string       `xml:"correlatorData,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	NetworkInfo
	CallLinkageData *CallLinkageData `xml:"callLinkageData,omitempty"`
	Extensions      *RawXML          `xml:"extensions,omitempty"`
}

// NetworkInfo is the part of DeliveredEvent and EstablishedEvent
// (ECMA-269 §17.2.5, §17.2.8; ECMA-323 call-control.xsd, after cause and
// the unmodelled servicesPermitted) that says where a call came from or
// went to outside the switch: the calling and called device as the
// network gave them, and the trunk or line device (associated devices)
// the call used.
type NetworkInfo struct {
	NetworkCallingDevice    *Party `xml:"networkCallingDevice,omitempty"`
	NetworkCalledDevice     *Party `xml:"networkCalledDevice,omitempty"`
	AssociatedCallingDevice *Party `xml:"associatedCallingDevice,omitempty"`
	AssociatedCalledDevice  *Party `xml:"associatedCalledDevice,omitempty"`
}

// CallLinkageData is ECMA-269's global call id (§12.3.x CallLinkageData:
// globalCallData/globalCallLinkageID, one of subDomainCallLinkageID or
// globallyUniqueCallLinkageID). Avaya AES puts the UCID there, inside its
// private data as well as here.
type CallLinkageData struct {
	GlobalCallData struct {
		LinkageID struct {
			SubDomain string `xml:"subDomainCallLinkageID,omitempty"`
			Global    string `xml:"globallyUniqueCallLinkageID,omitempty"`
		} `xml:"globalCallLinkageID"`
	} `xml:"globalCallData"`
}

// ID returns the linkage id, the globally unique one first; "" on nil.
func (c *CallLinkageData) ID() string {
	if c == nil {
		return ""
	}
	if g := c.GlobalCallData.LinkageID.Global; g != "" {
		return g
	}
	return c.GlobalCallData.LinkageID.SubDomain
}

// EstablishedEvent: AnsweringDevice answered.
type EstablishedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	EstablishedConnection ConnectionID `xml:"establishedConnection"`
	AnsweringDevice       *Party       `xml:"answeringDevice,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	CorrelatorData        string       `xml:"correlatorData,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	NetworkInfo
	CallLinkageData *CallLinkageData `xml:"callLinkageData,omitempty"`
	Extensions      *RawXML          `xml:"extensions,omitempty"`
}

// HeldEvent: HoldingDevice put the connection on hold.
type HeldEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	HeldConnection      ConnectionID `xml:"heldConnection"`
	HoldingDevice       *Party       `xml:"holdingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *RawXML      `xml:"extensions,omitempty"`
}

// RetrievedEvent: RetrievingDevice took the held connection back.
type RetrievedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	RetrievedConnection ConnectionID `xml:"retrievedConnection"`
	RetrievingDevice    *Party       `xml:"retrievingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *RawXML      `xml:"extensions,omitempty"`
}

// ConnectionClearedEvent: a connection left the call.
type ConnectionClearedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	DroppedConnection   ConnectionID `xml:"droppedConnection"`
	ReleasingDevice     *Party       `xml:"releasingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *RawXML      `xml:"extensions,omitempty"`
}

// TransferedEvent (one "r", as in the standard): two calls were joined and
// the transferring device left.
type TransferedEvent struct {
	MonitorCrossRefID      string          `xml:"monitorCrossRefID"`
	PrimaryOldCall         ConnectionID    `xml:"primaryOldCall"`
	SecondaryOldCall       *ConnectionID   `xml:"secondaryOldCall,omitempty"`
	TransferringDevice     *Party          `xml:"transferringDevice,omitempty"`
	TransferredToDevice    *Party          `xml:"transferredToDevice,omitempty"`
	TransferredConnections *ConnectionList `xml:"transferredConnections,omitempty"`
	LocalConnectionInfo    string          `xml:"localConnectionInfo,omitempty"`
	Cause                  string          `xml:"cause,omitempty"`
	Extensions             *RawXML         `xml:"extensions,omitempty"`
}

// ConferencedEvent: two calls were joined into a conference.
// ~ conferenceConnections (one source).
type ConferencedEvent struct {
	MonitorCrossRefID     string          `xml:"monitorCrossRefID"`
	PrimaryOldCall        ConnectionID    `xml:"primaryOldCall"`
	SecondaryOldCall      *ConnectionID   `xml:"secondaryOldCall,omitempty"`
	ConferencingDevice    *Party          `xml:"conferencingDevice,omitempty"`
	AddedParty            *Party          `xml:"addedParty,omitempty"`
	ConferenceConnections *ConnectionList `xml:"conferenceConnections,omitempty"`
	LocalConnectionInfo   string          `xml:"localConnectionInfo,omitempty"`
	Cause                 string          `xml:"cause,omitempty"`
	Extensions            *RawXML         `xml:"extensions,omitempty"`
}

// DivertedEvent: the call left DivertingDevice for NewDestination
// (forwarding, deflection, pickup).
type DivertedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	Connection            ConnectionID `xml:"connection"`
	DivertingDevice       *Party       `xml:"divertingDevice,omitempty"`
	NewDestination        *Party       `xml:"newDestination,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	Extensions            *RawXML      `xml:"extensions,omitempty"`
}

// FailedEvent: the call could not go on (busy, unobtainable...).
type FailedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	FailedConnection    ConnectionID `xml:"failedConnection"`
	FailingDevice       *Party       `xml:"failingDevice,omitempty"`
	CallingDevice       *Party       `xml:"callingDevice,omitempty"`
	CalledDevice        *Party       `xml:"calledDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *RawXML      `xml:"extensions,omitempty"`
}

// MessageWaitingEvent (ECMA-269 §21.2.x logical device feature event,
// ECMA-323 device-feature.xsd): TargetDevice's message-waiting
// indicator is now MessageWaitingOn; DeviceForMessage is the device that
// holds the message (a voicemail pilot), when the switch says.
type MessageWaitingEvent struct {
	MonitorCrossRefID string    `xml:"monitorCrossRefID"`
	TargetDevice      Party     `xml:"targetDevice"`
	DeviceForMessage  *DeviceID `xml:"deviceForMessage,omitempty"`
	MessageWaitingOn  bool      `xml:"messageWaitingOn"`
	Extensions        *RawXML   `xml:"extensions,omitempty"`
}
