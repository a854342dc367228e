// Package xsiwire is the Cisco BroadWorks Xsi simulator's own wire
// encoding, transcribed from the public Xsi schemas (the BroadWorks
// Xsi-Actions and Xsi-Events XSDs, as published in
// github.com/spr-plusnet/libxsi under xsd/: XSIChannel.xsd,
// XSISubscription.xsd, XSIBaseEvent.xsd, XSIDataTypes.xsd,
// CallSession/XSICallSession.xsd, CallSession/Events/XSICallSessionEvents.xsd,
// Services/XSIDoNotDisturb.xsd, Services/XSICallForwarding*.xsd,
// Services/XSICallCenter.xsd, Agent/XSIAgent.xsd) and not from
// drivers/cisco/xsi. Every structure lists its elements in the schema's
// sequence order; [Unmarshal] refuses a document whose root, namespace,
// elements, order or enumerated values the schema does not allow.
package xsiwire

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"regexp"

	"github.com/switchboard-gw/switchboard/lab/ctisim/xmlcheck"
)

// Namespace is the Xsi schema namespace; XSINamespace is XML Schema
// instance (xsi1:type on events).
const (
	Namespace    = "http://schema.broadsoft.com/xsi"
	XSINamespace = "http://www.w3.org/2001/XMLSchema-instance"
)

// URL roots of the Xsi interfaces (Xsi-Actions and Xsi-Events interface
// specifications).
const (
	ActionsRoot     = "/com.broadsoft.xsi-actions/v2.0"
	EventsRoot      = "/com.broadsoft.xsi-events/v2.0"
	AsyncEventsRoot = "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0"
)

// CallState (XSICallSession.xsd).
const (
	StateAlerting   = "Alerting"
	StateActive     = "Active"
	StateHeld       = "Held"
	StateRemoteHeld = "Remote Held"
	StateDetached   = "Detached"
	StateReleased   = "Released"
)

// Personality (XSIDataTypes.xsd).
const (
	PersonalityOriginator  = "Originator"
	PersonalityTerminator  = "Terminator"
	PersonalityClickToDial = "Click-to-Dial"
)

// Event and event data types (xsi1:type values; XSIBaseEvent.xsd,
// XSIChannel.xsd, XSISubscription.xsd, XSICallSessionEvents.xsd,
// XSIDoNotDisturbEvents.xsd, XSICallForwardingEvents.xsd,
// XSIAgentEvents.xsd).
const (
	TypeSubscriptionEvent           = "SubscriptionEvent"
	TypeChannelTerminatedEvent      = "ChannelTerminatedEvent"
	TypeSubscriptionTerminatedEvent = "SubscriptionTerminatedEvent"
	TypeCallSubscriptionEvent       = "CallSubscriptionEvent"
	TypeCallOriginatingEvent        = "CallOriginatingEvent"
	TypeCallOriginatedEvent         = "CallOriginatedEvent"
	TypeCallReceivedEvent           = "CallReceivedEvent"
	TypeCallAnsweredEvent           = "CallAnsweredEvent"
	TypeCallHeldEvent               = "CallHeldEvent"
	TypeCallRetrievedEvent          = "CallRetrievedEvent"
	TypeCallReleasingEvent          = "CallReleasingEvent"
	TypeCallReleasedEvent           = "CallReleasedEvent"
	TypeCallTransferredEvent        = "CallTransferredEvent"
	TypeCallForwardedEvent          = "CallForwardedEvent"
	TypeCallRedirectedEvent         = "CallRedirectedEvent"
	TypeCallDetachedEvent           = "CallDetachedEvent"
	TypeCallUpdatedEvent            = "CallUpdatedEvent"
	TypeCallPickedUpEvent           = "CallPickedUpEvent"
	TypeCallParkRetrievedEvent      = "CallParkRetrievedEvent"
	TypeConferenceStartedEvent      = "ConferenceStartedEvent"
	TypeConferenceUpdatedEvent      = "ConferenceUpdatedEvent"
	TypeConferenceReleasedEvent     = "ConferenceReleasedEvent"
	TypeHookStatusEvent             = "HookStatusEvent"
	TypeDoNotDisturbEvent           = "DoNotDisturbEvent"
	// TypeVoiceMailMessageSummaryEvent (XSICallSessionEvents.xsd): the
	// user's voice mail message summary changed.
	TypeVoiceMailMessageSummaryEvent = "VoiceMailMessageSummaryEvent"
	TypeCallForwardingAlwaysEvent    = "CallForwardingAlwaysEvent"
	TypeCallForwardingBusyEvent      = "CallForwardingBusyEvent"
	TypeCallForwardingNoAnswerEvent  = "CallForwardingNoAnswerEvent"
	TypeAgentStateEvent              = "AgentStateEvent"
)

