package plugins

import (
	"fmt"
	"strings"
)

// The enums below use the numbers of driver.proto, so the shim converts them
// with a plain conversion; enums_test.go checks that names and numbers agree.
// Their text form is the proto name in lower case without the prefix
// ("link_down", "make_call"), which is what the northbound JSON shows.

// Service is a call-control service a driver may support (CSTA services).
// Monitoring and snapshots are not services: every driver has them.
type Service int32

// The call-control services.
const (
	ServiceUnspecified Service = iota
	ServiceMakeCall
	ServiceAnswer
	ServiceClear
	ServiceHold
	ServiceRetrieve
	ServiceConsultation
	ServiceTransfer
	ServiceSingleStepTransfer
	ServiceConference
	ServiceDeflect
	ServiceGenerateDigits
	ServicePark
	ServicePickup
	ServiceSetDND
	ServiceSetForwarding
	ServiceSetAgentState
	// ServiceReconnect: CSTA ReconnectCall (cancel a consultation).
	ServiceReconnect
	// ServiceAlternate: CSTA AlternateCall (swap held and active).
	ServiceAlternate
	// ServiceListDevices: the driver serves its device directory.
	ServiceListDevices
	// ServiceMessageWaiting: the driver reports message-waiting state.
	ServiceMessageWaiting
	// ServiceQueueMonitor: the driver monitors ACD, hunt and operator
	// group devices with queue length and positions.
	ServiceQueueMonitor
	// ServiceGroupPickup: CSTA GroupPickupCall with a pickup group.
	ServiceGroupPickup
	// ServiceCampOn: CSTA CampOnCall on a busy device.
	ServiceCampOn
	// ServiceCallBack: CSTA CallBackCallRelated on a busy device.
	ServiceCallBack
	// ServiceIntrude: CSTA IntrudeCall into a busy device's call.
	ServiceIntrude
	// ServiceAccountCode: the driver passes account codes of MakeCall
	// and Consultation to the PBX.
	ServiceAccountCode
)

var serviceNames = []string{"unspecified", "make_call", "answer", "clear", "hold", "retrieve",
	"consultation", "transfer", "single_step_transfer", "conference", "deflect",
	"generate_digits", "park", "pickup", "set_dnd", "set_forwarding", "set_agent_state",
	"reconnect", "alternate", "list_devices", "message_waiting", "queue_monitor", "group_pickup",
	"camp_on", "call_back", "intrude", "account_code"}

// AllServices lists every call-control service, in protocol order.
func AllServices() []Service {
	out := make([]Service, 0, len(serviceNames)-1)
	for i := 1; i < len(serviceNames); i++ {
		out = append(out, Service(i))
	}
	return out
}

