// Package xsi holds the Cisco BroadWorks Xsi wire formats the cisco driver
// and its lab simulator share: the Xsi-Actions request and response
// documents, the Xsi-Events channel, subscription, event response and event
// documents (namespace http://schema.broadsoft.com/xsi), and a splitter that
// cuts the streamed event channel into documents.
//
// Sources: the BroadWorks Xsi Interface Specification and its XSDs
// (XSIChannel.xsd, XSISubscription.xsd, XSICallSessionEvents.xsd,
// XSIDoNotDisturbEvents.xsd, Call complex type), summarised in
// cti-protocols.md §4.1–4.2. Decoding matches elements by local name, so
// the xsi: prefixes BroadWorks writes and a default namespace both parse.
package xsi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// Namespaces.
const (
	// Namespace is the BroadWorks Xsi namespace (prefix xsi on the wire).
	Namespace = "http://schema.broadsoft.com/xsi"
	// InstanceNamespace is XML Schema-instance (prefix xsi1 on the wire),
	// which carries the type attribute of Event and eventData.
	InstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"
)

// URL path roots (cti-protocols.md §4.1, §4.2).
const (
	// ActionsRoot prefixes every Xsi-Actions request:
	// ActionsRoot + "/user/{userId}/calls/new".
	ActionsRoot = "/com.broadsoft.xsi-actions/v2.0"
	// EventsRoot prefixes the Xsi-Events requests other than the channel
	// add: subscriptions, heartbeats, channel updates, event responses.
	EventsRoot = "/com.broadsoft.xsi-events/v2.0"
	// AsyncEventsRoot prefixes the streamed channel add:
	// POST AsyncEventsRoot + "/channel".
	AsyncEventsRoot = "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0"
)

// Xsi call states (CallState) and personalities (Personality).
const (
	StateAlerting   = "Alerting"
	StateActive     = "Active"
	StateHeld       = "Held"
	StateRemoteHeld = "Remote Held"
	StateReleased   = "Released"
	StateDetached   = "Detached"
	StateIdle       = "Idle"

	PersonalityOriginator  = "Originator"
	PersonalityTerminator  = "Terminator"
	PersonalityClickToDial = "Click-to-Dial"
)

// Event type names (the xsi1:type of Event and of eventData, without the
// prefix).
const (
	TypeSubscriptionEvent       = "SubscriptionEvent"
	TypeChannelTerminatedEvent  = "ChannelTerminatedEvent"
	TypeSubscriptionTerminated  = "SubscriptionTerminatedEvent"
	TypeCallSubscriptionEvent   = "CallSubscriptionEvent"
	TypeCallOriginatingEvent    = "CallOriginatingEvent"
	TypeCallOriginatedEvent     = "CallOriginatedEvent"
	TypeCallReceivedEvent       = "CallReceivedEvent"
	TypeCallAnsweredEvent       = "CallAnsweredEvent"
	TypeCallHeldEvent           = "CallHeldEvent"
	TypeCallRetrievedEvent      = "CallRetrievedEvent"
	TypeCallReleasingEvent      = "CallReleasingEvent"
	TypeCallReleasedEvent       = "CallReleasedEvent"
	TypeCallTransferredEvent    = "CallTransferredEvent"
	TypeCallForwardedEvent      = "CallForwardedEvent"
	TypeCallRedirectedEvent     = "CallRedirectedEvent"
	TypeCallDetachedEvent       = "CallDetachedEvent"
	TypeCallUpdatedEvent        = "CallUpdatedEvent"
	TypeCallPickedUpEvent       = "CallPickedUpEvent"
	TypeCallParkRetrievedEvent  = "CallParkRetrievedEvent"
	TypeConferenceStartedEvent  = "ConferenceStartedEvent"
	TypeConferenceUpdatedEvent  = "ConferenceUpdatedEvent"
	TypeConferenceReleasedEvent = "ConferenceReleasedEvent"
	TypeHookStatusEvent         = "HookStatusEvent"
	TypeDoNotDisturbEvent       = "DoNotDisturbEvent"
	// TypeVoiceMailMessageSummaryEvent (XSICallSessionEvents.xsd) carries
	// messageSummary (XSICallSession.xsd MessageSummary).
	TypeVoiceMailMessageSummaryEvent = "VoiceMailMessageSummaryEvent"
	TypeCallForwardingAlways         = "CallForwardingAlwaysEvent"
	TypeCallForwardingBusy           = "CallForwardingBusyEvent"
	TypeCallForwardingNoAnswer       = "CallForwardingNoAnswerEvent"
	// TypeAgentStateEvent is the Call Center Agent package's agent state
	// change (XSICallCenterAgentEvents.xsd).
	TypeAgentStateEvent = "AgentStateEvent"
)

