package cstaxml

// ECMA-323 events (call-control.xsd, device-feature.xsd), elements in
// schema order. A simulator writes them; the decoder reads them for the
// simulators' own tests.

// ServiceInitiatedEvent (call-control.xsd).
type ServiceInitiatedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	InitiatedConnection ConnectionID `xml:"initiatedConnection"`
	InitiatingDevice    *Party       `xml:"initiatingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *Raw         `xml:"extensions,omitempty"`
}

// OriginatedEvent (call-control.xsd).
type OriginatedEvent struct {
	MonitorCrossRefID    string       `xml:"monitorCrossRefID"`
	OriginatedConnection ConnectionID `xml:"originatedConnection"`
	CallingDevice        *Party       `xml:"callingDevice,omitempty"`
	CalledDevice         *Party       `xml:"calledDevice,omitempty"`
	LocalConnectionInfo  string       `xml:"localConnectionInfo,omitempty"`
	Cause                string       `xml:"cause,omitempty"`
	Extensions           *Raw         `xml:"extensions,omitempty"`
}

// DeliveredEvent (call-control.xsd).
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
	// The network and trunk view of the parties (ECMA-269 §17.2.5:
	// networkCallingDevice, networkCalledDevice, associatedCallingDevice,
	// associatedCalledDevice), then callLinkageData (the global call id).
	NetworkCallingDevice    *Party       `xml:"networkCallingDevice,omitempty"`
	NetworkCalledDevice     *Party       `xml:"networkCalledDevice,omitempty"`
	AssociatedCallingDevice *Party       `xml:"associatedCallingDevice,omitempty"`
	AssociatedCalledDevice  *Party       `xml:"associatedCalledDevice,omitempty"`
	CallLinkageData         *LinkageData `xml:"callLinkageData,omitempty"`
	Extensions              *Raw         `xml:"extensions,omitempty"`
}

// EstablishedEvent (call-control.xsd).
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
	// The network and trunk view of the parties (ECMA-269 §17.2.5:
	// networkCallingDevice, networkCalledDevice, associatedCallingDevice,
	// associatedCalledDevice), then callLinkageData (the global call id).
	NetworkCallingDevice    *Party       `xml:"networkCallingDevice,omitempty"`
	NetworkCalledDevice     *Party       `xml:"networkCalledDevice,omitempty"`
	AssociatedCallingDevice *Party       `xml:"associatedCallingDevice,omitempty"`
	AssociatedCalledDevice  *Party       `xml:"associatedCalledDevice,omitempty"`
	CallLinkageData         *LinkageData `xml:"callLinkageData,omitempty"`
	Extensions              *Raw         `xml:"extensions,omitempty"`
}

// HeldEvent (call-control.xsd).
type HeldEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	HeldConnection      ConnectionID `xml:"heldConnection"`
	HoldingDevice       *Party       `xml:"holdingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *Raw         `xml:"extensions,omitempty"`
}

// RetrievedEvent (call-control.xsd).
type RetrievedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	RetrievedConnection ConnectionID `xml:"retrievedConnection"`
	RetrievingDevice    *Party       `xml:"retrievingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *Raw         `xml:"extensions,omitempty"`
}

// ConnectionClearedEvent (call-control.xsd).
type ConnectionClearedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	DroppedConnection   ConnectionID `xml:"droppedConnection"`
	ReleasingDevice     *Party       `xml:"releasingDevice,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *Raw         `xml:"extensions,omitempty"`
}

// TransferedEvent (call-control.xsd; the standard's spelling).
type TransferedEvent struct {
	MonitorCrossRefID      string          `xml:"monitorCrossRefID"`
	PrimaryOldCall         ConnectionID    `xml:"primaryOldCall"`
	SecondaryOldCall       *ConnectionID   `xml:"secondaryOldCall,omitempty"`
	TransferringDevice     *Party          `xml:"transferringDevice,omitempty"`
	TransferredToDevice    *Party          `xml:"transferredToDevice,omitempty"`
	TransferredConnections *ConnectionList `xml:"transferredConnections,omitempty"`
	LocalConnectionInfo    string          `xml:"localConnectionInfo,omitempty"`
	Cause                  string          `xml:"cause,omitempty"`
	Extensions             *Raw            `xml:"extensions,omitempty"`
}

// ConferencedEvent (call-control.xsd).
type ConferencedEvent struct {
	MonitorCrossRefID     string          `xml:"monitorCrossRefID"`
	PrimaryOldCall        ConnectionID    `xml:"primaryOldCall"`
	SecondaryOldCall      *ConnectionID   `xml:"secondaryOldCall,omitempty"`
	ConferencingDevice    *Party          `xml:"conferencingDevice,omitempty"`
	AddedParty            *Party          `xml:"addedParty,omitempty"`
	ConferenceConnections *ConnectionList `xml:"conferenceConnections,omitempty"`
	LocalConnectionInfo   string          `xml:"localConnectionInfo,omitempty"`
	Cause                 string          `xml:"cause,omitempty"`
	Extensions            *Raw            `xml:"extensions,omitempty"`
}

