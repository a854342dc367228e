package csta

// RootName methods and the decode registry. Regular by design.

// Message is implemented by every CSTA and session message. RootName is the
// local name of the XML root element, which is also how Decode picks the type.
type Message interface {
	RootName() string
}

// Request is implemented by the requests of this package. ResponseName is
// the root name of the positive response.
type Request interface {
	Message
	ResponseName() string
}

// RootName implements Message.
func (*MonitorStart) RootName() string { return "MonitorStart" }

// RootName implements Message.
func (*MonitorStartResponse) RootName() string { return "MonitorStartResponse" }

// ResponseName implements Request.
func (*MonitorStart) ResponseName() string { return "MonitorStartResponse" }

// RootName implements Message.
func (*MonitorStop) RootName() string { return "MonitorStop" }

// RootName implements Message.
func (*MonitorStopResponse) RootName() string { return "MonitorStopResponse" }

// ResponseName implements Request.
func (*MonitorStop) ResponseName() string { return "MonitorStopResponse" }

// RootName implements Message.
func (*MakeCall) RootName() string { return "MakeCall" }

// RootName implements Message.
func (*MakeCallResponse) RootName() string { return "MakeCallResponse" }

// ResponseName implements Request.
func (*MakeCall) ResponseName() string { return "MakeCallResponse" }

// RootName implements Message.
func (*AnswerCall) RootName() string { return "AnswerCall" }

// RootName implements Message.
func (*AnswerCallResponse) RootName() string { return "AnswerCallResponse" }

// ResponseName implements Request.
func (*AnswerCall) ResponseName() string { return "AnswerCallResponse" }

// RootName implements Message.
func (*ClearConnection) RootName() string { return "ClearConnection" }

// RootName implements Message.
func (*ClearConnectionResponse) RootName() string { return "ClearConnectionResponse" }

// ResponseName implements Request.
func (*ClearConnection) ResponseName() string { return "ClearConnectionResponse" }

// RootName implements Message.
func (*HoldCall) RootName() string { return "HoldCall" }

// RootName implements Message.
func (*HoldCallResponse) RootName() string { return "HoldCallResponse" }

// ResponseName implements Request.
func (*HoldCall) ResponseName() string { return "HoldCallResponse" }

// RootName implements Message.
func (*RetrieveCall) RootName() string { return "RetrieveCall" }

// RootName implements Message.
func (*RetrieveCallResponse) RootName() string { return "RetrieveCallResponse" }

// ResponseName implements Request.
func (*RetrieveCall) ResponseName() string { return "RetrieveCallResponse" }

// RootName implements Message.
func (*ConsultationCall) RootName() string { return "ConsultationCall" }

// RootName implements Message.
func (*ConsultationCallResponse) RootName() string { return "ConsultationCallResponse" }

// ResponseName implements Request.
func (*ConsultationCall) ResponseName() string { return "ConsultationCallResponse" }

// RootName implements Message.
func (*TransferCall) RootName() string { return "TransferCall" }

// RootName implements Message.
func (*TransferCallResponse) RootName() string { return "TransferCallResponse" }

// ResponseName implements Request.
func (*TransferCall) ResponseName() string { return "TransferCallResponse" }

// RootName implements Message.
func (*SingleStepTransferCall) RootName() string { return "SingleStepTransferCall" }

// RootName implements Message.
func (*SingleStepTransferCallResponse) RootName() string { return "SingleStepTransferCallResponse" }

// ResponseName implements Request.
func (*SingleStepTransferCall) ResponseName() string { return "SingleStepTransferCallResponse" }

// RootName implements Message.
func (*ConferenceCall) RootName() string { return "ConferenceCall" }

// RootName implements Message.
func (*ConferenceCallResponse) RootName() string { return "ConferenceCallResponse" }

// ResponseName implements Request.
func (*ConferenceCall) ResponseName() string { return "ConferenceCallResponse" }

// RootName implements Message.
func (*ReconnectCall) RootName() string { return "ReconnectCall" }

// RootName implements Message.
func (*ReconnectCallResponse) RootName() string { return "ReconnectCallResponse" }

// ResponseName implements Request.
func (*ReconnectCall) ResponseName() string { return "ReconnectCallResponse" }

// RootName implements Message.
func (*AlternateCall) RootName() string { return "AlternateCall" }

// RootName implements Message.
func (*AlternateCallResponse) RootName() string { return "AlternateCallResponse" }

// ResponseName implements Request.
func (*AlternateCall) ResponseName() string { return "AlternateCallResponse" }

// RootName implements Message.
func (*MessageWaitingEvent) RootName() string { return "MessageWaitingEvent" }