// Event packages a subscription names (cti-protocols.md §4.2).
const (
	PackageBasicCall    = "Basic Call"
	PackageStandardCall = "Standard Call"
	PackageAdvancedCall = "Advanced Call"
	// PackageCallCenterAgent carries a call center agent's ACD state
	// changes; the call packages do not.
	PackageCallCenterAgent = "Call Center Agent"
	// The service packages (XSISubscription.xsd EventPackage): a change of
	// the service's settings arrives as its ServiceEvent
	// (XSIDoNotDisturbEvents.xsd, XSICallForwardingEvents.xsd) in its own
	// package, never in the call packages.
	PackageDoNotDisturb = "Do Not Disturb"
	// PackageVoiceMailMessageSummary (XSISubscription.xsd EventPackage)
	// carries the message-waiting state.
	PackageVoiceMailMessageSummary = "Voice Mail Message Summary"
	PackageCallForwardingAlways    = "Call Forwarding Always"
	PackageCallForwardingBusy      = "Call Forwarding Busy"
	PackageCallForwardingNoAnswer  = "Call Forwarding No Answer"
)

// Channel is the Xsi-Events Channel document: the channel add request
// (channelSetId, priority, weight, expires, applicationId), the first
// document streamed back (with channelId) and the channel update request
// (expires only). XSIChannel.xsd.
type Channel struct {
	XMLName       xml.Name `xml:"http://schema.broadsoft.com/xsi Channel"`
	ChannelID     string   `xml:"channelId,omitempty"`
	ChannelSetID  string   `xml:"channelSetId,omitempty"`
	Priority      int      `xml:"priority,omitempty"`
	Weight        int      `xml:"weight,omitempty"`
	Expires       int      `xml:"expires,omitempty"`
	ApplicationID string   `xml:"applicationId,omitempty"`
}

// ChannelHeartBeat is the empty document streamed on the channel for each
// heartbeat the application sends.
type ChannelHeartBeat struct {
	XMLName xml.Name `xml:"http://schema.broadsoft.com/xsi ChannelHeartBeat"`
}

// Subscription is the Xsi-Events subscription add (event, expires,
// channelSetId, applicationId), its answer (subscriptionId, expires) and
// the refresh (expires only). XSISubscription.xsd ~ (element order).
type Subscription struct {
	XMLName        xml.Name `xml:"http://schema.broadsoft.com/xsi Subscription"`
	SubscriptionID string   `xml:"subscriptionId,omitempty"`
	TargetID       string   `xml:"targetId,omitempty"`
	Event          string   `xml:"event,omitempty"`
	Expires        int      `xml:"expires,omitempty"`
	ChannelSetID   string   `xml:"channelSetId,omitempty"`
	ApplicationID  string   `xml:"applicationId,omitempty"`
}

// EventResponse acknowledges one event by its eventID (POST
// EventsRoot/channel/eventresponse).
type EventResponse struct {
	XMLName    xml.Name `xml:"http://schema.broadsoft.com/xsi EventResponse"`
	EventID    string   `xml:"eventID"`
	StatusCode int      `xml:"statusCode"`
	Reason     string   `xml:"reason"`
}

// CallStartInfo answers calls/new (201 Created) and the pickup requests ~.
type CallStartInfo struct {
	XMLName            xml.Name `xml:"http://schema.broadsoft.com/xsi CallStartInfo"`
	CallID             string   `xml:"callId"`
	ExternalTrackingID string   `xml:"externalTrackingId"`
}

