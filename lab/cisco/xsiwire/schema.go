package xsiwire

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/switchboard-gw/switchboard/lab/ctisim/xmlcheck"
)

// The structures below are the Xsi-Events documents as the XSDs define
// them, every element in sequence order (complex content the simulator
// never reads is opaque): what CheckEvent validates fixtures and
// simulator output against.

type opaque struct {
	Inner []byte `xml:",innerxml"`
}

// callSchema is XSICallSession.xsd Call, all of it.
type callSchema struct {
	CallID                        string           `xml:"callId"`
	ExtTrackingID                 string           `xml:"extTrackingId"`
	NetworkCallID                 string           `xml:"networkCallId"`
	Personality                   string           `xml:"personality" enum:"Originator|Terminator|Click-to-Dial"`
	State                         string           `xml:"state" enum:"Alerting|Active|Held|Remote Held|Detached|Released|Idle"`
	ReleaseCause                  *ReleaseCause    `xml:"releaseCause"`
	ReleasingParty                string           `xml:"releasingParty" enum:"localRelease|remoteRelease"`
	RemoteParty                   Party            `xml:"remoteParty"`
	Redirections                  *RedirectionList `xml:"redirections"`
	Redirect                      *Redirect        `xml:"redirect"`
	Endpoint                      *opaque          `xml:"endpoint"`
	Appearance                    int              `xml:"appearance"`
	AllowAnswer                   *opaque          `xml:"allowAnswer"`
	AllowRetrieve                 *opaque          `xml:"allowRetrieve"`
	AlternateAddressType          string           `xml:"alternateAddressType"`
	HuntGroupUserID               string           `xml:"huntGroupUserId"`
	DistinctiveRing               string           `xml:"distinctiveRing"`
	DiversionInhibited            *opaque          `xml:"diversionInhibited"`
	RecallType                    string           `xml:"recallType"`
	StartTime                     int64            `xml:"startTime"`
	AnswerTime                    int64            `xml:"answerTime"`
	HeldTime                      int64            `xml:"heldTime"`
	TotalHeldTime                 int64            `xml:"totalHeldTime"`
	DetachedTime                  int64            `xml:"detachedTime"`
	ReleaseTime                   int64            `xml:"releaseTime"`
	ACDCallInfo                   *opaque          `xml:"acdCallInfo"`
	AgentEscalation               *opaque          `xml:"agentEscalation"`
	ACDOutgoingCallInfo           *opaque          `xml:"acdOutgoingCallInfo"`
	GroupCallParkLocationSelected *opaque          `xml:"groupCallParkLocationSelected"`
	Recorded                      *opaque          `xml:"recorded"`
	FindMeFollowMeUserID          string           `xml:"findMeFollowMeUserId"`
	AllowedRecordingControls      string           `xml:"allowedRecordingControls"`
	RecordingState                string           `xml:"recordingState"`
	ExecutiveUserID               string           `xml:"executiveUserId"`
	RecallFromParty               *Party           `xml:"recallFromParty"`
	SecurityClassification        string           `xml:"securityClassification"`
	ClientSessionInfo             *opaque          `xml:"clientSessionInfo"`
}

// conferenceSchema is XSICallSession.xsd Conference.
type conferenceSchema struct {
	State          string  `xml:"state" enum:"Active|Held|Released"`
	Endpoint       *opaque `xml:"endpoint"`
	Appearance     int     `xml:"appearance"`
	Muted          *opaque `xml:"muted"`
	ConferenceType string  `xml:"conferenceType" enum:"Barge-In|Silently Monitored|Supervisor Coached"`
	Participants   []struct {
		CallID string  `xml:"callId"`
		Muted  *opaque `xml:"muted"`
		Deaf   *opaque `xml:"deaf"`
	} `xml:"conferenceParticipantList>conferenceParticipant"`
}