// RootName implements Message.
func (*DeflectCall) RootName() string { return "DeflectCall" }

// RootName implements Message.
func (*DeflectCallResponse) RootName() string { return "DeflectCallResponse" }

// ResponseName implements Request.
func (*DeflectCall) ResponseName() string { return "DeflectCallResponse" }

// RootName implements Message.
func (*GenerateDigits) RootName() string { return "GenerateDigits" }

// RootName implements Message.
func (*GenerateDigitsResponse) RootName() string { return "GenerateDigitsResponse" }

// ResponseName implements Request.
func (*GenerateDigits) ResponseName() string { return "GenerateDigitsResponse" }

// RootName implements Message.
func (*SetDoNotDisturb) RootName() string { return "SetDoNotDisturb" }

// RootName implements Message.
func (*SetDoNotDisturbResponse) RootName() string { return "SetDoNotDisturbResponse" }

// GetDoNotDisturbResponse answers GetDoNotDisturb (ECMA-269 §22.1.x ~,
// ECMA-323 logical-device-features): whether DND is on at the device.
// Decoded once, typed: before, drivers decoded it as a RawMessage and
// then again into their own struct (15 % of a restore's CPU).
type GetDoNotDisturbResponse struct {
	DoNotDisturbOn bool `xml:"doNotDisturbOn"`
}

// RootName implements Message.
func (*GetDoNotDisturbResponse) RootName() string { return "GetDoNotDisturbResponse" }

// GetForwardingResponse answers GetForwarding (ECMA-269 §22.1.x ~): the
// device's forwardListItems.
type GetForwardingResponse struct {
	Items []ForwardListItem `xml:"forwardingList>forwardListItem"`
}

// ForwardListItem is one forwarding setting of a GetForwardingResponse.
type ForwardListItem struct {
	ForwardingType string `xml:"forwardingType"`
	ForwardStatus  bool   `xml:"forwardStatus"`
	ForwardDN      string `xml:"forwardDN"`
}

// RootName implements Message.
func (*GetForwardingResponse) RootName() string { return "GetForwardingResponse" }

// ResponseName implements Request.
func (*SetDoNotDisturb) ResponseName() string { return "SetDoNotDisturbResponse" }

// RootName implements Message.
func (*SetForwarding) RootName() string { return "SetForwarding" }

// RootName implements Message.
func (*SetForwardingResponse) RootName() string { return "SetForwardingResponse" }

// ResponseName implements Request.
func (*SetForwarding) ResponseName() string { return "SetForwardingResponse" }

// RootName implements Message.
func (*SnapshotDevice) RootName() string { return "SnapshotDevice" }

// RootName implements Message.
func (*SnapshotDeviceResponse) RootName() string { return "SnapshotDeviceResponse" }

// ResponseName implements Request.
func (*SnapshotDevice) ResponseName() string { return "SnapshotDeviceResponse" }

// RootName implements Message.
func (*SystemStatus) RootName() string { return "SystemStatus" }

// RootName implements Message.
func (*SystemStatusResponse) RootName() string { return "SystemStatusResponse" }

// ResponseName implements Request.
func (*SystemStatus) ResponseName() string { return "SystemStatusResponse" }

// RootName implements Message.
func (*StartApplicationSession) RootName() string { return "StartApplicationSession" }

// RootName implements Message.
func (*StartApplicationSessionPosResponse) RootName() string {
	return "StartApplicationSessionPosResponse"
}

// RootName implements Message.
func (*StartApplicationSessionNegResponse) RootName() string {
	return "StartApplicationSessionNegResponse"
}

// ResponseName implements Request.
func (*StartApplicationSession) ResponseName() string { return "StartApplicationSessionPosResponse" }

func (*StartApplicationSession) sessionNamespace()            {}
func (*StartApplicationSessionPosResponse) sessionNamespace() {}
func (*StartApplicationSessionNegResponse) sessionNamespace() {}

func (r *StartApplicationSessionNegResponse) sessionError() *SessionError {
	return &SessionError{Response: "StartApplicationSessionNegResponse", DefinedError: r.ErrorCode.DefinedError}
}

// RootName implements Message.
func (*ResetApplicationSessionTimer) RootName() string { return "ResetApplicationSessionTimer" }

// RootName implements Message.
func (*ResetApplicationSessionTimerPosResponse) RootName() string {
	return "ResetApplicationSessionTimerPosResponse"
}

// RootName implements Message.
func (*ResetApplicationSessionTimerNegResponse) RootName() string {
	return "ResetApplicationSessionTimerNegResponse"
}