// Calls answers GET .../calls: the user's call halves.
type Calls struct {
	XMLName xml.Name   `xml:"http://schema.broadsoft.com/xsi Calls"`
	Calls   []CallItem `xml:"call"`
}

// CallItem is one entry of [Calls].
type CallItem struct {
	CallID        string `xml:"callId"`
	ExtTrackingID string `xml:"extTrackingId"`
}

// Call is the Xsi Call complex type (the subset the driver uses, in the
// XSD's order): one user's half of a call. It is the root of GET
// .../calls/{callId} and the call element of call events.
type Call struct {
	CallID         string        `xml:"callId"`
	ExtTrackingID  string        `xml:"extTrackingId"`
	NetworkCallID  string        `xml:"networkCallId,omitempty"`
	Personality    string        `xml:"personality"`
	State          string        `xml:"state"`
	ReleaseCause   *ReleaseCause `xml:"releaseCause,omitempty"`
	ReleasingParty string        `xml:"releasingParty,omitempty"`
	RemoteParty    Party         `xml:"remoteParty"`
	Redirections   *Redirections `xml:"redirections,omitempty"`
	Redirect       *Redirect     `xml:"redirect,omitempty"`
	StartTime      int64         `xml:"startTime"`
	AnswerTime     int64         `xml:"answerTime,omitempty"`
	HeldTime       int64         `xml:"heldTime,omitempty"`
	ReleaseTime    int64         `xml:"releaseTime,omitempty"`
}

// CallDoc is the answer of GET .../calls/{callId}: a [Call] under a Call
// root.
type CallDoc struct {
	XMLName xml.Name `xml:"http://schema.broadsoft.com/xsi Call"`
	Call
}

// ReleaseCause says why a call half was released.
type ReleaseCause struct {
	InternalReleaseCause string `xml:"internalReleaseCause,omitempty"`
	CDRTerminationCause  string `xml:"cdrTerminationCause,omitempty"`
}

// Party is PartyInformation: the other end of a call half.
type Party struct {
	Name     string `xml:"name,omitempty"`
	Address  string `xml:"address,omitempty"`
	UserID   string `xml:"userId,omitempty"`
	CallType string `xml:"callType,omitempty"`
}

// Redirections is RedirectionList (XSIDataTypes.xsd): the redirections
// a received call went through, most recent first.
type Redirections struct {
	Items []Redirection `xml:"redirection"`
}

// Redirection is one entry: the redirecting party and why.
type Redirection struct {
	Party   *Party `xml:"party,omitempty"`
	Reason  string `xml:"reason,omitempty"`
	Counter int    `xml:"counter,omitempty"`
}

// Last is the most recent redirecting party, First the least recent
// (the number the caller first called); nil when there are none.
func (r *Redirections) Last() *Party { return r.at(0) }

// First: see [Redirections.Last].
func (r *Redirections) First() *Party {
	if r == nil {
		return nil
	}
	return r.at(len(r.Items) - 1)
}

func (r *Redirections) at(i int) *Party {
	if r == nil || i < 0 || i >= len(r.Items) {
		return nil
	}
	return r.Items[i].Party
}

// Redirect says where and why a call was redirected ~.
type Redirect struct {
	Address string `xml:"address,omitempty"`
	Reason  string `xml:"reason,omitempty"`
}

// Conference is the body of POST .../calls/Conference and, as
// ConferenceInfo, the conference element of conference events.
type Conference struct {
	XMLName xml.Name `xml:"http://schema.broadsoft.com/xsi Conference"`
	ConferenceInfo
}

// ConferenceInfo is a conference's state and participant call halves.
type ConferenceInfo struct {
	State        string        `xml:"state,omitempty"`
	Participants []Participant `xml:"conferenceParticipantList>conferenceParticipant"`
}

// Participant is one call half in a conference.
type Participant struct {
	CallID string `xml:"callId"`
}

// DoNotDisturb is services/DoNotDisturb (GET and PUT) and the info of a
// DoNotDisturbEvent.
type DoNotDisturb struct {
	XMLName    xml.Name `xml:"http://schema.broadsoft.com/xsi DoNotDisturb"`
	Active     bool     `xml:"active"`
	RingSplash *bool    `xml:"ringSplash,omitempty"`
}