// serviceInfoSchema is CallForwarding / DoNotDisturb (active, then the
// service's own elements).
type serviceInfoSchema struct {
	Active               bool   `xml:"active"`
	ForwardToPhoneNumber string `xml:"forwardToPhoneNumber"`
	RingSplash           bool   `xml:"ringSplash"`
	NumberOfRings        int    `xml:"numberOfRings"`
}

type agentStateSchema struct {
	State               string  `xml:"state" enum:"Sign-In|Available|Unavailable|Wrap-Up|Sign-Out"`
	StateTimestamp      *opaque `xml:"stateTimestamp"`
	UnavailableCode     string  `xml:"unavailableCode"`
	WrapUpCallID        string  `xml:"wrapUpCallId"`
	SignInTimestamp     int64   `xml:"signInTimestamp"`
	TotalAvailableTime  int64   `xml:"totalAvailableTime"`
	AverageWrapUpTime   *opaque `xml:"averageWrapUpTime"`
	WrapUpCallCenterUID string  `xml:"wrapUpCallCenterUserId"`
}

// subscriptionEventSchema is XSIBaseEvent.xsd SubscriptionEvent with
// eventData of type D.
type subscriptionEventSchema[D any] struct {
	EventID               string `xml:"eventID"`
	SequenceNumber        int64  `xml:"sequenceNumber"`
	UserID                string `xml:"userId"`
	ClientID              string `xml:"clientId"`
	ExternalApplicationID string `xml:"externalApplicationId"`
	SubscriptionID        string `xml:"subscriptionId"`
	SharedSubscriptionID  string `xml:"sharedSubscriptionId"`
	ChannelID             string `xml:"channelId"`
	HTTPContact           string `xml:"httpContact"`
	TargetID              string `xml:"targetId"`
	TargetSubID           string `xml:"targetSubId"`
	EventData             D      `xml:"eventData"`
}

type callEventData struct {
	Call callSchema `xml:"call"`
}

type callSubscriptionData2 struct {
	Calls *struct {
		Call []callSchema `xml:"call"`
	} `xml:"calls"`
	Conference *conferenceSchema `xml:"conference"`
	HookStatus string            `xml:"hookStatus" enum:"Off-Hook|On-Hook"`
}

type conferenceEventData struct {
	Conference conferenceSchema `xml:"conference"`
}

type serviceEventData struct {
	Unassigned *opaque            `xml:"unassigned"`
	Info       *serviceInfoSchema `xml:"info"`
}

// messageSummaryData is VoiceMailMessageSummaryEvent's content.
type messageSummaryData struct {
	MessageSummary MessageSummary `xml:"messageSummary"`
}

type hookStatusData struct {
	HookStatus string `xml:"hookStatus" enum:"Off-Hook|On-Hook"`
}

type agentStateData struct {
	AgentStateInfo agentStateSchema `xml:"agentStateInfo"`
}

type emptyData struct{}

// channelTerminatedSchema is XSIChannel.xsd ChannelTerminatedEvent.
type channelTerminatedSchema struct {
	ChannelID string `xml:"channelId"`
	Reason    string `xml:"reason" enum:"DuplicateChannelSet|UserDeleted|NonResponsiveChannel|ExplicitDelete|Expired|UnknownChannel"`
}

// dataSchemas maps an eventData xsi1:type to the structure checking it.
var dataSchemas = map[string]any{
	TypeCallSubscriptionEvent:        &subscriptionEventSchema[callSubscriptionData2]{},
	TypeHookStatusEvent:              &subscriptionEventSchema[hookStatusData]{},
	TypeConferenceStartedEvent:       &subscriptionEventSchema[conferenceEventData]{},
	TypeConferenceUpdatedEvent:       &subscriptionEventSchema[conferenceEventData]{},
	TypeConferenceReleasedEvent:      &subscriptionEventSchema[conferenceEventData]{},
	TypeDoNotDisturbEvent:            &subscriptionEventSchema[serviceEventData]{},
	TypeCallForwardingAlwaysEvent:    &subscriptionEventSchema[serviceEventData]{},
	TypeCallForwardingBusyEvent:      &subscriptionEventSchema[serviceEventData]{},
	TypeCallForwardingNoAnswerEvent:  &subscriptionEventSchema[serviceEventData]{},
	TypeAgentStateEvent:              &subscriptionEventSchema[agentStateData]{},
	TypeVoiceMailMessageSummaryEvent: &subscriptionEventSchema[messageSummaryData]{},
	TypeSubscriptionTerminatedEvent:  &subscriptionEventSchema[emptyData]{},
}