// ResponseName implements Request.
func (*ResetApplicationSessionTimer) ResponseName() string {
	return "ResetApplicationSessionTimerPosResponse"
}

func (*ResetApplicationSessionTimer) sessionNamespace()            {}
func (*ResetApplicationSessionTimerPosResponse) sessionNamespace() {}
func (*ResetApplicationSessionTimerNegResponse) sessionNamespace() {}

func (r *ResetApplicationSessionTimerNegResponse) sessionError() *SessionError {
	return &SessionError{Response: "ResetApplicationSessionTimerNegResponse", DefinedError: r.ErrorCode.DefinedError}
}

// RootName implements Message.
func (*StopApplicationSession) RootName() string { return "StopApplicationSession" }

// RootName implements Message.
func (*StopApplicationSessionPosResponse) RootName() string {
	return "StopApplicationSessionPosResponse"
}

// RootName implements Message.
func (*StopApplicationSessionNegResponse) RootName() string {
	return "StopApplicationSessionNegResponse"
}

// ResponseName implements Request.
func (*StopApplicationSession) ResponseName() string { return "StopApplicationSessionPosResponse" }

func (*StopApplicationSession) sessionNamespace()            {}
func (*StopApplicationSessionPosResponse) sessionNamespace() {}
func (*StopApplicationSessionNegResponse) sessionNamespace() {}

func (r *StopApplicationSessionNegResponse) sessionError() *SessionError {
	return &SessionError{Response: "StopApplicationSessionNegResponse", DefinedError: r.ErrorCode.DefinedError}
}

// registry maps root local names to constructors.
var registry = map[string]func() Message{
	"MonitorStart":                            func() Message { return new(MonitorStart) },
	"MonitorStartResponse":                    func() Message { return new(MonitorStartResponse) },
	"MonitorStop":                             func() Message { return new(MonitorStop) },
	"MonitorStopResponse":                     func() Message { return new(MonitorStopResponse) },
	"MakeCall":                                func() Message { return new(MakeCall) },
	"MakeCallResponse":                        func() Message { return new(MakeCallResponse) },
	"AnswerCall":                              func() Message { return new(AnswerCall) },
	"AnswerCallResponse":                      func() Message { return new(AnswerCallResponse) },
	"ClearConnection":                         func() Message { return new(ClearConnection) },
	"ClearConnectionResponse":                 func() Message { return new(ClearConnectionResponse) },
	"HoldCall":                                func() Message { return new(HoldCall) },
	"HoldCallResponse":                        func() Message { return new(HoldCallResponse) },
	"RetrieveCall":                            func() Message { return new(RetrieveCall) },
	"RetrieveCallResponse":                    func() Message { return new(RetrieveCallResponse) },
	"ConsultationCall":                        func() Message { return new(ConsultationCall) },
	"ConsultationCallResponse":                func() Message { return new(ConsultationCallResponse) },
	"TransferCall":                            func() Message { return new(TransferCall) },
	"TransferCallResponse":                    func() Message { return new(TransferCallResponse) },
	"SingleStepTransferCall":                  func() Message { return new(SingleStepTransferCall) },
	"SingleStepTransferCallResponse":          func() Message { return new(SingleStepTransferCallResponse) },
	"ConferenceCall":                          func() Message { return new(ConferenceCall) },
	"ConferenceCallResponse":                  func() Message { return new(ConferenceCallResponse) },
	"ReconnectCall":                           func() Message { return new(ReconnectCall) },
	"ReconnectCallResponse":                   func() Message { return new(ReconnectCallResponse) },
	"AlternateCall":                           func() Message { return new(AlternateCall) },
	"AlternateCallResponse":                   func() Message { return new(AlternateCallResponse) },
	"MessageWaitingEvent":                     func() Message { return new(MessageWaitingEvent) },
	"DeflectCall":                             func() Message { return new(DeflectCall) },
	"DeflectCallResponse":                     func() Message { return new(DeflectCallResponse) },
	"GenerateDigits":                          func() Message { return new(GenerateDigits) },
	"GenerateDigitsResponse":                  func() Message { return new(GenerateDigitsResponse) },
	"SetDoNotDisturb":                         func() Message { return new(SetDoNotDisturb) },
	"SetDoNotDisturbResponse":                 func() Message { return new(SetDoNotDisturbResponse) },
	"GetDoNotDisturbResponse":                 func() Message { return new(GetDoNotDisturbResponse) },
	"GetForwardingResponse":                   func() Message { return new(GetForwardingResponse) },
	"SetForwarding":                           func() Message { return new(SetForwarding) },
	"SetForwardingResponse":                   func() Message { return new(SetForwardingResponse) },
	"SnapshotDevice":                          func() Message { return new(SnapshotDevice) },
	"SnapshotDeviceResponse":                  func() Message { return new(SnapshotDeviceResponse) },
	"SystemStatus":                            func() Message { return new(SystemStatus) },
	"SystemStatusResponse":                    func() Message { return new(SystemStatusResponse) },
	"StartApplicationSession":                 func() Message { return new(StartApplicationSession) },
	"StartApplicationSessionPosResponse":      func() Message { return new(StartApplicationSessionPosResponse) },
	"StartApplicationSessionNegResponse":      func() Message { return new(StartApplicationSessionNegResponse) },
	"ResetApplicationSessionTimer":            func() Message { return new(ResetApplicationSessionTimer) },
	"ResetApplicationSessionTimerPosResponse": func() Message { return new(ResetApplicationSessionTimerPosResponse) },
	"ResetApplicationSessionTimerNegResponse": func() Message { return new(ResetApplicationSessionTimerNegResponse) },
	"StopApplicationSession":                  func() Message { return new(StopApplicationSession) },
	"StopApplicationSessionPosResponse":       func() Message { return new(StopApplicationSessionPosResponse) },
	"StopApplicationSessionNegResponse":       func() Message { return new(StopApplicationSessionNegResponse) },
	"ServiceInitiatedEvent":                   func() Message { return new(ServiceInitiatedEvent) },
	"OriginatedEvent":                         func() Message { return new(OriginatedEvent) },
	"DeliveredEvent":                          func() Message { return new(DeliveredEvent) },
	"EstablishedEvent":                        func() Message { return new(EstablishedEvent) },
	"HeldEvent":                               func() Message { return new(HeldEvent) },
	"RetrievedEvent":                          func() Message { return new(RetrievedEvent) },
	"ConnectionClearedEvent":                  func() Message { return new(ConnectionClearedEvent) },
	"TransferedEvent":                         func() Message { return new(TransferedEvent) },
	"ConferencedEvent":                        func() Message { return new(ConferencedEvent) },
	"DivertedEvent":                           func() Message { return new(DivertedEvent) },
	"FailedEvent":                             func() Message { return new(FailedEvent) },
	"QueuedEvent":                             func() Message { return new(QueuedEvent) },
	"CallClearedEvent":                        func() Message { return new(CallClearedEvent) },
	"NetworkReachedEvent":                     func() Message { return new(NetworkReachedEvent) },
	"DigitsDialedEvent":                       func() Message { return new(DigitsDialedEvent) },
	"OfferedEvent":                            func() Message { return new(OfferedEvent) },
	"SnapshotDeviceData":                      func() Message { return new(SnapshotDeviceData) },
	"CSTAErrorCode":                           func() Message { return new(CSTAErrorCode) },
}

