package csta

import "strings"

// ConnectionState is the CTI model's state of one device's connection to a
// call, from ECMA-269 localConnectionInfo (cti-protocols.md §1). The zero
// value is StateUnknown.
type ConnectionState uint8

// Connection states. The comments give the ECMA-269 meaning.
const (
	// StateUnknown: absent, or a value this package does not know.
	StateUnknown ConnectionState = iota
	// StateNull: no connection (cleared, or diverted away).
	StateNull
	// StateInitiated: off-hook or being prompted, no number yet.
	StateInitiated
	// StateAlerting: ringing at the device.
	StateAlerting
	// StateConnected: in the call (also the caller while the far end rings).
	StateConnected
	// StateHold: held by this device.
	StateHold
	// StateQueued: waiting in a queue or park.
	StateQueued
	// StateFail: the call failed (busy, unobtainable...).
	StateFail
)

var stateNames = [...]string{
	StateUnknown:   "unknown",
	StateNull:      "null",
	StateInitiated: "initiated",
	StateAlerting:  "alerting",
	StateConnected: "connected",
	StateHold:      "hold",
	StateQueued:    "queued",
	StateFail:      "fail",
}

var statesByName = func() map[string]ConnectionState {
	m := make(map[string]ConnectionState, len(stateNames))
	for i, n := range stateNames[1:] {
		m[n] = ConnectionState(i + 1)
	}
	return m
}()

// ParseConnectionState maps a localConnectionInfo value ("alerting") to a
// ConnectionState, StateUnknown for anything else. Matching is exact: the
// values are case-sensitive XML enumerations (surrounding space is ignored).
func ParseConnectionState(s string) ConnectionState {
	return statesByName[strings.TrimSpace(s)]
}

// String returns the wire name ("alerting"), or "unknown".
func (s ConnectionState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Cause is an ECMA-269 event cause. The zero value is CauseUnknown.
type Cause uint8

// Event causes seen from the switches in scope (cti-protocols.md §2.4),
// plus a few ECMA-269 ones marked ~ that other switches send.
const (
	CauseUnknown Cause = iota
	CauseNewCall
	CauseNormalClearing
	CauseBusy
	CauseCallNotAnswered
	CauseDestNotObtainable
	CauseConsultation
	CauseTransfer
	CauseSingleStepTransfer
	CauseConference
	CauseRedirected
	CauseCallForwardImmediate
	CauseCallForwardBusy
	CauseCallForwardNoAnswer
	CauseCallPickup
	CauseMakeCall
	CauseCallCancelled         // ~
	CauseDoNotDisturb          // ~
	CauseKeyOperation          // ~
	CauseReorderTone           // ~
	CauseNetworkCongestion     // ~
	CauseResourcesNotAvailable // ~
	CauseCallForward           // ~
	CauseParkedCall            // ~
)

var causeNames = [...]string{
	CauseUnknown:               "unknown",
	CauseNewCall:               "newCall",
	CauseNormalClearing:        "normalClearing",
	CauseBusy:                  "busy",
	CauseCallNotAnswered:       "callNotAnswered",
	CauseDestNotObtainable:     "destNotObtainable",
	CauseConsultation:          "consultation",
	CauseTransfer:              "transfer",
	CauseSingleStepTransfer:    "singleStepTransfer",
	CauseConference:            "conference",
	CauseRedirected:            "redirected",
	CauseCallForwardImmediate:  "callForwardImmediate",
	CauseCallForwardBusy:       "callForwardBusy",
	CauseCallForwardNoAnswer:   "callForwardNoAnswer",
	CauseCallPickup:            "callPickup",
	CauseMakeCall:              "makeCall",
	CauseCallCancelled:         "callCancelled",
	CauseDoNotDisturb:          "doNotDisturb",
	CauseKeyOperation:          "keyOperation",
	CauseReorderTone:           "reorderTone",
	CauseNetworkCongestion:     "networkCongestion",
	CauseResourcesNotAvailable: "resourcesNotAvailable",
	CauseCallForward:           "callForward",
	CauseParkedCall:            "parkedCall",
}

var causesByName = func() map[string]Cause {
	m := make(map[string]Cause, len(causeNames))
	for i, n := range causeNames[1:] {
		m[n] = Cause(i + 1)
	}
	return m
}()

// ParseCause maps a cause value ("normalClearing") to a Cause, CauseUnknown
// for anything else.
func ParseCause(s string) Cause { return causesByName[strings.TrimSpace(s)] }

// String returns the wire name ("normalClearing"), or "unknown".
func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "unknown"
}
