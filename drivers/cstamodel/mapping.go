// Package cstamodel translates ECMA-269 CSTA, as drivers/csta decodes it,
// into the one CTI model of the plugins package: connection states,
// causes, forwarding types, errors, and the call events of a monitored
// device with the calls it keeps ([Translator]). The CSTA drivers
// (drivers/mitel, drivers/avaya) share it; what their PBX adds (device ID
// formats, private events, timestamps) they hand in, or handle before.
package cstamodel

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// states maps ECMA-269 localConnectionInfo to the model's states
// (cti-protocols.md §1).
var states = map[csta.ConnectionState]plugins.ConnectionState{
	csta.StateNull:      plugins.StateNull,
	csta.StateInitiated: plugins.StateInitiated,
	csta.StateAlerting:  plugins.StateAlerting,
	csta.StateConnected: plugins.StateConnected,
	csta.StateHold:      plugins.StateHold,
	csta.StateQueued:    plugins.StateQueued,
	csta.StateFail:      plugins.StateFail,
}

// State maps a CSTA connection state; an unknown one is unspecified.
func State(s csta.ConnectionState) plugins.ConnectionState { return states[s] }

// causes maps ECMA-269 event causes to the model's; the PBX's own text is
// kept in Event.RawCause.
var causes = map[csta.Cause]plugins.Cause{
	csta.CauseNewCall:               plugins.CauseNewCall,
	csta.CauseNormalClearing:        plugins.CauseNormalClearing,
	csta.CauseBusy:                  plugins.CauseBusy,
	csta.CauseCallNotAnswered:       plugins.CauseNoAnswer,
	csta.CauseDestNotObtainable:     plugins.CauseDestinationNotObtainable,
	csta.CauseConsultation:          plugins.CauseConsultation,
	csta.CauseTransfer:              plugins.CauseTransfer,
	csta.CauseSingleStepTransfer:    plugins.CauseSingleStepTransfer,
	csta.CauseConference:            plugins.CauseConference,
	csta.CauseRedirected:            plugins.CauseRedirected,
	csta.CauseCallForwardImmediate:  plugins.CauseCallForwardImmediate,
	csta.CauseCallForwardBusy:       plugins.CauseCallForwardBusy,
	csta.CauseCallForwardNoAnswer:   plugins.CauseCallForwardNoAnswer,
	csta.CauseCallForward:           plugins.CauseCallForwardImmediate,
	csta.CauseCallPickup:            plugins.CauseCallPickup,
	csta.CauseMakeCall:              plugins.CauseMakeCall,
	csta.CauseCallCancelled:         plugins.CauseCallCancelled,
	csta.CauseDoNotDisturb:          plugins.CauseDoNotDisturb,
	csta.CauseNetworkCongestion:     plugins.CauseNetworkCongestion,
	csta.CauseResourcesNotAvailable: plugins.CauseResourcesNotAvailable,
	csta.CauseParkedCall:            plugins.CausePark,
}

// Cause maps a CSTA event cause; an unknown one is unspecified.
func Cause(c csta.Cause) plugins.Cause { return causes[c] }

// forwardTypes maps ECMA-269 forwardingType values to the model's.
var forwardTypes = map[string]plugins.ForwardingType{
	csta.ForwardImmediate: plugins.ForwardImmediate,
	csta.ForwardBusy:      plugins.ForwardBusy,
	csta.ForwardNoAns:     plugins.ForwardNoAnswer,
}

// ForwardType maps an ECMA-269 forwardingType; an unknown one is
// unspecified.
func ForwardType(s string) plugins.ForwardingType { return forwardTypes[s] }

// ForwardName is the ECMA-269 forwardingType of t, "" for none.
func ForwardName(t plugins.ForwardingType) string {
	for k, v := range forwardTypes {
		if v == t {
			return k
		}
	}
	return ""
}

// CauseText returns a call event's cause as the PBX wrote it.
func CauseText(m csta.Message) string {
	switch e := m.(type) {
	case *csta.ServiceInitiatedEvent:
		return e.Cause
	case *csta.OriginatedEvent:
		return e.Cause
	case *csta.DeliveredEvent:
		return e.Cause
	case *csta.EstablishedEvent:
		return e.Cause
	case *csta.HeldEvent:
		return e.Cause
	case *csta.RetrievedEvent:
		return e.Cause
	case *csta.ConnectionClearedEvent:
		return e.Cause
	case *csta.TransferedEvent:
		return e.Cause
	case *csta.ConferencedEvent:
		return e.Cause
	case *csta.DivertedEvent:
		return e.Cause
	case *csta.FailedEvent:
		return e.Cause
	case *csta.QueuedEvent:
		return e.Cause
	case *csta.CallClearedEvent:
		return e.Cause
	case *csta.NetworkReachedEvent:
		return e.Cause
	case *csta.DigitsDialedEvent:
		return e.Cause
	case *csta.OfferedEvent:
		return e.Cause
	}
	return ""
}

// ConnID is the model's connection ID of device in call: "call@device",
// "" without a call.
func ConnID(call, device string) string {
	if call == "" {
		return ""
	}
	return call + "@" + device
}

// SortSnapshot orders a snapshot's calls by ID and its forwardings by
// type, so snapshots compare.
func SortSnapshot(s *plugins.DeviceSnapshot) {
	slices.SortFunc(s.Calls, func(a, b plugins.CallSnapshot) int { return strings.Compare(a.CallID, b.CallID) })
	slices.SortFunc(s.Forwarding, func(a, b plugins.Forwarding) int { return int(a.Type - b.Type) })
}

// MonitorOf returns an event's monitorCrossRefID: a decoded call event's,
// or one read from a message drivers/csta keeps raw.
func MonitorOf(m csta.Message) string {
	switch e := m.(type) {
	case csta.Event:
		return e.Monitor()
	case *csta.MessageWaitingEvent:
		return strings.TrimSpace(e.MonitorCrossRefID)
	case *csta.RawMessage:
		var v struct {
			X string `xml:"monitorCrossRefID"`
		}
		_ = e.Unmarshal(&v)
		return strings.TrimSpace(v.X)
	}
	return ""
}

// MapError turns a CSTA error into the plugins error the host
// understands, keeping the CSTA detail. monitorLimit is the driver's own
// error for a PBX out of monitor licences (overallMonitorLimitExceeded),
// wrapped in as well.
func MapError(err, monitorLimit error) error {
	var ce *csta.CSTAErrorCode
	switch {
	case errors.As(err, &ce):
		switch {
		case ce.Value == "overallMonitorLimitExceeded":
			return fmt.Errorf("%w: %w: %w", monitorLimit, plugins.ErrFailedPrecondition, err)
		case ce.Category == csta.CategoryStateIncompatibility:
			return fmt.Errorf("%w: %w", plugins.ErrFailedPrecondition, err)
		case ce.Value == "invalidDeviceID" || ce.Value == "invalidConnectionID" ||
			ce.Value == "invalidCallID" || ce.Value == "invalidCrossRefID":
			return fmt.Errorf("%w: %w", plugins.ErrNotFound, err)
		case ce.Category == csta.CategorySystemResourceAvailability ||
			ce.Category == csta.CategorySubscribedResourceAvailability:
			return fmt.Errorf("%w: %w", plugins.ErrFailedPrecondition, err)
		}
		return fmt.Errorf("%w: %w", plugins.ErrInvalidArgument, err)
	case errors.Is(err, csta.ErrClosed):
		return fmt.Errorf("%w: %w", plugins.ErrUnavailable, err)
	}
	return err
}