// Event packages (XSISubscription.xsd EventPackage).
const (
	PackageBasicCall             = "Basic Call"
	PackageStandardCall          = "Standard Call"
	PackageAdvancedCall          = "Advanced Call"
	PackageCallCenterAgent       = "Call Center Agent"
	PackageDoNotDisturb          = "Do Not Disturb"
	PackageVoiceMailSummary      = "Voice Mail Message Summary"
	PackageCallForwardingAlways  = "Call Forwarding Always"
	PackageCallForwardingBusy    = "Call Forwarding Busy"
	PackageCallForwardingNoAnswr = "Call Forwarding No Answer"
)

// EventPackages is XSISubscription.xsd's EventPackage enumeration.
var EventPackages = []string{"Advanced Call", "Basic Call", "BroadWorks Anywhere", "Call Center Agent",
	"Call Center Agent Monitoring", "Call Center Configuration", "Call Center Monitoring", "Call Center Queue",
	"Call Forwarding Always", "Call Forwarding Always Secondary", "Call Forwarding Busy",
	"Call Forwarding No Answer", "Call Park", "Call Recording", "Call Transfer", "Call Waiting",
	"Collaborate Room", "CommPilot Express", "Do Not Disturb", "Flexible Seating Guest", "Hoteling Guest",
	"Last Number Redial", "Meet Me Conference", "Music On Hold", "N-Way Call", "Personal Assistant",
	"Push Notification Registration", "Remote Office", "Route Point Queue", "Security Classification",
	"Sequential Ring", "Silent Alerting", "Simultaneous Ring Personal", "Standard Call",
	"Third-Party Voice Mail Support", "Three-Way Call", "Voice Mail Message Summary", "Voice Messaging"}

// Services (Xsi-Actions user/<id>/services/<name>).
const (
	ServiceDoNotDisturb           = "DoNotDisturb"
	ServiceCallForwardingAlways   = "CallForwardingAlways"
	ServiceCallForwardingBusy     = "CallForwardingBusy"
	ServiceCallForwardingNoAnswer = "CallForwardingNoAnswer"
	ServiceCallCenter             = "CallCenter"
)

// AgentState (XSIAgent.xsd).
const (
	ACDSignIn      = "Sign-In"
	ACDAvailable   = "Available"
	ACDUnavailable = "Unavailable"
	ACDWrapUp      = "Wrap-Up"
	ACDSignOut     = "Sign-Out"
)

// Channel (XSIChannel.xsd).
type Channel struct {
	XMLName       xml.Name `xml:"http://schema.broadsoft.com/xsi Channel"`
	ChannelID     string   `xml:"channelId,omitempty"`
	ChannelSetID  string   `xml:"channelSetId,omitempty"`
	Priority      int      `xml:"priority,omitempty"`
	Weight        int      `xml:"weight,omitempty"`
	Expires       int      `xml:"expires,omitempty"`
	ApplicationID string   `xml:"applicationId,omitempty"`
}

// ChannelHeartBeat (XSIChannel.xsd), an empty element.
type ChannelHeartBeat struct {
	XMLName xml.Name `xml:"http://schema.broadsoft.com/xsi ChannelHeartBeat"`
}