// DivertedEvent (call-control.xsd).
type DivertedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	Connection            ConnectionID `xml:"connection"`
	DivertingDevice       *Party       `xml:"divertingDevice,omitempty"`
	NewDestination        *Party       `xml:"newDestination,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	Extensions            *Raw         `xml:"extensions,omitempty"`
}

// FailedEvent (call-control.xsd).
type FailedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	FailedConnection      ConnectionID `xml:"failedConnection"`
	FailingDevice         *Party       `xml:"failingDevice,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	Extensions            *Raw         `xml:"extensions,omitempty"`
}

// DoNotDisturbEvent (device-feature.xsd).
type DoNotDisturbEvent struct {
	MonitorCrossRefID string `xml:"monitorCrossRefID"`
	Device            Party  `xml:"device"`
	DoNotDisturbOn    bool   `xml:"doNotDisturbOn"`
	Extensions        *Raw   `xml:"extensions,omitempty"`
}

// ForwardingEvent (device-feature.xsd).
type ForwardingEvent struct {
	MonitorCrossRefID string `xml:"monitorCrossRefID"`
	Device            Party  `xml:"device"`
	ForwardingType    string `xml:"forwardingType"`
	ForwardStatus     bool   `xml:"forwardStatus"`
	ForwardTo         string `xml:"forwardTo,omitempty"`
	Extensions        *Raw   `xml:"extensions,omitempty"`
}

// QueuedEvent (call-control.xsd ~: the optional correlator, user data and
// network elements are not used by the simulators).
type QueuedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	QueuedConnection      ConnectionID `xml:"queuedConnection"`
	Queue                 *Party       `xml:"queue,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	NumberQueued          string       `xml:"numberQueued,omitempty"`
	CallsInFront          string       `xml:"callsInFront,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	Extensions            *Raw         `xml:"extensions,omitempty"`
}

// CallClearedEvent (call-control.xsd ~): the whole call ended.
type CallClearedEvent struct {
	MonitorCrossRefID string       `xml:"monitorCrossRefID"`
	ClearedCall       ConnectionID `xml:"clearedCall"`
	Cause             string       `xml:"cause,omitempty"`
	Extensions        *Raw         `xml:"extensions,omitempty"`
}

// NetworkReachedEvent (call-control.xsd ~).
type NetworkReachedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	OutboundConnection    ConnectionID `xml:"outboundConnection"`
	NetworkInterfaceUsed  *Party       `xml:"networkInterfaceUsed,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	Extensions            *Raw         `xml:"extensions,omitempty"`
}

// DigitsDialedEvent (call-control.xsd ~).
type DigitsDialedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	DialingConnection   ConnectionID `xml:"dialingConnection"`
	DialingDevice       *Party       `xml:"dialingDevice,omitempty"`
	DialingSequence     string       `xml:"dialingSequence,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *Raw         `xml:"extensions,omitempty"`
}

// OfferedEvent (call-control.xsd ~, ECMA-323 ed4 and later).
type OfferedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	OfferedConnection     ConnectionID `xml:"offeredConnection"`
	OfferedDevice         *Party       `xml:"offeredDevice,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	CorrelatorData        string       `xml:"correlatorData,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	// As in DeliveredEvent (~: Offered has Delivered's parameters).
	NetworkCallingDevice    *Party `xml:"networkCallingDevice,omitempty"`
	NetworkCalledDevice     *Party `xml:"networkCalledDevice,omitempty"`
	AssociatedCallingDevice *Party `xml:"associatedCallingDevice,omitempty"`
	AssociatedCalledDevice  *Party `xml:"associatedCalledDevice,omitempty"`
	Extensions              *Raw   `xml:"extensions,omitempty"`
}

// SnapshotDeviceData (snapshot.xsd ~): a deferred SnapshotDevice result,
// sent after a SnapshotDeviceResponse that carried only a
// serviceCrossRefID, in segments until lastSegment.
type SnapshotDeviceData struct {
	ServiceCrossRefID string        `xml:"serviceCrossRefID"`
	SegmentID         string        `xml:"segmentID,omitempty"`
	LastSegment       bool          `xml:"lastSegment"`
	SnapshotData      *SnapshotData `xml:"snapshotData,omitempty"`
	Extensions        *Raw          `xml:"extensions,omitempty"`
}

// LinkageData is callLinkageData: globalCallData holding the switch's
// sub-domain name and the call's linkage id (one of two forms).
type LinkageData struct {
	GlobalCallData GlobalCallData `xml:"globalCallData"`
}

// GlobalCallData (call-control.xsd).
type GlobalCallData struct {
	SwitchingSubDomainName string        `xml:"globalCallSwitchingSubDomainName,omitempty"`
	LinkageID              CallLinkageID `xml:"globalCallLinkageID"`
}

// CallLinkageID is a choice: subDomainCallLinkageID or
// globallyUniqueCallLinkageID.
type CallLinkageID struct {
	SubDomain      string `xml:"subDomainCallLinkageID,omitempty"`
	GloballyUnique string `xml:"globallyUniqueCallLinkageID,omitempty"`
}

// MessageWaitingEvent (device-feature.xsd): the target device's
// message-waiting lamp.
type MessageWaitingEvent struct {
	MonitorCrossRefID string `xml:"monitorCrossRefID"`
	TargetDevice      Party  `xml:"targetDevice"`
	DeviceForMessage  string `xml:"deviceForMessage,omitempty"`
	MessageWaitingOn  bool   `xml:"messageWaitingOn"`
	Extensions        *Raw   `xml:"extensions,omitempty"`
}
