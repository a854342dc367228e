package csta

// More ECMA-269 call events (§17.2), in the ECMA-323 form: element names
// and order as the ed3–ed6 call-control schema has them (~: transcribed
// from ECMA-269/323 knowledge, the schema files were not in reach; the
// optional elements this package does not use are left out, and a
// document carrying them still decodes: unknown elements are ignored).

// QueuedEvent: the call waits in Queue (an ACD, hunt or operator group)
// (ECMA-269 §17.2.14 ~).
type QueuedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	QueuedConnection      ConnectionID `xml:"queuedConnection"`
	Queue                 *Party       `xml:"queue,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	NumberQueued          *int         `xml:"numberQueued,omitempty"`
	CallsInFront          *int         `xml:"callsInFront,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	Extensions            *RawXML      `xml:"extensions,omitempty"`
}

// CallClearedEvent: the whole call ended (ECMA-269 §17.2.2 ~). It has no
// localConnectionInfo: every connection of the call is null.
type CallClearedEvent struct {
	MonitorCrossRefID string       `xml:"monitorCrossRefID"`
	ClearedCall       ConnectionID `xml:"clearedCall"`
	Cause             string       `xml:"cause,omitempty"`
	Extensions        *RawXML      `xml:"extensions,omitempty"`
}

// NetworkReachedEvent: the call left the switch on NetworkInterfaceUsed (a
// trunk) (ECMA-269 §17.2.12 ~).
type NetworkReachedEvent struct {
	MonitorCrossRefID     string       `xml:"monitorCrossRefID"`
	OutboundConnection    ConnectionID `xml:"outboundConnection"`
	NetworkInterfaceUsed  *Party       `xml:"networkInterfaceUsed,omitempty"`
	CallingDevice         *Party       `xml:"callingDevice,omitempty"`
	CalledDevice          *Party       `xml:"calledDevice,omitempty"`
	LastRedirectionDevice *Party       `xml:"lastRedirectionDevice,omitempty"`
	LocalConnectionInfo   string       `xml:"localConnectionInfo,omitempty"`
	Cause                 string       `xml:"cause,omitempty"`
	Extensions            *RawXML      `xml:"extensions,omitempty"`
}

// DigitsDialedEvent: DialingDevice dialled DialingSequence on the
// connection (ECMA-269 §17.2.5 ~).
type DigitsDialedEvent struct {
	MonitorCrossRefID   string       `xml:"monitorCrossRefID"`
	DialingConnection   ConnectionID `xml:"dialingConnection"`
	DialingDevice       *Party       `xml:"dialingDevice,omitempty"`
	DialingSequence     string       `xml:"dialingSequence,omitempty"`
	LocalConnectionInfo string       `xml:"localConnectionInfo,omitempty"`
	Cause               string       `xml:"cause,omitempty"`
	Extensions          *RawXML      `xml:"extensions,omitempty"`
}

// OfferedEvent: the call is offered to OfferedDevice, which may accept or
// reject it before it alerts (ECMA-269 §17.2.13 ~, editions 4 and later).
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
	// The network view of the parties, as in DeliveredEvent (~: Offered
	// has Delivered's parameters in ECMA-269 §17.2.13).
	NetworkInfo
	CallLinkageData *CallLinkageData `xml:"callLinkageData,omitempty"`
	Extensions      *RawXML          `xml:"extensions,omitempty"`
}

// SnapshotDeviceData carries a deferred SnapshotDevice result: the switch
// answered SnapshotDevice with a serviceCrossRefID and sends the data in
// one or more segments, the last with lastSegment true (ECMA-269
// §16.1.3/§16.2 ~).
type SnapshotDeviceData struct {
	ServiceCrossRefID string        `xml:"serviceCrossRefID"`
	SegmentID         *int          `xml:"segmentID,omitempty"`
	LastSegment       bool          `xml:"lastSegment"`
	SnapshotData      *SnapshotData `xml:"snapshotData,omitempty"`
	Extensions        *RawXML       `xml:"extensions,omitempty"`
}

// RootName implements Message.
func (*QueuedEvent) RootName() string { return "QueuedEvent" }

// Monitor implements Event.
func (e *QueuedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *QueuedEvent) Subject() ConnectionID { return e.QueuedConnection }

// ConnectionState implements Event.
func (e *QueuedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *QueuedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*CallClearedEvent) RootName() string { return "CallClearedEvent" }

// Monitor implements Event.
func (e *CallClearedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *CallClearedEvent) Subject() ConnectionID { return e.ClearedCall }

// ConnectionState implements Event: a cleared call leaves every
// connection null.
func (e *CallClearedEvent) ConnectionState() ConnectionState { return ParseConnectionState("null") }

// CauseCode implements Event.
func (e *CallClearedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*NetworkReachedEvent) RootName() string { return "NetworkReachedEvent" }

// Monitor implements Event.
func (e *NetworkReachedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *NetworkReachedEvent) Subject() ConnectionID { return e.OutboundConnection }

// ConnectionState implements Event.
func (e *NetworkReachedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *NetworkReachedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*DigitsDialedEvent) RootName() string { return "DigitsDialedEvent" }

// Monitor implements Event.
func (e *DigitsDialedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *DigitsDialedEvent) Subject() ConnectionID { return e.DialingConnection }

// ConnectionState implements Event.
func (e *DigitsDialedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *DigitsDialedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*OfferedEvent) RootName() string { return "OfferedEvent" }

// Monitor implements Event.
func (e *OfferedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *OfferedEvent) Subject() ConnectionID { return e.OfferedConnection }

// ConnectionState implements Event.
func (e *OfferedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *OfferedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*SnapshotDeviceData) RootName() string { return "SnapshotDeviceData" }

// Interface guards.
var (
	_ Event   = (*QueuedEvent)(nil)
	_ Event   = (*CallClearedEvent)(nil)
	_ Event   = (*NetworkReachedEvent)(nil)
	_ Event   = (*DigitsDialedEvent)(nil)
	_ Event   = (*OfferedEvent)(nil)
	_ Message = (*SnapshotDeviceData)(nil)
)