func (s Service) String() string { return enumName(serviceNames, int32(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s Service) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Service) UnmarshalText(b []byte) error { return enumParse(serviceNames, b, (*int32)(s)) }

// EventType is a CSTA event type, plus the link events and the host's
// snapshot event.
type EventType int32

// The event types.
const (
	EventUnspecified EventType = iota
	EventOriginated
	EventDelivered
	EventEstablished
	EventHeld
	EventRetrieved
	EventConnectionCleared
	EventTransferred
	EventConferenced
	EventDiverted
	EventFailed
	EventServiceInitiated
	EventQueued
	EventNetworkReached
	EventCallCleared
	EventDigitsDialed
	EventParked
	EventDoNotDisturb
	EventForwarding
	EventAgentState
	EventMonitorEnded
	// EventLinkUp: from a driver, its PBX link is up; from the host, the
	// driver process is (again) running and its monitors are restored.
	EventLinkUp
	// EventLinkDown: from a driver, its PBX link is down; from the host
	// (cause CauseDriverFailure), the driver process died or hung.
	EventLinkDown
	// EventSnapshot is made by the host after each (re)start, one per
	// monitored device, with Event.Snapshot set; and after a resync (a
	// gap in the driver's sequence numbers, the driver's own LINK_UP, an
	// EventResync, a monitor that started on a retry).
	EventSnapshot
	// EventResync is a driver's: its view of Device (every device when
	// empty) was refreshed after events were lost (CSTA SystemStatus
	// messagesLost, or a queue of its own overflowed). The host answers
	// with fresh EventSnapshots and does not pass it on.
	EventResync
	// EventMessageWaiting: the device's message-waiting indicator
	// changed; Event.MessageWaiting is its new state.
	EventMessageWaiting
)

var eventNames = []string{"unspecified", "originated", "delivered", "established", "held",
	"retrieved", "connection_cleared", "transferred", "conferenced", "diverted", "failed",
	"service_initiated", "queued", "network_reached", "call_cleared", "digits_dialed",
	"parked", "do_not_disturb", "forwarding", "agent_state", "monitor_ended",
	"link_up", "link_down", "snapshot", "resync", "message_waiting"}

func (t EventType) String() string { return enumName(eventNames, int32(t)) }

// MarshalText implements encoding.TextMarshaler.
func (t EventType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *EventType) UnmarshalText(b []byte) error { return enumParse(eventNames, b, (*int32)(t)) }

// ConnectionState is a CSTA local connection state (ECMA-269 §6.1.5).
type ConnectionState int32

// The connection states.
const (
	StateUnspecified ConnectionState = iota
	StateNull
	StateInitiated
	StateAlerting
	StateConnected
	StateHold
	StateQueued
	StateFail
)

var stateNames = []string{"unspecified", "null", "initiated", "alerting", "connected", "hold", "queued", "fail"}

func (s ConnectionState) String() string { return enumName(stateNames, int32(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s ConnectionState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ConnectionState) UnmarshalText(b []byte) error {
	return enumParse(stateNames, b, (*int32)(s))
}

// Cause is a CSTA event cause (ECMA-269 §12.2.8, a subset); Event.RawCause
// keeps the PBX's own text.
type Cause int32

// The causes.
const (
	CauseUnspecified Cause = iota
	CauseNormalClearing
	CauseNewCall
	CauseMakeCall
	CauseBusy
	CauseNoAnswer
	CauseCallCancelled
	CauseDestinationNotObtainable
	CauseDoNotDisturb
	CauseCallForwardImmediate
	CauseCallForwardBusy
	CauseCallForwardNoAnswer
	CauseRedirected
	CauseTransfer
	CauseSingleStepTransfer
	CauseConsultation
	CauseConference
	CausePark
	CauseCallPickup
	CauseRecall
	CauseNetworkCongestion
	CauseResourcesNotAvailable
	CauseInvalidNumberFormat
	CauseBlocked
	// CauseLinkFailure: the driver lost or regained its PBX link.
	CauseLinkFailure
	// CauseDriverFailure: the host lost the driver process.
	CauseDriverFailure
)

var causeNames = []string{"unspecified", "normal_clearing", "new_call", "make_call", "busy",
	"no_answer", "call_cancelled", "destination_not_obtainable", "do_not_disturb",
	"call_forward_immediate", "call_forward_busy", "call_forward_no_answer", "redirected",
	"transfer", "single_step_transfer", "consultation", "conference", "park", "call_pickup",
	"recall", "network_congestion", "resources_not_available", "invalid_number_format",
	"blocked", "link_failure", "driver_failure"}

func (c Cause) String() string { return enumName(causeNames, int32(c)) }

// MarshalText implements encoding.TextMarshaler.
func (c Cause) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Cause) UnmarshalText(b []byte) error { return enumParse(causeNames, b, (*int32)(c)) }

// ForwardingType is a kind of call forwarding.
type ForwardingType int32

// The forwarding types.
const (
	ForwardUnspecified ForwardingType = iota
	ForwardImmediate
	ForwardBusy
	ForwardNoAnswer
)

var forwardNames = []string{"unspecified", "immediate", "busy", "no_answer"}

func (f ForwardingType) String() string { return enumName(forwardNames, int32(f)) }

// MarshalText implements encoding.TextMarshaler.
func (f ForwardingType) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *ForwardingType) UnmarshalText(b []byte) error {
	return enumParse(forwardNames, b, (*int32)(f))
}

// PartyType says where a call's other party is.
type PartyType int32

// The party types.
const (
	PartyUnspecified PartyType = iota
	// PartyInternal: a device of the same PBX (Xsi callType Group or
	// Enterprise).
	PartyInternal
	// PartyExternal: a public-network number (Xsi callType Network, CSTA
	// networkCallingDevice).
	PartyExternal
	// PartyTrunk: a trunk or line device (CSTA device category trunk).
	PartyTrunk
)

var partyNames = []string{"unspecified", "internal", "external", "trunk"}

func (p PartyType) String() string { return enumName(partyNames, int32(p)) }

// MarshalText implements encoding.TextMarshaler.
func (p PartyType) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *PartyType) UnmarshalText(b []byte) error { return enumParse(partyNames, b, (*int32)(p)) }

// DeviceCategory is what kind of device a device is (CSTA device
// category): a station, or a group calls wait in.
type DeviceCategory int32

// The device categories.
const (
	CategoryUnspecified DeviceCategory = iota
	// CategoryStation: a telephone.
	CategoryStation
	// CategoryACD: an ACD split/skill or call center queue.
	CategoryACD
	// CategoryGroup: a hunt or operator group.
	CategoryGroup
)

var categoryNames = []string{"unspecified", "station", "acd", "group"}

func (c DeviceCategory) String() string { return enumName(categoryNames, int32(c)) }

// IsQueue reports whether calls wait at devices of category c (ACD and
// hunt/operator groups).
func (c DeviceCategory) IsQueue() bool { return c == CategoryACD || c == CategoryGroup }

// MarshalText implements encoding.TextMarshaler.
func (c DeviceCategory) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *DeviceCategory) UnmarshalText(b []byte) error {
	return enumParse(categoryNames, b, (*int32)(c))
}

// AgentState is an ACD agent state.
type AgentState int32

// The agent states.
const (
	AgentUnspecified AgentState = iota
	AgentLoggedOff
	AgentLoggedOn
	AgentReady
	AgentNotReady
	AgentWorkingAfterCall
	AgentBusy
)

var agentNames = []string{"unspecified", "logged_off", "logged_on", "ready", "not_ready", "working_after_call", "busy"}

func (a AgentState) String() string { return enumName(agentNames, int32(a)) }

// MarshalText implements encoding.TextMarshaler.
func (a AgentState) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *AgentState) UnmarshalText(b []byte) error { return enumParse(agentNames, b, (*int32)(a)) }

func enumName(names []string, v int32) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("unknown(%d)", v)
}

func enumParse(names []string, b []byte, v *int32) error {
	s := strings.ToLower(string(b))
	for i, n := range names {
		if n == s {
			*v = int32(i)
			return nil
		}
	}
	return fmt.Errorf("unknown value %q", s)
}