// Interface guards.
var (
	_ Request        = (*MonitorStart)(nil)
	_ Request        = (*MonitorStop)(nil)
	_ Request        = (*MakeCall)(nil)
	_ Request        = (*AnswerCall)(nil)
	_ Request        = (*ClearConnection)(nil)
	_ Request        = (*HoldCall)(nil)
	_ Request        = (*RetrieveCall)(nil)
	_ Request        = (*ConsultationCall)(nil)
	_ Request        = (*TransferCall)(nil)
	_ Request        = (*SingleStepTransferCall)(nil)
	_ Request        = (*ConferenceCall)(nil)
	_ Request        = (*DeflectCall)(nil)
	_ Request        = (*ReconnectCall)(nil)
	_ Request        = (*AlternateCall)(nil)
	_ Request        = (*GenerateDigits)(nil)
	_ Request        = (*SetDoNotDisturb)(nil)
	_ Request        = (*SetForwarding)(nil)
	_ Request        = (*SnapshotDevice)(nil)
	_ Request        = (*SystemStatus)(nil)
	_ Request        = (*StartApplicationSession)(nil)
	_ Request        = (*ResetApplicationSessionTimer)(nil)
	_ Request        = (*StopApplicationSession)(nil)
	_ negResponse    = (*StartApplicationSessionNegResponse)(nil)
	_ sessionMessage = (*StartApplicationSessionPosResponse)(nil)
	_ negResponse    = (*ResetApplicationSessionTimerNegResponse)(nil)
	_ sessionMessage = (*ResetApplicationSessionTimerPosResponse)(nil)
	_ negResponse    = (*StopApplicationSessionNegResponse)(nil)
	_ sessionMessage = (*StopApplicationSessionPosResponse)(nil)
)
