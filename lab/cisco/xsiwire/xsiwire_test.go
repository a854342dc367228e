package xsiwire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const hdr = `<?xml version="1.0" encoding="UTF-8"?><xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi" xmlns:xsi1="http://www.w3.org/2001/XMLSchema-instance" xsi1:type="xsi:SubscriptionEvent"><xsi:eventID>e</xsi:eventID><xsi:sequenceNumber>1</xsi:sequenceNumber><xsi:userId>u</xsi:userId><xsi:externalApplicationId>a</xsi:externalApplicationId><xsi:subscriptionId>s</xsi:subscriptionId><xsi:channelId>c</xsi:channelId><xsi:targetId>t</xsi:targetId>`

// TestCheckEvent: events as the XSDs define them pass, the rest is refused
// with the reason.
func TestCheckEvent(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		ok        bool
	}{
		{"dnd", hdr + `<xsi:eventData xsi1:type="xsi:DoNotDisturbEvent"><xsi:info><xsi:active>true</xsi:active></xsi:info></xsi:eventData></xsi:Event>`, true},
		{"redirect without its time", hdr + `<xsi:eventData xsi1:type="xsi:CallReceivedEvent"><xsi:call><xsi:callId>c</xsi:callId><xsi:extTrackingId>x</xsi:extTrackingId><xsi:personality>Terminator</xsi:personality><xsi:state>Alerting</xsi:state><xsi:remoteParty/><xsi:redirect><xsi:reason>unconditional</xsi:reason><xsi:redirectTime>1</xsi:redirectTime></xsi:redirect><xsi:startTime>1</xsi:startTime></xsi:call></xsi:eventData></xsi:Event>`, true},
		{"unknown redirect reason", hdr + `<xsi:eventData xsi1:type="xsi:CallReceivedEvent"><xsi:call><xsi:callId>c</xsi:callId><xsi:extTrackingId>x</xsi:extTrackingId><xsi:personality>Terminator</xsi:personality><xsi:state>Alerting</xsi:state><xsi:remoteParty/><xsi:redirect><xsi:reason>because</xsi:reason><xsi:redirectTime>1</xsi:redirectTime></xsi:redirect><xsi:startTime>1</xsi:startTime></xsi:call></xsi:eventData></xsi:Event>`, false},
		{"state out of order", hdr + `<xsi:eventData xsi1:type="xsi:CallHeldEvent"><xsi:call><xsi:callId>c</xsi:callId><xsi:extTrackingId>x</xsi:extTrackingId><xsi:state>Held</xsi:state><xsi:personality>Originator</xsi:personality><xsi:remoteParty/><xsi:startTime>1</xsi:startTime></xsi:call></xsi:eventData></xsi:Event>`, false},
		{"unknown event data type", hdr + `<xsi:eventData xsi1:type="xsi:CallExplodedEvent"/></xsi:Event>`, false},
		{"event data type in another namespace", hdr + `<xsi:eventData xsi1:type="xsi1:DoNotDisturbEvent"/></xsi:Event>`, false},
		{"channel terminated with an eventID", `<xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi" xmlns:xsi1="http://www.w3.org/2001/XMLSchema-instance" xsi1:type="xsi:ChannelTerminatedEvent"><xsi:eventID>e</xsi:eventID><xsi:channelId>c</xsi:channelId><xsi:reason>Expired</xsi:reason></xsi:Event>`, false},
		{"wrong root namespace", `<Event xmlns="urn:x"/>`, false},
		{"doctype", `<!DOCTYPE x><xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi"/>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := CheckEvent([]byte(tc.doc))
			if (err == nil) != tc.ok {
				t.Fatalf("ok %v, err %v", tc.ok, err)
			}
		})
	}
}

// TestSimulatorEventsFollowTheSchema: what MarshalEvent writes passes
// CheckEvent.
func TestSimulatorEventsFollowTheSchema(t *testing.T) {
	call := &Call{CallID: "c:0", ExtTrackingID: "1:1", Personality: PersonalityTerminator, State: StateAlerting,
		RemoteParty: Party{Address: "tel:201", CallType: "Group"},
		Redirect:    &Redirect{Address: "tel:202", Reason: "unconditional", RedirectTime: 5}, StartTime: 1}
	for _, d := range []*EventData{
		{Type: TypeCallReceivedEvent, Call: call},
		{Type: TypeCallSubscriptionEvent, Calls: []Call{*call}, HookStatus: "On-Hook"},
		{Type: TypeDoNotDisturbEvent, Info: &ServiceInfo{Active: true}},
		{Type: TypeAgentStateEvent, AgentState: &AgentStateInfo{State: ACDAvailable, StateTimestamp: Stamp{Value: 9}}},
		{Type: TypeConferenceStartedEvent, Conference: &ConferenceInfo{State: StateActive, Participants: []Participant{{CallID: "a"}}}},
		{Type: TypeSubscriptionTerminatedEvent},
	} {
		b, err := MarshalEvent(Event{Type: TypeSubscriptionEvent, EventID: "e", SequenceNumber: 1, UserID: "u",
			ExternalApplicationID: "a", SubscriptionID: "s", ChannelID: "c", TargetID: "t", EventData: d})
		if err != nil {
			t.Fatal(err)
		}
		if _, dt, err := CheckEvent(b); err != nil || dt != d.Type {
			t.Errorf("%s: %v\n%s", d.Type, err, b)
		}
	}
	b, _ := MarshalEvent(Event{Type: TypeChannelTerminatedEvent, ChannelID: "c", Reason: "Expired"})
	if _, _, err := CheckEvent(b); err != nil {
		t.Errorf("channel terminated: %v\n%s", err, b)
	}
}

// TestUnmarshalRoot: a body must be the document the resource expects.
func TestUnmarshalRoot(t *testing.T) {
	var s Subscription
	err := Unmarshal([]byte(`<Channel xmlns="http://schema.broadsoft.com/xsi"/>`), &s)
	if !errors.Is(err, ErrRoot) {
		t.Fatalf("a Channel as a Subscription: %v", err)
	}
	err = Unmarshal([]byte(`<Subscription xmlns="http://schema.broadsoft.com/xsi"><expires>60</expires><event>Advanced Call</event></Subscription>`), &s)
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("expires before event: %v", err)
	}
	if err := Unmarshal([]byte(strings.Repeat("<a>", 10)), &s); err == nil {
		t.Fatal("broken document accepted")
	}
}

// FuzzSubscription: a Subscription body the simulator accepts writes and
// reads back to the same value.
func FuzzSubscription(f *testing.F) {
	f.Add([]byte(`<Subscription xmlns="http://schema.broadsoft.com/xsi"><targetId>201@x</targetId><event>Advanced Call</event><expires>3600</expires><channelSetId>s</channelSetId><applicationId>a</applicationId></Subscription>`))
	f.Add([]byte(`<Subscription xmlns="http://schema.broadsoft.com/xsi"><expires>60</expires></Subscription>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Subscription
		if Unmarshal(b, &s) != nil {
			return
		}
		out, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var again Subscription
		if err := Unmarshal(out, &again); err != nil {
			t.Fatalf("accepted %q, wrote %q, refused that: %v", b, out, err)
		}
		s.EventPackageList, again.EventPackageList = nil, nil
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip changed it:\n%+v\n%+v", s, again)
		}
	})
}
