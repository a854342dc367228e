package cstaxml

// ECMA-354 application session messages, in SessionNamespace.

// ApplicationInfo carries the application's name and the vendor login.
type ApplicationInfo struct {
	ApplicationID           string `xml:"applicationID"`
	ApplicationSpecificInfo *Raw   `xml:"applicationSpecificInfo,omitempty"`
}

// ProtocolVersions lists protocolVersion elements.
type ProtocolVersions struct {
	ProtocolVersion []string `xml:"protocolVersion"`
}

// StartApplicationSession (ECMA-354 §8.1).
type StartApplicationSession struct {
	session
	ApplicationInfo           ApplicationInfo  `xml:"applicationInfo"`
	RequestedProtocolVersions ProtocolVersions `xml:"requestedProtocolVersions"`
	RequestedSessionDuration  int              `xml:"requestedSessionDuration,omitempty"`
	Extensions                *Raw             `xml:"extensions,omitempty"`
}

// StartApplicationSessionPosResponse (ECMA-354 §8.1).
type StartApplicationSessionPosResponse struct {
	session
	SessionID             string `xml:"sessionID"`
	ActualProtocolVersion string `xml:"actualProtocolVersion"`
	ActualSessionDuration int    `xml:"actualSessionDuration,omitempty"`
	Extensions            *Raw   `xml:"extensions,omitempty"`
}

// Session errors (ECMA-354 definedError values).
const (
	SessionErrInvalidApplicationInfo               = "invalidApplicationInfo"
	SessionErrRequestedProtocolVersionNotSupported = "requestedProtocolVersionNotSupported"
	SessionErrInvalidSessionID                     = "invalidSessionID"
)

// SessionErrorCode is the choice of definedError or a vendor error.
type SessionErrorCode struct {
	DefinedError string `xml:"definedError,omitempty"`
}

// StartApplicationSessionNegResponse (ECMA-354 §8.1).
type StartApplicationSessionNegResponse struct {
	session
	ErrorCode  SessionErrorCode `xml:"errorCode"`
	Extensions *Raw             `xml:"extensions,omitempty"`
}

// ResetApplicationSessionTimer (ECMA-354 §8.3).
type ResetApplicationSessionTimer struct {
	session
	SessionID                string `xml:"sessionID"`
	RequestedSessionDuration int    `xml:"requestedSessionDuration,omitempty"`
	Extensions               *Raw   `xml:"extensions,omitempty"`
}

// ResetApplicationSessionTimerPosResponse (ECMA-354 §8.3).
type ResetApplicationSessionTimerPosResponse struct {
	session
	ActualSessionDuration int  `xml:"actualSessionDuration,omitempty"`
	Extensions            *Raw `xml:"extensions,omitempty"`
}

// ResetApplicationSessionTimerNegResponse (ECMA-354 §8.3).
type ResetApplicationSessionTimerNegResponse struct {
	session
	ErrorCode  SessionErrorCode `xml:"errorCode"`
	Extensions *Raw             `xml:"extensions,omitempty"`
}

// SessionEndReason is a choice of definedEndReason or appEndReason.
type SessionEndReason struct {
	DefinedEndReason string `xml:"definedEndReason,omitempty" enum:"normal"`
	AppEndReason     string `xml:"appEndReason,omitempty"`
}

// StopApplicationSession (ECMA-354 §8.2).
type StopApplicationSession struct {
	session
	SessionID        string           `xml:"sessionID"`
	SessionEndReason SessionEndReason `xml:"sessionEndReason"`
	Extensions       *Raw             `xml:"extensions,omitempty"`
}

// StopApplicationSessionPosResponse (ECMA-354 §8.2).
type StopApplicationSessionPosResponse struct {
	session
	Extensions *Raw `xml:"extensions,omitempty"`
}

// StopApplicationSessionNegResponse (ECMA-354 §8.2).
type StopApplicationSessionNegResponse struct {
	session
	ErrorCode  SessionErrorCode `xml:"errorCode"`
	Extensions *Raw             `xml:"extensions,omitempty"`
}

// session marks the ECMA-354 messages: they are in SessionNamespace.
type session struct{}

// Namespace implements Namespaced.
func (session) Namespace() string { return SessionNamespace }
