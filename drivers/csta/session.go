package csta

import "fmt"

// ECMA-354 application session messages (cti-protocols.md §2.3). They are
// always encoded in SessionNamespace. A driver starts a session first,
// resets its timer at no more than half the granted duration, and stops it
// on shutdown.

// ApplicationInfo identifies the application to the switch.
// ApplicationSpecificInfo carries the vendor login as raw XML, e.g. Avaya's
// <SessionLoginInfo xmlns="http://www.avaya.com/csta"> with userName,
// password, sessionCleanupDelay and an optional sessionID to resume.
type ApplicationInfo struct {
	ApplicationID           string  `xml:"applicationID"`
	ApplicationSpecificInfo *RawXML `xml:"applicationSpecificInfo,omitempty"`
}

// ProtocolVersions lists protocol version URIs in order of preference.
type ProtocolVersions struct {
	ProtocolVersion []string `xml:"protocolVersion"`
}

// StartApplicationSession opens a session. Durations are seconds.
type StartApplicationSession struct {
	ApplicationInfo           ApplicationInfo  `xml:"applicationInfo"`
	RequestedProtocolVersions ProtocolVersions `xml:"requestedProtocolVersions"`
	RequestedSessionDuration  int              `xml:"requestedSessionDuration,omitempty"`
	Extensions                *RawXML          `xml:"extensions,omitempty"`
}

// StartApplicationSessionPosResponse grants a session.
type StartApplicationSessionPosResponse struct {
	SessionID             string  `xml:"sessionID"`
	ActualProtocolVersion string  `xml:"actualProtocolVersion"`
	ActualSessionDuration int     `xml:"actualSessionDuration,omitempty"`
	Extensions            *RawXML `xml:"extensions,omitempty"`
}

// Defined session errors seen in the field (ECMA-354).
const (
	SessionErrInvalidApplicationInfo               = "invalidApplicationInfo"
	SessionErrRequestedProtocolVersionNotSupported = "requestedProtocolVersionNotSupported"
)

// SessionErrorCode is the <errorCode> of a session NegResponse.
// ~ only the definedError choice is modelled.
type SessionErrorCode struct {
	DefinedError string `xml:"definedError,omitempty"`
}

// StartApplicationSessionNegResponse refuses a session.
type StartApplicationSessionNegResponse struct {
	ErrorCode  SessionErrorCode `xml:"errorCode"`
	Extensions *RawXML          `xml:"extensions,omitempty"`
}

// ResetApplicationSessionTimer keeps a session alive.
type ResetApplicationSessionTimer struct {
	SessionID                string  `xml:"sessionID"`
	RequestedSessionDuration int     `xml:"requestedSessionDuration,omitempty"`
	Extensions               *RawXML `xml:"extensions,omitempty"`
}

// ResetApplicationSessionTimerPosResponse grants the new duration.
type ResetApplicationSessionTimerPosResponse struct {
	ActualSessionDuration int     `xml:"actualSessionDuration,omitempty"`
	Extensions            *RawXML `xml:"extensions,omitempty"`
}

// ResetApplicationSessionTimerNegResponse refuses the reset (the session
// is gone: start a new one).
type ResetApplicationSessionTimerNegResponse struct {
	ErrorCode  SessionErrorCode `xml:"errorCode"`
	Extensions *RawXML          `xml:"extensions,omitempty"`
}

// Session end reasons.
const (
	// EndReasonNormal is the definedEndReason for an orderly stop.
	EndReasonNormal = "normal"
)

// SessionEndReason says why a session ends: a defined reason or free text.
type SessionEndReason struct {
	DefinedEndReason string `xml:"definedEndReason,omitempty"`
	AppEndReason     string `xml:"appEndReason,omitempty"`
}

// StopApplicationSession ends a session.
type StopApplicationSession struct {
	SessionID        string           `xml:"sessionID"`
	SessionEndReason SessionEndReason `xml:"sessionEndReason"`
	Extensions       *RawXML          `xml:"extensions,omitempty"`
}

// StopApplicationSessionPosResponse confirms the stop.
type StopApplicationSessionPosResponse struct {
	Extensions *RawXML `xml:"extensions,omitempty"`
}

// StopApplicationSessionNegResponse refuses the stop.
type StopApplicationSessionNegResponse struct {
	ErrorCode  SessionErrorCode `xml:"errorCode"`
	Extensions *RawXML          `xml:"extensions,omitempty"`
}

// SessionError is the error Client.Call returns for a session
// NegResponse; errors.Is(err, ErrSessionRefused) holds.
type SessionError struct {
	// Response is the NegResponse root name.
	Response string
	// DefinedError is the reason, e.g. invalidApplicationInfo.
	DefinedError string
}

// Error implements error.
func (e *SessionError) Error() string {
	return fmt.Sprintf("csta: %s: %s", e.Response, e.DefinedError)
}

// Is makes errors.Is(err, ErrSessionRefused) true.
func (e *SessionError) Is(target error) bool { return target == ErrSessionRefused }

// sessionMessage marks messages encoded in SessionNamespace.
type sessionMessage interface{ sessionNamespace() }

// negResponse is implemented by the session NegResponses.
type negResponse interface{ sessionError() *SessionError }