func init() {
	for _, t := range []string{TypeCallOriginatingEvent, TypeCallOriginatedEvent, TypeCallReceivedEvent,
		TypeCallAnsweredEvent, TypeCallHeldEvent, TypeCallRetrievedEvent, TypeCallReleasingEvent,
		TypeCallReleasedEvent, TypeCallTransferredEvent, TypeCallForwardedEvent, TypeCallRedirectedEvent,
		TypeCallDetachedEvent, TypeCallUpdatedEvent, TypeCallPickedUpEvent, TypeCallParkRetrievedEvent} {
		dataSchemas[t] = &subscriptionEventSchema[callEventData]{}
	}
}

// CheckEvent validates an xsi:Event document against the Xsi-Events
// schemas: root Event in the Xsi namespace with an xsi1:type
// (XMLSchema-instance) naming SubscriptionEvent or ChannelTerminatedEvent
// in the Xsi namespace; children in sequence order; the eventData's own
// xsi1:type known and its content as that type defines it. It returns the
// event's type and its eventData's type.
func CheckEvent(b []byte) (typ, dataType string, err error) {
	if bytes.Contains(b, []byte("<!DOCTYPE")) {
		return "", "", ErrDoctype
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	prefixes := map[string]string{} // declared on the root, where BroadWorks declares them
	for {
		tok, terr := dec.Token()
		if terr != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			var ty string
			for _, a := range t.Attr {
				if a.Name.Space == XSINamespace && a.Name.Local == "type" {
					ty = a.Value
				}
			}
			if depth == 1 {
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" {
						prefixes[a.Name.Local] = a.Value
					}
				}
				if t.Name.Space != Namespace || t.Name.Local != "Event" {
					return "", "", fmt.Errorf("%w: root <%s xmlns=%q>", ErrRoot, t.Name.Local, t.Name.Space)
				}
				if typ, err = qname(ty, prefixes); err != nil {
					return "", "", err
				}
			}
			if depth == 2 && t.Name.Local == "eventData" {
				if dataType, err = qname(ty, prefixes); err != nil {
					return "", "", err
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	var schema any
	switch typ {
	case TypeChannelTerminatedEvent:
		schema = &channelTerminatedSchema{}
	case TypeSubscriptionEvent:
		if schema = dataSchemas[dataType]; schema == nil {
			return typ, dataType, fmt.Errorf("%w: eventData type %q is not one this checker knows", ErrSchema, dataType)
		}
	default:
		return typ, dataType, fmt.Errorf("%w: Event type %q", ErrSchema, typ)
	}
	if err := xmlcheck.Check(b, schema); err != nil {
		return typ, dataType, fmt.Errorf("%w: %s/%s: %w", ErrSchema, typ, dataType, err)
	}
	return typ, dataType, nil
}

// qname resolves an xsi1:type value against the root's prefixes and
// requires the Xsi namespace; it returns the local name.
func qname(v string, prefixes map[string]string) (string, error) {
	prefix, local, ok := strings.Cut(v, ":")
	if !ok || local == "" || prefixes[prefix] != Namespace {
		return "", fmt.Errorf("%w: xsi1:type %q does not name a type of %s", ErrSchema, v, Namespace)
	}
	return local, nil
}

// CallSchema is a Call document (GET user/<id>/calls/<callId>) with every
// element XSICallSession.xsd allows, for checking documents the simulator
// does not write itself.
type CallSchema struct {
	XMLName xml.Name `xml:"http://schema.broadsoft.com/xsi Call"`
	callSchema
}