// Subscription (XSISubscription.xsd).
type Subscription struct {
	XMLName              xml.Name `xml:"http://schema.broadsoft.com/xsi Subscription"`
	SubscriptionID       string   `xml:"subscriptionId,omitempty"`
	SharedSubscriptionID string   `xml:"sharedSubscriptionId,omitempty"`
	SubscriberID         string   `xml:"subscriberId,omitempty"`
	ClientID             string   `xml:"clientId,omitempty"`
	TargetIDType         string   `xml:"targetIdType,omitempty" enum:"User Group Enterprise ServiceProvider System"`
	TargetGrpParentID    string   `xml:"targetGrpParentId,omitempty"`
	TargetID             string   `xml:"targetId,omitempty"`
	TargetSubID          string   `xml:"targetSubId,omitempty"`
	Event                string   `xml:"event,omitempty"`
	EventPackageList     *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"eventPackageList,omitempty"`
	Expires       int    `xml:"expires,omitempty"`
	HTTPContact   string `xml:"httpContact,omitempty"`
	ChannelSetID  string `xml:"channelSetId,omitempty"`
	ApplicationID string `xml:"applicationId,omitempty"`
}

// EventResponse (XSIBaseEvent.xsd): statusCode is one of 200, 400, 404,
// 481, 500.
type EventResponse struct {
	XMLName    xml.Name `xml:"http://schema.broadsoft.com/xsi EventResponse"`
	EventID    string   `xml:"eventID"`
	StatusCode string   `xml:"statusCode" enum:"200 400 404 481 500"`
	Reason     string   `xml:"reason"`
}

// ErrorInfo (XSIDataTypes.xsd).
type ErrorInfo struct {
	XMLName        xml.Name `xml:"http://schema.broadsoft.com/xsi ErrorInfo"`
	Summary        string   `xml:"summary,omitempty"`
	SummaryEnglish string   `xml:"summaryEnglish"`
	ErrorCode      int      `xml:"errorCode"`
}

// CallStartInfo (XSIDataTypes.xsd).
type CallStartInfo struct {
	XMLName            xml.Name `xml:"http://schema.broadsoft.com/xsi CallStartInfo"`
	CallID             string   `xml:"callId"`
	ExternalTrackingID string   `xml:"externalTrackingId"`
}

// Calls is the answer to GET user/<id>/calls (XSICallSession.xsd Calls:
// a list of call with callId, extTrackingId).
type Calls struct {
	XMLName xml.Name   `xml:"http://schema.broadsoft.com/xsi Calls"`
	Calls   []CallItem `xml:"call"`
}

// CallItem is one call of Calls.
type CallItem struct {
	CallID        string `xml:"callId"`
	ExtTrackingID string `xml:"extTrackingId"`
}

// ReleaseCause (XSIDataTypes.xsd).
type ReleaseCause struct {
	InternalReleaseCause string `xml:"internalReleaseCause" enum:"Busy|Forbidden|Routing Failure|Global Failure|Request Failure|Server Failure|Translation Failure|Temporarily Unavailable|User Not Found|Request Timeout|Dial Tone Timeout|Insufficient Credits"`
	Q850Cause            string `xml:"q850Cause,omitempty"`
	SIPStatus            string `xml:"sipStatus,omitempty"`
	CDRTerminationCause  string `xml:"cdrTerminationCause,omitempty"`
}

// Party is PartyInformation (XSIDataTypes.xsd).
type Party struct {
	Name     string `xml:"name,omitempty"`
	Address  string `xml:"address,omitempty"`
	UserID   string `xml:"userId,omitempty"`
	UserDN   string `xml:"userDN,omitempty"`
	CallType string `xml:"callType,omitempty" enum:"Group|Enterprise|Network|Emergency|Repair|City-Wide Centrex|Private Dial Plan|Unknown|Error"`
}

// RedirectionList (XSIDataTypes.xsd): the redirections of a received
// call, the most recent first.
type RedirectionList struct {
	Items []Redirection `xml:"redirection"`
}

// Redirection (XSIDataTypes.xsd): the redirecting party, why, how many
// times.
type Redirection struct {
	Party   *Party `xml:"party,omitempty"`
	Reason  string `xml:"reason,omitempty" enum:"user-busy|no-answer|unavailable|unconditional|time-of-day|do-not-disturb|deflection|follow-me|out-of-service|away|transfer|voicemail|hunt-group|call-center|route-point|agent-wrap-up|voicexml-script-termination|unknown"`
	Counter int    `xml:"counter,omitempty"`
}

// Redirect (XSIDataTypes.xsd): reason and redirectTime are required.
type Redirect struct {
	Address      string `xml:"address,omitempty"`
	Reason       string `xml:"reason" enum:"user-busy|no-answer|unavailable|unconditional|time-of-day|do-not-disturb|deflection|follow-me|out-of-service|away|transfer|voicemail|hunt-group|call-center|route-point|agent-wrap-up|voicexml-script-termination|unknown"`
	RedirectTime int64  `xml:"redirectTime"`
}

// Call (XSICallSession.xsd), the elements the simulator writes.
type Call struct {
	CallID         string           `xml:"callId"`
	ExtTrackingID  string           `xml:"extTrackingId"`
	NetworkCallID  string           `xml:"networkCallId,omitempty"`
	Personality    string           `xml:"personality" enum:"Originator|Terminator|Click-to-Dial"`
	State          string           `xml:"state" enum:"Alerting|Active|Held|Remote Held|Detached|Released|Idle"`
	ReleaseCause   *ReleaseCause    `xml:"releaseCause,omitempty"`
	ReleasingParty string           `xml:"releasingParty,omitempty" enum:"localRelease|remoteRelease"`
	RemoteParty    Party            `xml:"remoteParty"`
	Redirections   *RedirectionList `xml:"redirections,omitempty"`
	Redirect       *Redirect        `xml:"redirect,omitempty"`
	StartTime      int64            `xml:"startTime"`
	AnswerTime     int64            `xml:"answerTime,omitempty"`
	HeldTime       int64            `xml:"heldTime,omitempty"`
	ReleaseTime    int64            `xml:"releaseTime,omitempty"`
}

// CallDoc is a Call as the root of GET user/<id>/calls/<callId>.
type CallDoc struct {
	XMLName xml.Name `xml:"http://schema.broadsoft.com/xsi Call"`
	Call
}

// Participant is ConferenceParticipant (XSICallSession.xsd).
type Participant struct {
	CallID string `xml:"callId"`
}

// ConferenceInfo is Conference's content (XSICallSession.xsd).
type ConferenceInfo struct {
	State        string        `xml:"state,omitempty" enum:"Active|Held|Released"`
	Participants []Participant `xml:"conferenceParticipantList>conferenceParticipant"`
}

// Conference is the body of POST user/<id>/calls/Conference.
type Conference struct {
	XMLName xml.Name `xml:"http://schema.broadsoft.com/xsi Conference"`
	ConferenceInfo
}

// DoNotDisturb (XSIDoNotDisturb.xsd: active from ActivatableServiceInfo,
// ringSplash).
type DoNotDisturb struct {
	XMLName    xml.Name `xml:"http://schema.broadsoft.com/xsi DoNotDisturb"`
	Active     bool     `xml:"active"`
	RingSplash *bool    `xml:"ringSplash,omitempty"`
}

// Forwarding is CallForwardingAlways, CallForwardingBusy or
// CallForwardingNoAnswer (XSICallForwarding*.xsd: active,
// forwardToPhoneNumber, then ringSplash or numberOfRings). XMLName says
// which.
type Forwarding struct {
	XMLName              xml.Name
	Active               bool   `xml:"active"`
	ForwardToPhoneNumber string `xml:"forwardToPhoneNumber,omitempty"`
	NumberOfRings        int    `xml:"numberOfRings,omitempty"`
	RingSplash           *bool  `xml:"ringSplash,omitempty"`
}

// CallCenter (XSICallCenter.xsd), the agent's ACD state part.
type CallCenter struct {
	XMLName              xml.Name `xml:"http://schema.broadsoft.com/xsi CallCenter"`
	AgentACDState        string   `xml:"agentACDState,omitempty"`
	AgentUnavailableCode string   `xml:"agentUnavailableCode,omitempty"`
}

// AgentStateInfo is AgentStateInformation (XSIAgent.xsd): state and
// stateTimestamp are required.
type AgentStateInfo struct {
	State           string `xml:"state" enum:"Sign-In|Available|Unavailable|Wrap-Up|Sign-Out"`
	StateTimestamp  Stamp  `xml:"stateTimestamp"`
	UnavailableCode string `xml:"unavailableCode,omitempty"`
}

// Stamp is TimestampWithSeverity (XSIDataTypes.xsd): value, a timestamp
// in ms since the epoch.
type Stamp struct {
	Value int64 `xml:"value"`
}

// ServiceInfo is the info of a service event (DoNotDisturb or a call
// forwarding service).
type ServiceInfo struct {
	Active               bool   `xml:"active"`
	ForwardToPhoneNumber string `xml:"forwardToPhoneNumber,omitempty"`
}

// EventData is a SubscriptionEvent's eventData; Type is its xsi1:type.
// Only the members its type has are set.
type EventData struct {
	Type       string
	Calls      []Call          // CallSubscriptionEvent
	Conference *ConferenceInfo // CallSubscriptionEvent, conference events
	HookStatus string          // CallSubscriptionEvent, HookStatusEvent
	Call       *Call           // call events
	Info       *ServiceInfo    // service events
	AgentState *AgentStateInfo // AgentStateEvent
	Summary    *MessageSummary // VoiceMailMessageSummaryEvent
}

// MessageSummary (XSICallSession.xsd): message counts, each present only
// when not zero.
type MessageSummary struct {
	NewMessages       int `xml:"newMessages,omitempty"`
	OldMessages       int `xml:"oldMessages,omitempty"`
	NewUrgentMessages int `xml:"newUrgentMessages,omitempty"`
	OldUrgentMessages int `xml:"oldUrgentMessages,omitempty"`
}

// Event is an xsi:Event: a SubscriptionEvent (every field but Reason) or
// a ChannelTerminatedEvent (ChannelID and Reason).
type Event struct {
	Type                  string
	EventID               string
	SequenceNumber        int64
	UserID                string
	ExternalApplicationID string
	SubscriptionID        string
	ChannelID             string
	TargetID              string
	Reason                string
	EventData             *EventData
}

// The elements of each as the schemas order them.
type subscriptionEvent struct {
	EventID               string   `xml:"eventID"`
	SequenceNumber        int64    `xml:"sequenceNumber"`
	UserID                string   `xml:"userId"`
	ExternalApplicationID string   `xml:"externalApplicationId"`
	SubscriptionID        string   `xml:"subscriptionId"`
	ChannelID             string   `xml:"channelId,omitempty"`
	TargetID              string   `xml:"targetId,omitempty"`
	EventData             rawTyped `xml:"eventData"`
}

type channelTerminatedEvent struct {
	ChannelID string `xml:"channelId"`
	Reason    string `xml:"reason"`
}

type rawTyped struct {
	Type  string `xml:"xsi1:type,attr"`
	Inner []byte `xml:",innerxml"`
}

type callSubscriptionData struct {
	Calls *struct {
		Call []Call `xml:"call"`
	} `xml:"calls,omitempty"`
	Conference *ConferenceInfo `xml:"conference,omitempty"`
	HookStatus string          `xml:"hookStatus"`
}

var tagRE = regexp.MustCompile(`<(/?)([A-Za-z_])`)

// prefixed marshals v's content (its elements unqualified) and puts every
// element in the xsi: prefix, as BroadWorks writes its events.
func prefixed(v any) ([]byte, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return tagRE.ReplaceAll(b, []byte("<${1}xsi:${2}")), nil
}

// MarshalEvent writes e the way the Xsi-Events interface sends it:
// <xsi:Event xmlns:xsi=".../xsi" xmlns:xsi1="...XMLSchema-instance"
// xsi1:type="xsi:TYPE"> with prefixed children in schema order.
func MarshalEvent(e Event) ([]byte, error) {
	var body []byte
	var err error
	switch e.Type {
	case TypeChannelTerminatedEvent:
		body, err = prefixed(struct {
			XMLName xml.Name `xml:"x"`
			channelTerminatedEvent
		}{channelTerminatedEvent: channelTerminatedEvent{ChannelID: e.ChannelID, Reason: e.Reason}})
	default:
		var data []byte
		if data, err = eventData(e.EventData); err != nil {
			return nil, err
		}
		typ := ""
		if e.EventData != nil {
			typ = e.EventData.Type
		}
		body, err = prefixed(struct {
			XMLName xml.Name `xml:"x"`
			subscriptionEvent
		}{subscriptionEvent: subscriptionEvent{EventID: e.EventID, SequenceNumber: e.SequenceNumber, UserID: e.UserID,
			ExternalApplicationID: e.ExternalApplicationID, SubscriptionID: e.SubscriptionID, ChannelID: e.ChannelID,
			TargetID: e.TargetID, EventData: rawTyped{Type: "xsi:" + typ, Inner: data}}})
	}
	if err != nil {
		return nil, err
	}
	// body is <xsi:x>...</xsi:x>: keep its content.
	body = bytes.TrimSuffix(bytes.TrimPrefix(body, []byte("<xsi:x>")), []byte("</xsi:x>"))
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintf(&buf, `<xsi:Event xmlns:xsi="%s" xmlns:xsi1="%s" xsi1:type="xsi:%s">`, Namespace, XSINamespace, e.Type)
	buf.Write(body)
	buf.WriteString(`</xsi:Event>`)
	return buf.Bytes(), nil
}

// eventData writes the content of eventData for d's type.
func eventData(d *EventData) ([]byte, error) {
	if d == nil {
		return nil, nil
	}
	wrap := func(v any) ([]byte, error) { // unprefixed: MarshalEvent prefixes the whole body
		b, err := xml.Marshal(v)
		if err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(bytes.TrimPrefix(b, []byte("<x>")), []byte("</x>")), nil
	}
	switch {
	case d.Type == TypeCallSubscriptionEvent:
		v := struct {
			XMLName xml.Name `xml:"x"`
			callSubscriptionData
		}{callSubscriptionData: callSubscriptionData{Conference: d.Conference, HookStatus: d.HookStatus}}
		if len(d.Calls) > 0 {
			v.Calls = &struct {
				Call []Call `xml:"call"`
			}{d.Calls}
		}
		return wrap(v)
	case d.Call != nil:
		return wrap(struct {
			XMLName xml.Name `xml:"x"`
			Call    *Call    `xml:"call"`
		}{Call: d.Call})
	case d.Conference != nil:
		return wrap(struct {
			XMLName    xml.Name        `xml:"x"`
			Conference *ConferenceInfo `xml:"conference"`
		}{Conference: d.Conference})
	case d.Info != nil:
		return wrap(struct {
			XMLName xml.Name     `xml:"x"`
			Info    *ServiceInfo `xml:"info"`
		}{Info: d.Info})
	case d.Summary != nil:
		return wrap(struct {
			XMLName xml.Name        `xml:"x"`
			Summary *MessageSummary `xml:"messageSummary"`
		}{Summary: d.Summary})
	case d.AgentState != nil:
		return wrap(struct {
			XMLName    xml.Name        `xml:"x"`
			AgentState *AgentStateInfo `xml:"agentStateInfo"`
		}{AgentState: d.AgentState})
	case d.HookStatus != "":
		return wrap(struct {
			XMLName    xml.Name `xml:"x"`
			HookStatus string   `xml:"hookStatus"`
		}{HookStatus: d.HookStatus})
	}
	return nil, nil
}

// Marshal writes a document whose root is v's XMLName, after an XML
// declaration.
func Marshal(v any) ([]byte, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("xsiwire: %w", err)
	}
	return append([]byte(xml.Header[:len(xml.Header)-1]), b...), nil
}

// Errors of Unmarshal.
var (
	ErrDoctype = errors.New("xsiwire: DOCTYPE refused")
	ErrRoot    = errors.New("xsiwire: wrong root element")
	ErrSchema  = errors.New("xsiwire: not as the Xsi schema says")
)

// Unmarshal reads a request body into v (a pointer to a structure of this
// package): the root must be v's element in the Xsi namespace (for
// Forwarding, v.XMLName.Local names the expected root when set), and the
// document must follow the structure (xmlcheck.Check).
func Unmarshal(b []byte, v any) error {
	if bytes.Contains(b, []byte("<!DOCTYPE")) || bytes.Contains(b, []byte("<!ENTITY")) {
		return ErrDoctype
	}
	root, err := rootOf(b)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSchema, err)
	}
	want := wantRoot(v)
	if root.Space != Namespace || want.Local != "" && root.Local != want.Local {
		return fmt.Errorf("%w: <%s xmlns=%q>, want <%s xmlns=%q>", ErrRoot, root.Local, root.Space, want.Local, Namespace)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrSchema, err)
	}
	if err := xmlcheck.Check(b, v); err != nil {
		return fmt.Errorf("%w: <%s>: %w", ErrSchema, root.Local, err)
	}
	return nil
}

func wantRoot(v any) xml.Name {
	rv := reflect.ValueOf(v).Elem()
	f, ok := rv.Type().FieldByName("XMLName")
	if !ok {
		return xml.Name{}
	}
	if tag := f.Tag.Get("xml"); tag != "" {
		_, local, _ := bytes.Cut([]byte(tag), []byte(" "))
		return xml.Name{Space: Namespace, Local: string(local)}
	}
	return rv.FieldByName("XMLName").Interface().(xml.Name)
}

func rootOf(b []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// EnterpriseDirectory is XSIDirectories.xsd Enterprise: one page of the
// enterprise directory (startIndex is 1-based).
type EnterpriseDirectory struct {
	XMLName               xml.Name           `xml:"http://schema.broadsoft.com/xsi Enterprise"`
	StartIndex            int                `xml:"startIndex"`
	NumberOfRecords       int                `xml:"numberOfRecords"`
	TotalAvailableRecords int                `xml:"totalAvailableRecords"`
	Entries               []DirectoryDetails `xml:"enterpriseDirectory>directoryDetails"`
}

// DirectoryDetails is UserAdditionalEnterpriseGroupDetails, the elements
// the simulator writes (UserInfo: userId, firstName, lastName; then
// UserDetails: number, extension), in schema order.
type DirectoryDetails struct {
	UserID    string `xml:"userId"`
	FirstName string `xml:"firstName,omitempty"`
	LastName  string `xml:"lastName,omitempty"`
	Number    string `xml:"number,omitempty"`
	Extension string `xml:"extension,omitempty"`
}