// Forwarding is services/CallForwardingAlways, …Busy and …NoAnswer (GET
// and PUT; the root name says which) and the info of their events.
type Forwarding struct {
	XMLName              xml.Name
	Active               bool   `xml:"active"`
	ForwardToPhoneNumber string `xml:"forwardToPhoneNumber,omitempty"`
	NumberOfRings        int    `xml:"numberOfRings,omitempty"`
}

// Forwarding service names (the services/ path element and root name).
const (
	ServiceCallForwardingAlways   = "CallForwardingAlways"
	ServiceCallForwardingBusy     = "CallForwardingBusy"
	ServiceCallForwardingNoAnswer = "CallForwardingNoAnswer"
)

// CallCenter is services/CallCenter (GET and PUT): the user's ACD state
// as a call center agent, with the unavailable code when Unavailable.
// Xsi-Actions CallCenter (agentACDState, agentUnavailableCode).
type CallCenter struct {
	XMLName              xml.Name `xml:"http://schema.broadsoft.com/xsi CallCenter"`
	AgentACDState        string   `xml:"agentACDState,omitempty"`
	AgentUnavailableCode string   `xml:"agentUnavailableCode,omitempty"`
}

// ServiceCallCenter is the services/ path element of [CallCenter].
const ServiceCallCenter = "CallCenter"

// The agentACDState values (AgentACDState in the Xsi schema).
const (
	ACDSignIn      = "Sign-In"
	ACDAvailable   = "Available"
	ACDUnavailable = "Unavailable"
	ACDWrapUp      = "Wrap-Up"
	ACDSignOut     = "Sign-Out"
)

// AgentStateInfo is the agentStateInfo of an AgentStateEvent: the new ACD
// state and, when Unavailable, its code.
type AgentStateInfo struct {
	State           string `xml:"state"`
	UnavailableCode string `xml:"unavailableCode,omitempty"`
}

// ErrorInfo is the body of an Xsi error response.
type ErrorInfo struct {
	XMLName        xml.Name `xml:"http://schema.broadsoft.com/xsi ErrorInfo"`
	Summary        string   `xml:"summary"`
	SummaryEnglish string   `xml:"summaryEnglish"`
	ErrorCode      int      `xml:"errorCode,omitempty"`
}

// Event is one xsi:Event streamed on the channel: a SubscriptionEvent
// (eventData set) or a channel event (ChannelTerminatedEvent: ChannelID,
// Reason). Type and EventData.Type are the xsi1:type values without their
// prefix.
type Event struct {
	Type                  string     `xml:"-"`
	EventID               string     `xml:"eventID,omitempty"`
	SequenceNumber        int64      `xml:"sequenceNumber,omitempty"`
	UserID                string     `xml:"userId,omitempty"`
	ExternalApplicationID string     `xml:"externalApplicationId,omitempty"`
	SubscriptionID        string     `xml:"subscriptionId,omitempty"`
	ChannelID             string     `xml:"channelId,omitempty"`
	TargetID              string     `xml:"targetId,omitempty"`
	Reason                string     `xml:"reason,omitempty"`
	EventData             *EventData `xml:"eventData,omitempty"`
}

// EventData is the typed payload of a SubscriptionEvent.
type EventData struct {
	Type       string          `xml:"-"`
	Call       *Call           `xml:"call,omitempty"`
	Calls      []Call          `xml:"calls>call,omitempty"`
	Conference *ConferenceInfo `xml:"conference,omitempty"`
	HookStatus string          `xml:"hookStatus,omitempty"`
	Info       *ServiceInfo    `xml:"info,omitempty"`
	AgentState *AgentStateInfo `xml:"agentStateInfo,omitempty"`
	Summary    *MessageSummary `xml:"messageSummary,omitempty"`
}

// MessageSummary is XSICallSession.xsd MessageSummary: counts present
// only when not zero.
type MessageSummary struct {
	NewMessages       int `xml:"newMessages"`
	NewUrgentMessages int `xml:"newUrgentMessages"`
}

// ServiceInfo is the info of a service event (DoNotDisturbEvent,
// CallForwarding*Event).
type ServiceInfo struct {
	Active               bool   `xml:"active"`
	ForwardToPhoneNumber string `xml:"forwardToPhoneNumber,omitempty"`
}

