package csta

// Code below is regular by design: Event methods and RootName for every event.

// RootName implements Message.
func (*ServiceInitiatedEvent) RootName() string { return "ServiceInitiatedEvent" }

// Monitor implements Event.
func (e *ServiceInitiatedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *ServiceInitiatedEvent) Subject() ConnectionID { return e.InitiatedConnection }

// ConnectionState implements Event.
func (e *ServiceInitiatedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *ServiceInitiatedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*OriginatedEvent) RootName() string { return "OriginatedEvent" }

// Monitor implements Event.
func (e *OriginatedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *OriginatedEvent) Subject() ConnectionID { return e.OriginatedConnection }

// ConnectionState implements Event.
func (e *OriginatedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *OriginatedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*DeliveredEvent) RootName() string { return "DeliveredEvent" }

// Monitor implements Event.
func (e *DeliveredEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *DeliveredEvent) Subject() ConnectionID { return e.Connection }

// ConnectionState implements Event.
func (e *DeliveredEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *DeliveredEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*EstablishedEvent) RootName() string { return "EstablishedEvent" }

// Monitor implements Event.
func (e *EstablishedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *EstablishedEvent) Subject() ConnectionID { return e.EstablishedConnection }

// ConnectionState implements Event.
func (e *EstablishedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *EstablishedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*HeldEvent) RootName() string { return "HeldEvent" }

// Monitor implements Event.
func (e *HeldEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *HeldEvent) Subject() ConnectionID { return e.HeldConnection }

// ConnectionState implements Event.
func (e *HeldEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *HeldEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*RetrievedEvent) RootName() string { return "RetrievedEvent" }

// Monitor implements Event.
func (e *RetrievedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *RetrievedEvent) Subject() ConnectionID { return e.RetrievedConnection }

// ConnectionState implements Event.
func (e *RetrievedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *RetrievedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*ConnectionClearedEvent) RootName() string { return "ConnectionClearedEvent" }

// Monitor implements Event.
func (e *ConnectionClearedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *ConnectionClearedEvent) Subject() ConnectionID { return e.DroppedConnection }

// ConnectionState implements Event.
func (e *ConnectionClearedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *ConnectionClearedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*TransferedEvent) RootName() string { return "TransferedEvent" }

// Monitor implements Event.
func (e *TransferedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *TransferedEvent) Subject() ConnectionID { return e.PrimaryOldCall }

// ConnectionState implements Event.
func (e *TransferedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *TransferedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*ConferencedEvent) RootName() string { return "ConferencedEvent" }

// Monitor implements Event.
func (e *ConferencedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *ConferencedEvent) Subject() ConnectionID { return e.PrimaryOldCall }

// ConnectionState implements Event.
func (e *ConferencedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *ConferencedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*DivertedEvent) RootName() string { return "DivertedEvent" }

// Monitor implements Event.
func (e *DivertedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *DivertedEvent) Subject() ConnectionID { return e.Connection }

// ConnectionState implements Event.
func (e *DivertedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *DivertedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// RootName implements Message.
func (*FailedEvent) RootName() string { return "FailedEvent" }

// Monitor implements Event.
func (e *FailedEvent) Monitor() string { return e.MonitorCrossRefID }

// Subject implements Event.
func (e *FailedEvent) Subject() ConnectionID { return e.FailedConnection }

// ConnectionState implements Event.
func (e *FailedEvent) ConnectionState() ConnectionState {
	return ParseConnectionState(e.LocalConnectionInfo)
}

// CauseCode implements Event.
func (e *FailedEvent) CauseCode() Cause { return ParseCause(e.Cause) }

// Interface guards.
var (
	_ Event = (*ServiceInitiatedEvent)(nil)
	_ Event = (*OriginatedEvent)(nil)
	_ Event = (*DeliveredEvent)(nil)
	_ Event = (*EstablishedEvent)(nil)
	_ Event = (*HeldEvent)(nil)
	_ Event = (*RetrievedEvent)(nil)
	_ Event = (*ConnectionClearedEvent)(nil)
	_ Event = (*TransferedEvent)(nil)
	_ Event = (*ConferencedEvent)(nil)
	_ Event = (*DivertedEvent)(nil)
	_ Event = (*FailedEvent)(nil)
)