// eventWire is Event as decoded, with the type attributes.
type eventWire struct {
	XMLName               xml.Name
	Type                  string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
	EventID               string `xml:"eventID"`
	SequenceNumber        int64  `xml:"sequenceNumber"`
	UserID                string `xml:"userId"`
	ExternalApplicationID string `xml:"externalApplicationId"`
	SubscriptionID        string `xml:"subscriptionId"`
	ChannelID             string `xml:"channelId"`
	TargetID              string `xml:"targetId"`
	Reason                string `xml:"reason"`
	EventData             *struct {
		Type string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
		EventData
	} `xml:"eventData"`
}

// localType strips the namespace prefix of an xsi1:type value
// ("xsi:CallReceivedEvent" → "CallReceivedEvent").
func localType(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// MarshalXML writes the event the way BroadWorks does: the envelope with
// the xsi and xsi1 prefixes bound and the xsi1:type attributes; the payload
// elements in the Xsi default namespace.
func (e Event) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: "xsi:Event"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "xmlns:xsi"}, Value: Namespace},
		{Name: xml.Name{Local: "xmlns:xsi1"}, Value: InstanceNamespace},
		{Name: xml.Name{Local: "xsi1:type"}, Value: "xsi:" + e.Type},
	}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	str := func(name, v string) error {
		if v == "" {
			return nil
		}
		return enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "xsi:" + name}})
	}
	for _, f := range []struct{ n, v string }{{"eventID", e.EventID}} {
		if err := str(f.n, f.v); err != nil {
			return err
		}
	}
	if e.SequenceNumber != 0 {
		if err := enc.EncodeElement(e.SequenceNumber, xml.StartElement{Name: xml.Name{Local: "xsi:sequenceNumber"}}); err != nil {
			return err
		}
	}
	for _, f := range []struct{ n, v string }{{"userId", e.UserID}, {"externalApplicationId", e.ExternalApplicationID},
		{"subscriptionId", e.SubscriptionID}, {"channelId", e.ChannelID}, {"targetId", e.TargetID}, {"reason", e.Reason}} {
		if err := str(f.n, f.v); err != nil {
			return err
		}
	}
	if d := e.EventData; d != nil {
		ds := xml.StartElement{Name: xml.Name{Local: "xsi:eventData"},
			Attr: []xml.Attr{{Name: xml.Name{Local: "xsi1:type"}, Value: "xsi:" + d.Type}}}
		if err := enc.EncodeToken(ds); err != nil {
			return err
		}
		in := func(local string) xml.StartElement {
			return xml.StartElement{Name: xml.Name{Space: Namespace, Local: local}}
		}
		if d.Call != nil {
			if err := enc.EncodeElement(d.Call, in("call")); err != nil {
				return err
			}
		}
		if d.Calls != nil {
			if err := enc.EncodeElement(struct {
				Call []Call `xml:"call"`
			}{d.Calls}, in("calls")); err != nil {
				return err
			}
		}
		if d.Conference != nil {
			if err := enc.EncodeElement(d.Conference, in("conference")); err != nil {
				return err
			}
		}
		if d.HookStatus != "" {
			if err := enc.EncodeElement(d.HookStatus, in("hookStatus")); err != nil {
				return err
			}
		}
		if d.Info != nil {
			if err := enc.EncodeElement(d.Info, in("info")); err != nil {
				return err
			}
		}
		if d.AgentState != nil {
			if err := enc.EncodeElement(d.AgentState, in("agentStateInfo")); err != nil {
				return err
			}
		}
		if err := enc.EncodeToken(ds.End()); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// Errors of Decode.
var (
	// ErrMalformed: the document is not well-formed XML, or not an Xsi
	// document of a known root.
	ErrMalformed = errors.New("xsi: malformed document")
	// ErrDTD: the document carries a DOCTYPE; Xsi documents never do, and
	// entity declarations are how XML bombs work, so it is refused unread.
	ErrDTD = errors.New("xsi: document type declarations are not accepted")
)

// Doc is one decoded document of the event channel or of an Xsi answer:
// exactly one field is set.
type Doc struct {
	Channel   *Channel
	HeartBeat bool
	Event     *Event
}

// Decode decodes one document of the event channel by its root's local
// name: Channel, ChannelHeartBeat or Event. Anything else, a document with
// a DOCTYPE, or broken XML is an error wrapping ErrMalformed or ErrDTD.
func Decode(b []byte) (Doc, error) {
	if hasDoctype(b) {
		return Doc{}, ErrDTD
	}
	root, err := rootName(b)
	if err != nil {
		return Doc{}, err
	}
	switch root {
	case "Channel":
		var c Channel
		if err := Unmarshal(b, &c); err != nil {
			return Doc{}, err
		}
		return Doc{Channel: &c}, nil
	case "ChannelHeartBeat":
		return Doc{HeartBeat: true}, nil
	case "Event":
		e, err := DecodeEvent(b)
		if err != nil {
			return Doc{}, err
		}
		return Doc{Event: e}, nil
	}
	return Doc{}, fmt.Errorf("%w: unknown root %q", ErrMalformed, root)
}

// DecodeEvent decodes an xsi:Event document.
func DecodeEvent(b []byte) (*Event, error) {
	var w eventWire
	if err := Unmarshal(b, &w); err != nil {
		return nil, err
	}
	if w.XMLName.Local != "Event" {
		return nil, fmt.Errorf("%w: root %q is not Event", ErrMalformed, w.XMLName.Local)
	}
	e := &Event{Type: localType(w.Type), EventID: strings.TrimSpace(w.EventID), SequenceNumber: w.SequenceNumber,
		UserID: strings.TrimSpace(w.UserID), ExternalApplicationID: strings.TrimSpace(w.ExternalApplicationID),
		SubscriptionID: strings.TrimSpace(w.SubscriptionID), ChannelID: strings.TrimSpace(w.ChannelID),
		TargetID: strings.TrimSpace(w.TargetID), Reason: strings.TrimSpace(w.Reason)}
	if e.Type == "" {
		return nil, fmt.Errorf("%w: Event without xsi1:type", ErrMalformed)
	}
	if w.EventData != nil {
		d := w.EventData.EventData
		d.Type = localType(w.EventData.Type)
		e.EventData = &d
	}
	return e, nil
}

// Unmarshal decodes one Xsi document strictly into v, refusing DOCTYPEs.
// Errors wrap ErrMalformed or ErrDTD.
func Unmarshal(b []byte, v any) error {
	if hasDoctype(b) {
		return ErrDTD
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// Marshal encodes v with an XML declaration, as Xsi documents are sent.
func Marshal(v any) ([]byte, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header[:len(xml.Header)-1]), b...), nil
}

// rootName returns the local name of b's root element.
func rootName(b []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		tok, err := d.RawToken()
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name.Local, nil
		case xml.Directive:
			return "", ErrDTD
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return "", fmt.Errorf("%w: text before the root element", ErrMalformed)
			}
		}
	}
}

// hasDoctype reports whether b declares a document type.
func hasDoctype(b []byte) bool {
	return bytes.Contains(b, []byte("<!DOCTYPE")) || bytes.Contains(b, []byte("<!ENTITY"))
}

// Enterprise is XSIDirectories.xsd Enterprise, the answer of GET
// user/<id>/directories/Enterprise?start=&results=: one page of the
// enterprise directory; StartIndex is 1-based.
type Enterprise struct {
	XMLName               xml.Name          `xml:"http://schema.broadsoft.com/xsi Enterprise"`
	StartIndex            int               `xml:"startIndex"`
	NumberOfRecords       int               `xml:"numberOfRecords"`
	TotalAvailableRecords int               `xml:"totalAvailableRecords"`
	Entries               []DirectoryDetail `xml:"enterpriseDirectory>directoryDetails"`
}

// DirectoryDetail is one directory entry (UserInfo and UserDetails
// elements the driver reads).
type DirectoryDetail struct {
	UserID    string `xml:"userId"`
	FirstName string `xml:"firstName"`
	LastName  string `xml:"lastName"`
	Number    string `xml:"number"`
	Extension string `xml:"extension"`
}
